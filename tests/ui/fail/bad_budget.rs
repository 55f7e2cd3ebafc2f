#[llm_trace::llm_trace(budget_usd = -0.5)]
fn negative() {}

#[llm_trace::llm_trace(budget_usd = "0.01")]
fn quoted() {}

#[llm_trace::llm_trace(budget_usd = 0.01, budget_usd = 0.02)]
fn twice() {}

fn main() {
    negative();
    quoted();
    twice();
}
