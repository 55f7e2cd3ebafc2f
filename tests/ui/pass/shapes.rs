//! Every function shape `#[llm_trace]` supports compiles, warning-free.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use llm_trace::llm_trace;
use mistralai_client::v1::chat::{ChatMessage, ChatResponse};
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::embedding::EmbeddingResponse;
use mistralai_client::v1::error::ApiError;

#[llm_trace]
fn free(client: &Client) -> Result<ChatResponse, ApiError> {
    client.chat(Model::MistralSmallLatest, vec![ChatMessage::new_user_message("hi")], None)
}

#[llm_trace(name = "custom span name")]
async fn asynchronous(client: Arc<Client>) -> Result<EmbeddingResponse, ApiError> {
    client.embeddings_async(EmbedModel::MistralEmbed, vec![], None).await
}

#[llm_trace]
fn generic<T: AsRef<Client>, U>(client: T, _unused: U) -> Option<String> {
    let response = client.as_ref().chat(Model::OpenMistral7b, vec![], None).ok()?;
    Some(response.id)
}

#[llm_trace]
fn returns_impl_trait(client: &Client) -> impl Iterator<Item = String> {
    client
        .embeddings(EmbedModel::MistralEmbed, vec!["a".into()], None)
        .into_iter()
        .map(|response| response.id)
}

#[llm_trace]
fn returns_impl_future(client: Arc<Client>) -> impl Future<Output = usize> + Send {
    async move {
        let response = client
            .embeddings_async(EmbedModel::MistralEmbed, vec![], None)
            .await;
        response.map(|r| r.data.len()).unwrap_or(0)
    }
}

async fn pick(client: &Client) -> &Client {
    client
}

fn maybe(client: &Client) -> Option<&Client> {
    Some(client)
}

#[llm_trace]
async fn computed_receivers(client: &Client) -> Option<usize> {
    // A receiver behind `.await`, and one behind `?`: evaluated once, before the call.
    let first = pick(client)
        .await
        .chat_async(Model::MistralSmallLatest, vec![], None)
        .await
        .ok()?;
    let second = maybe(client)?
        .embeddings(EmbedModel::MistralEmbed, vec![first.id], None)
        .ok()?;
    Some(second.data.len())
}

#[llm_trace]
fn boxed_future(client: Arc<Client>) -> Pin<Box<dyn Future<Output = usize> + Send>> {
    Box::pin(async move {
        let response = client
            .embeddings_async(EmbedModel::MistralEmbed, vec![], None)
            .await;
        response.map(|r| r.data.len()).unwrap_or(0)
    })
}

#[llm_trace]
fn early_return(flag: bool) -> u8 {
    if flag {
        return 1;
    }
    2
}

struct Service {
    client: Client,
    calls: usize,
}

impl Service {
    /// Doc comments and `#[must_use]` stay on the method.
    #[must_use]
    #[llm_trace]
    fn by_ref(&self) -> bool {
        self.client
            .chat(Model::MistralSmallLatest, vec![], None)
            .is_ok()
    }

    #[llm_trace]
    fn by_mut(&mut self) -> usize {
        self.calls += 1;
        self.calls
    }

    #[llm_trace]
    fn by_value(self) -> Client {
        self.client
    }

    #[llm_trace]
    async fn by_ref_async(&self) -> Result<ChatResponse, ApiError> {
        self.client
            .chat_async(Model::MistralSmallLatest, vec![], None)
            .await
    }
}

trait Assistant {
    fn client(&self) -> &Client;

    #[llm_trace]
    fn default_method(&self) -> bool {
        self.client().chat(Model::MistralSmallLatest, vec![], None).is_ok()
    }
}

mod renamed {
    extern crate llm_trace as tracing_for_llms;

    #[tracing_for_llms::llm_trace(crate = tracing_for_llms)]
    pub fn with_renamed_crate() -> u8 {
        7
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let client = Arc::new(Client::new(Some("k".into()), None, None, None).unwrap());
    let future = asynchronous(Arc::clone(&client));
    assert_send(&future);
    drop(future);
    let future = returns_impl_future(Arc::clone(&client));
    assert_send(&future);
    drop(future);
    let future = boxed_future(Arc::clone(&client));
    assert_send(&future);
    drop(future);
    let _ = (free, generic::<Arc<Client>, u8>, returns_impl_trait, early_return);
    let _ = computed_receivers;
    let _ = (Service::by_ref, Service::by_mut, Service::by_value, Service::by_ref_async);
    let _ = (<Client as Assistant>::default_method, renamed::with_renamed_crate);
}

impl Assistant for Client {
    fn client(&self) -> &Client {
        self
    }
}
