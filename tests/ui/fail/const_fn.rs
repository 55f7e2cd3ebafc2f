#[llm_trace::llm_trace]
const fn f() -> u8 {
    1
}

fn main() {
    f();
}
