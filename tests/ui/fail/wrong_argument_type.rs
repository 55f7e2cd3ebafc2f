#[llm_trace::llm_trace(name = 42)]
fn f() {}

fn main() {
    f();
}
