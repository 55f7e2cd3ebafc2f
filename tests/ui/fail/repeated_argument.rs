#[llm_trace::llm_trace(name = "a", name = "b")]
fn f() {}

fn main() {
    f();
}
