use llm_trace::llm_trace;

#[llm_trace]
fn broken(x: u32) -> u32 {
    let y = ;
    x + y
}

fn main() {}
