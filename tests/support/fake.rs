//! A fake LLM client and its llm-trace provider, declared the way a second provider crate
//! would be: no network, no allocation of its own, for overhead measurements and for
//! proving that providers plug in without touching the macro.

use std::borrow::Cow;

use llm_trace::provider::{Operation, Provider, RequestInfo, ResponseInfo, TracedCall, Usage};
use opentelemetry::KeyValue;

/// The fake vendor.
pub enum FakeAi {}

impl Provider for FakeAi {
    const NAME: &'static str = "fake_ai";
}

/// The fake client's only model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FakeModel;

/// The fake client's options.
#[derive(Clone, Copy, Debug, Default)]
pub struct FakeOptions {
    pub max_tokens: Option<u32>,
}

/// A fake answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FakeResponse {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// A fake failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FakeError {
    pub status: u16,
}

/// A fake client: answers at once, from memory.
#[derive(Clone, Debug)]
pub struct FakeClient {
    pub endpoint: String,
    pub fail_with: Option<u16>,
}

impl FakeClient {
    pub fn new() -> Self {
        FakeClient {
            endpoint: "https://fake.example:8443/v1".into(),
            fail_with: None,
        }
    }

    fn answer(&self, prompt: &[&'static str]) -> Result<FakeResponse, FakeError> {
        match self.fail_with {
            Some(status) => Err(FakeError { status }),
            None => Ok(FakeResponse {
                input_tokens: prompt.len() as u32,
                output_tokens: 9,
            }),
        }
    }

    /// Sync chat.
    pub fn chat(
        &self,
        _model: FakeModel,
        prompt: Vec<&'static str>,
        _options: Option<FakeOptions>,
    ) -> Result<FakeResponse, FakeError> {
        self.answer(&prompt)
    }

    /// Async chat.
    pub async fn chat_async(
        &self,
        _model: FakeModel,
        prompt: Vec<&'static str>,
        _options: Option<FakeOptions>,
    ) -> Result<FakeResponse, FakeError> {
        self.answer(&prompt)
    }
}

impl Default for FakeClient {
    fn default() -> Self {
        FakeClient::new()
    }
}

/// The fake chat call.
pub enum FakeChat {}

impl TracedCall for FakeChat {
    type Provider = FakeAi;
    type Args = (FakeModel, Vec<&'static str>, Option<FakeOptions>);
    type Response = FakeResponse;
    type Error = FakeError;
    const OPERATION: Operation = Operation::Chat;

    fn request_info(_: &Self::Args) -> RequestInfo {
        RequestInfo {
            model: Cow::Borrowed("fake-small"),
            span_name: Cow::Borrowed("chat fake-small"),
        }
    }

    fn request_attributes((_, _, options): &Self::Args, attributes: &mut Vec<KeyValue>) {
        if let Some(max) = options.and_then(|o| o.max_tokens) {
            attributes.push(KeyValue::new("gen_ai.request.max_tokens", i64::from(max)));
        }
    }

    fn response_info(response: &FakeResponse) -> ResponseInfo {
        ResponseInfo {
            usage: Some(Usage {
                input_tokens: response.input_tokens.into(),
                output_tokens: Some(response.output_tokens.into()),
            }),
            ..ResponseInfo::default()
        }
    }

    fn error_type(error: &FakeError) -> Cow<'static, str> {
        Cow::Owned(error.status.to_string())
    }

    fn error_description(_: &FakeError) -> Cow<'static, str> {
        Cow::Borrowed("fake failure")
    }
}

llm_trace::declare_calls! {
    /// `FakeClient::chat`.
    sync FakeChatSync => FakeChat;
    /// `FakeClient::chat_async`.
    async FakeChatAsync => FakeChat;
}

llm_trace::declare_client! {
    FakeClient => |client| client.endpoint.as_str();
    traits FakeEndpoint, FakeEndpointDeref, FakeEndpointDeref2;
}

/// Bring these into scope (`use support::fake::kinds::*;`) where annotated functions
/// call the fake client, as the facade does for built-in providers.
pub mod kinds {
    pub use super::{
        FakeChatAsync as _, FakeChatSync as _, FakeEndpoint as _, FakeEndpointDeref as _,
        FakeEndpointDeref2 as _,
    };
}
