//! `#[llm_trace]` under `#[async_trait]`: the method arrives as a function returning
//! `Pin<Box<dyn Future>>`, and its span still lasts until that future completes.

use std::time::Duration;

use async_trait::async_trait;
use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{assert_parent, capture, in_trace_async, mistral_client, one, spans};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

#[async_trait(?Send)]
trait Assistant {
    async fn answer(&self, question: &str) -> Result<String, ApiError>;
}

#[async_trait]
trait Embedder {
    async fn embed(&self, text: String) -> Result<usize, ApiError>;
}

struct Mistral {
    client: Client,
}

#[async_trait(?Send)]
impl Assistant for Mistral {
    #[llm_trace]
    async fn answer(&self, question: &str) -> Result<String, ApiError> {
        let messages = vec![ChatMessage::new_user_message(question)];
        let response = self
            .client
            .chat_async(Model::MistralSmallLatest, messages, None)
            .await?;
        Ok(response.choices[0].message.content.clone())
    }
}

#[async_trait]
impl Embedder for Mistral {
    #[llm_trace(name = "embed")]
    async fn embed(&self, text: String) -> Result<usize, ApiError> {
        let response = self
            .client
            .embeddings_async(EmbedModel::MistralEmbed, vec![text], None)
            .await?;
        Ok(response.data[0].embedding.len())
    }
}

#[tokio::test]
async fn spans_of_async_trait_methods_cover_the_whole_call() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_delay(Duration::from_millis(40)));
    server.enqueue(Reply::ok().with_delay(Duration::from_millis(40)));
    let bot = Mistral {
        client: mistral_client(&server),
    };
    let (trace, (answer, dimensions)) = in_trace_async(async {
        let answer = bot.answer("Who is the best French painter?").await;
        // `Embedder` futures are `Send`: spawnable.
        let dimensions = bot.embed("Embed this.".into()).await;
        (answer, dimensions)
    })
    .await;
    answer.unwrap();
    assert_eq!(dimensions.unwrap(), 1024);

    let spans = spans(trace);
    for (function, call) in [
        ("answer", "chat mistral-small-latest"),
        ("embed", "embeddings mistral-embed"),
    ] {
        let function = one(&spans, function);
        let call = one(&spans, call);
        assert_parent(call, function);
        let took = function
            .end_time
            .duration_since(function.start_time)
            .unwrap();
        assert!(
            took >= Duration::from_millis(40),
            "{took:?}: the span covers the awaited body"
        );
        assert!(call.end_time <= function.end_time);
    }
}
