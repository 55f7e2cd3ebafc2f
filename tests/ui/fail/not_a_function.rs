#[llm_trace::llm_trace]
struct NotAFunction;

fn main() {
    let _ = NotAFunction;
}
