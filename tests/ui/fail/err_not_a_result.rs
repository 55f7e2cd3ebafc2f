use std::future::Future;

use llm_trace::llm_trace;

#[llm_trace(err)]
fn count(items: &[u32]) -> usize {
    items.len()
}

#[llm_trace(err)]
async fn later() -> Option<u32> {
    Some(1)
}

#[llm_trace(err)]
fn eventually() -> impl Future<Output = u32> {
    async { 1 }
}

fn main() {}
