//! Against the real Mistral API: ignored by default (the offline suite never needs the
//! network); run with `MISTRAL_API_KEY` set and `cargo test -- --ignored live`.

use llm_trace::llm_trace;
use llm_trace_tests::{attributes, capture, in_trace, one, spans};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry::Value;

#[llm_trace]
fn ask_and_embed(client: &Client) -> Result<usize, ApiError> {
    let messages = vec![ChatMessage::new_user_message(
        "Who is the best French painter? Answer in one short sentence.",
    )];
    client.chat(Model::MistralSmallLatest, messages, None)?;
    let response = client.embeddings(
        EmbedModel::MistralEmbed,
        vec!["Embed this sentence.".into()],
        None,
    )?;
    Ok(response.data[0].embedding.len())
}

#[test]
#[ignore = "needs MISTRAL_API_KEY and the network"]
fn the_real_api_gives_tokens_and_cost() {
    assert!(
        std::env::var("MISTRAL_API_KEY").is_ok_and(|key| !key.is_empty()),
        "set MISTRAL_API_KEY to run the live test"
    );
    capture();
    let client = Client::new(None, None, None, None).expect("a client from MISTRAL_API_KEY");
    let (trace, dimensions) = in_trace(|| ask_and_embed(&client));
    assert_eq!(dimensions.expect("the real API answered"), 1024);
    let spans = spans(trace);
    let chat = attributes(one(&spans, "chat mistral-small-latest"));
    assert_eq!(chat["server.address"], "api.mistral.ai".into());
    assert_eq!(chat["server.port"], 443_i64.into());
    assert!(matches!(chat["gen_ai.usage.input_tokens"], Value::I64(n) if n > 0));
    assert!(matches!(chat["gen_ai.usage.cost"], Value::F64(cost) if cost > 0.0));
    let embeddings = attributes(one(&spans, "embeddings mistral-embed"));
    assert_eq!(
        embeddings["gen_ai.embeddings.dimension.count"],
        1024_i64.into()
    );
}
