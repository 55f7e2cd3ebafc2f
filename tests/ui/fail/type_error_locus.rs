use llm_trace::llm_trace;
use mistralai_client::v1::client::Client;

#[llm_trace]
fn wrong_model(client: &Client) -> bool {
    // The error must point at this argument, not at the attribute.
    client.chat("mistral-small-latest".to_string(), vec![], None).is_ok()
}

#[llm_trace]
async fn wrong_elsewhere() -> u8 {
    let text: u8 = "not a number";
    text
}

fn main() {}
