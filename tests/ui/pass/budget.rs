//! `budget_usd = ..` with a float or an integer, alone and with the other arguments.
#![deny(warnings)]

use llm_trace::llm_trace;

#[llm_trace(budget_usd = 0.01)]
fn cheap() -> u32 {
    1
}

#[llm_trace(name = "expensive", budget_usd = 2, fields(user.id = user))]
async fn expensive(user: &str) -> usize {
    user.len()
}

fn main() {
    assert_eq!(cheap(), 1);
    drop(expensive("u"));
}
