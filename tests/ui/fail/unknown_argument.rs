#[llm_trace::llm_trace(nmae = "typo")]
fn f() {}

fn main() {
    f();
}
