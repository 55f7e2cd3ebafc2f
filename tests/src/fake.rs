//! A fake LLM client and its llm-trace provider, declared the way a second provider crate
//! would be: no network, no allocation of its own, for overhead measurements and for
//! proving that providers plug in without touching the macro.

use std::borrow::Cow;

use llm_trace::pricing::{ModelPrice, Price, PricingTable};
use llm_trace::provider::{Operation, Provider, RequestInfo, ResponseInfo, TracedCall, Usage};
use opentelemetry::KeyValue;

/// The fake vendor.
pub enum FakeAi {}

impl Provider for FakeAi {
    const NAME: &'static str = "fake_ai";
}

/// `table` with the fake model priced (0.10 USD per million input tokens, 0.30 USD per
/// million output tokens), so traced fake calls compute a cost as a real call does.
pub fn with_fake_price(mut table: PricingTable) -> PricingTable {
    table.insert(
        Operation::Chat,
        "fake-small",
        ModelPrice {
            input: Price::per_million(0.10).unwrap(),
            output: Some(Price::per_million(0.30).unwrap()),
        },
    );
    table
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

/// One chunk of a fake stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FakeChunk {
    pub content: &'static str,
    /// (input, output) tokens, on the last chunk.
    pub usage: Option<(u32, u32)>,
}

/// A fake stream of `remaining` chunks, the last one with usage; allocation-free.
#[derive(Debug)]
pub struct FakeStream {
    remaining: usize,
}

impl futures_util::Stream for FakeStream {
    type Item = Result<FakeChunk, FakeError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.remaining == 0 {
            return std::task::Poll::Ready(None);
        }
        self.remaining -= 1;
        let usage = (self.remaining == 0).then_some((3, 9));
        std::task::Poll::Ready(Some(Ok(FakeChunk {
            content: "word ",
            usage,
        })))
    }
}

impl FakeClient {
    /// Async streamed chat: as many chunks as `options.max_tokens` (default 8).
    pub async fn chat_stream(
        &self,
        _model: FakeModel,
        _prompt: Vec<&'static str>,
        options: Option<FakeOptions>,
    ) -> Result<FakeStream, FakeError> {
        match self.fail_with {
            Some(status) => Err(FakeError { status }),
            None => Ok(FakeStream {
                remaining: options.and_then(|o| o.max_tokens).unwrap_or(8) as usize,
            }),
        }
    }
}

/// The fake streamed chat call.
pub enum FakeChatStream {}

impl llm_trace::provider::TracedStreamCall for FakeChatStream {
    type Call = FakeChat;
    type Item = FakeChunk;

    fn observe(chunk: &FakeChunk, info: &mut ResponseInfo) -> llm_trace::provider::ChunkCount {
        if let Some((input, output)) = chunk.usage {
            info.usage = Some(Usage {
                input_tokens: input.into(),
                output_tokens: Some(output.into()),
            });
        }
        llm_trace::provider::ChunkCount {
            chunks: 1,
            content: u64::from(!chunk.content.is_empty()),
        }
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

llm_trace::declare_client! {
    /// Bring these into scope (`use llm_trace_tests::fake::kinds::*;`) where annotated
    /// functions call the fake client, as the facade does for built-in providers.
    pub mod kinds for FakeClient {
        endpoint = |client| client.endpoint.as_str();
        sync FakeChat;
        async FakeChat;
        stream FakeChatStream;
    }
}
