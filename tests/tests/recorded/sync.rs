//! Blocking mistralai-client calls inside `#[llm_trace]` functions, against the local
//! Mistral-compatible server: exact span attributes, cost, errors, receivers.

use std::sync::Arc;

use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{
    assert_parent, attributes, attrs, capture, error_type, in_trace, one, spans, strings,
};
use mistralai_client::v1::chat::{ChatMessage, ChatParams, ChatResponse, ResponseFormat};
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::embedding::{EmbeddingRequestEncodingFormat, EmbeddingRequestOptions};
use mistralai_client::v1::error::ApiError;
use opentelemetry::trace::{SpanKind, Status};

fn client(server: &MockServer) -> Client {
    llm_trace_tests::mistral_client(server)
}

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter? Answer in one short sentence.",
    )]
}

#[llm_trace]
fn ask(client: &Client) -> Result<String, ApiError> {
    let response = client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(response.choices[0].message.content.clone())
}

#[llm_trace]
fn embed(client: &Client) -> Result<usize, ApiError> {
    let inputs = vec![
        "Embed this sentence.".to_string(),
        "As well as this one.".to_string(),
    ];
    let response = client.embeddings(EmbedModel::MistralEmbed, inputs, None)?;
    Ok(response.data[0].embedding.len())
}

#[test]
fn chat_span_has_exact_genai_attributes_and_cost() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let client = client(&server);
    let (trace, answer) = in_trace(|| ask(&client));
    assert_eq!(answer.unwrap(), llm_trace_mistral::testing::DEFAULT_ANSWER);

    let spans = spans(trace);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let function = one(&spans, "ask");
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(chat.span_kind, SpanKind::Client);
    assert_eq!(function.span_kind, SpanKind::Internal);
    assert_parent(chat, function);
    assert_eq!(chat.status, Status::Unset);

    let mut expected = attrs! {
        "gen_ai.operation.name" => "chat",
        "gen_ai.provider.name" => "mistral_ai",
        "gen_ai.request.model" => "mistral-small-latest",
        "gen_ai.request.temperature" => 0.7,
        "gen_ai.request.top_p" => 1.0,
        "server.address" => "127.0.0.1",
        "server.port" => i64::from(server.address().port()),
        "gen_ai.response.model" => "mistral-small-latest",
        "gen_ai.usage.input_tokens" => 11_i64,
        "gen_ai.usage.output_tokens" => 9_i64,
        "gen_ai.usage.total_tokens" => 20_i64,
        "gen_ai.usage.cost" => 0.0000038,
    };
    let actual = attributes(chat);
    let id = actual["gen_ai.response.id"].clone();
    assert!(id.as_str().starts_with("cmpl-"), "{id}");
    expected.insert("gen_ai.response.id".into(), id);
    expected.insert("gen_ai.response.finish_reasons".into(), strings(&["stop"]));
    assert_eq!(actual, expected);

    let function_attributes = attributes(function);
    assert_eq!(
        function_attributes["code.function.name"].as_str(),
        "recorded::sync::ask"
    );
    assert_eq!(
        function_attributes["code.file.path"].as_str(),
        "tests/tests/recorded/sync.rs"
    );
    let line = include_str!("sync.rs")
        .lines()
        .position(|line| line.starts_with("fn ask(client: &Client)"))
        .unwrap() as i64
        + 1;
    assert_eq!(function_attributes["code.line.number"], line.into());
    // The roll-up of its one call, under llm-trace's own keys (never gen_ai.usage.*).
    assert_eq!(function_attributes["llm_trace.total.calls"], 1_i64.into());
    assert_eq!(function_attributes["llm_trace.total.errors"], 0_i64.into());
    assert_eq!(
        function_attributes["llm_trace.total.input_tokens"],
        11_i64.into()
    );
    assert_eq!(
        function_attributes["llm_trace.total.output_tokens"],
        9_i64.into()
    );
    assert_eq!(
        function_attributes["llm_trace.total.cost"],
        0.0000038.into()
    );
    assert_eq!(function_attributes.len(), 8);
}

#[test]
fn request_parameters_really_sent_are_recorded() {
    capture();
    let server = MockServer::start().unwrap();
    let client = client(&server);

    #[llm_trace(name = "json answer")]
    fn ask_json(client: &Client) -> Result<ChatResponse, ApiError> {
        let params = ChatParams {
            max_tokens: Some(64),
            random_seed: Some(42),
            response_format: Some(ResponseFormat::json_object()),
            temperature: 0.2,
            top_p: 0.9,
            ..ChatParams::default()
        };
        client.chat(Model::OpenMistral7b, question(), Some(params))
    }

    let (trace, response) = in_trace(|| ask_json(&client));
    response.unwrap();
    let spans = spans(trace);
    let function = one(&spans, "json answer");
    let chat = one(&spans, "chat open-mistral-7b");
    assert_parent(chat, function);
    let actual = attributes(chat);
    assert_eq!(actual["gen_ai.request.max_tokens"], 64_i64.into());
    assert_eq!(actual["gen_ai.request.seed"], 42_i64.into());
    assert_eq!(actual["gen_ai.request.temperature"], 0.2.into());
    assert_eq!(actual["gen_ai.request.top_p"], 0.9.into());
    assert_eq!(actual["gen_ai.output.type"], "json".into());
    // open-mistral-7b at 0.25/0.25 per 1M, 11 words in, default answer's words out.
    let out = actual["gen_ai.usage.output_tokens"].clone();
    assert_eq!(actual["gen_ai.usage.input_tokens"], 11_i64.into());
    let opentelemetry::Value::I64(out) = out else {
        panic!("{out:?}")
    };
    let expected_cost = (11 + out) as f64 * 0.25 / 1e6;
    let opentelemetry::Value::F64(cost) = actual["gen_ai.usage.cost"] else {
        panic!()
    };
    assert!(
        (cost - expected_cost).abs() < 1e-15,
        "{cost} vs {expected_cost}"
    );

    // What the server received matches what the span says was sent.
    let sent = &server.requests()[0].body;
    assert_eq!(sent["max_tokens"], 64);
    assert_eq!(sent["random_seed"], 42);
    assert_eq!(sent["response_format"]["type"], "json_object");
}

#[test]
fn embeddings_span_has_exact_attributes() {
    capture();
    let server = MockServer::start().unwrap();
    let client = client(&server);
    let (trace, dims) = in_trace(|| embed(&client));
    assert_eq!(dims.unwrap(), 1024);
    let spans = spans(trace);
    let function = one(&spans, "embed");
    let span = one(&spans, "embeddings mistral-embed");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_parent(span, function);
    // 3 + 5 words; mistral-embed at 0.10 per 1M.
    assert_eq!(
        attributes(span),
        attrs! {
            "gen_ai.operation.name" => "embeddings",
            "gen_ai.provider.name" => "mistral_ai",
            "gen_ai.request.model" => "mistral-embed",
            "server.address" => "127.0.0.1",
            "server.port" => i64::from(server.address().port()),
            "gen_ai.response.model" => "mistral-embed",
            "gen_ai.embeddings.dimension.count" => 1024_i64,
            "gen_ai.usage.input_tokens" => 8_i64,
            "gen_ai.usage.total_tokens" => 8_i64,
            "gen_ai.usage.cost" => 0.0000008,
        }
    );
}

#[test]
fn embeddings_encoding_format_is_recorded() {
    capture();
    let server = MockServer::start().unwrap();
    let client = client(&server);

    #[llm_trace]
    fn embed_float(client: &Client) -> Result<(), ApiError> {
        let options = EmbeddingRequestOptions {
            encoding_format: Some(EmbeddingRequestEncodingFormat::float),
        };
        client.embeddings(EmbedModel::MistralEmbed, vec!["x".into()], Some(options))?;
        Ok(())
    }

    let (trace, result) = in_trace(|| embed_float(&client));
    result.unwrap();
    let spans = spans(trace);
    let span = one(&spans, "embeddings mistral-embed");
    assert_eq!(
        attributes(span)["gen_ai.request.encoding_formats"],
        strings(&["float"])
    );
}

#[test]
fn http_429_is_an_error_with_its_status_and_the_result_is_unchanged() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::status(429));
    let client = client(&server);
    let (trace, answer) = in_trace(|| ask(&client));
    let error = answer.unwrap_err();
    // The user's error is the client's own, untouched.
    assert!(
        error.message.contains("429 Too Many Requests"),
        "{}",
        error.message
    );
    assert!(error.message.contains("rate limit"), "{}", error.message);

    let spans = spans(trace);
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(error_type(chat).as_deref(), Some("429"));
    assert_eq!(
        chat.status,
        Status::error("Mistral API answered HTTP 429"),
        "the body may echo the prompt: it stays out of the status"
    );
    let actual = attributes(chat);
    assert!(!actual.contains_key("gen_ai.usage.input_tokens"));
    assert!(!actual.contains_key("gen_ai.usage.cost"));
    assert_eq!(
        actual["gen_ai.request.model"],
        "mistral-small-latest".into()
    );
}

#[test]
fn refused_connection_is_an_other_error() {
    capture();
    // A port that was free a moment ago: nothing listens there now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::new(
        Some("sk-test".into()),
        Some(format!("http://127.0.0.1:{port}/v1")),
        Some(0),
        None,
    )
    .unwrap();
    let (trace, answer) = in_trace(|| ask(&client));
    assert!(answer.is_err());
    let spans = spans(trace);
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(error_type(chat).as_deref(), Some("_OTHER"));
    assert_eq!(attributes(chat)["server.port"], i64::from(port).into());
}

#[test]
fn malformed_answer_is_an_error_and_returned_as_is() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::malformed());
    let client = client(&server);
    let (trace, answer) = in_trace(|| ask(&client));
    let error = answer.unwrap_err();
    assert!(error.message.contains("decoding"), "{}", error.message);
    let spans = spans(trace);
    assert_eq!(
        error_type(one(&spans, "chat mistral-small-latest")).as_deref(),
        Some("_OTHER")
    );
}

struct Assistant {
    client: Arc<Client>,
}

impl Assistant {
    #[llm_trace]
    fn ask_via_self(&self) -> Result<ChatResponse, ApiError> {
        self.client
            .chat(Model::MistralSmallLatest, question(), None)
    }

    #[llm_trace]
    fn ask_mut(&mut self) -> Result<ChatResponse, ApiError> {
        let client = &self.client;
        client.chat(Model::MistralSmallLatest, question(), None)
    }

    #[llm_trace]
    fn ask_owned(self) -> Result<ChatResponse, ApiError> {
        let clients = [self.client.clone()];
        clients[0].chat(Model::MistralSmallLatest, question(), None)
    }
}

#[test]
fn methods_and_receivers_through_arc_ref_and_field() {
    capture();
    let server = MockServer::start().unwrap();
    let mut assistant = Assistant {
        client: Arc::new(client(&server)),
    };
    let (trace, result) = in_trace(|| {
        assistant.ask_via_self().unwrap();
        assistant.ask_mut().unwrap();
        Assistant {
            client: Arc::clone(&assistant.client),
        }
        .ask_owned()
    });
    result.unwrap();
    let spans = spans(trace);
    assert_eq!(
        spans.len(),
        6,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for function in ["ask_via_self", "ask_mut", "ask_owned"] {
        let parent = one(&spans, function);
        let children = llm_trace_tests::children(&spans, parent);
        assert_eq!(children.len(), 1, "{function}");
        assert_eq!(children[0].name, "chat mistral-small-latest");
        // The endpoint was read through `Arc<Client>` / `&Arc<Client>`.
        assert_eq!(
            attributes(children[0])["server.address"],
            "127.0.0.1".into()
        );
    }
}

#[test]
fn calls_in_closures_and_computed_receivers_are_traced() {
    capture();
    let server = MockServer::start().unwrap();
    let shared = client(&server);

    fn pick(client: &Client) -> Option<&Client> {
        Some(client)
    }

    #[llm_trace]
    fn several(client: &Client) -> Result<usize, ApiError> {
        let ask = |model: Model| client.chat(model, question(), None);
        let first = ask(Model::MistralSmallLatest)?;
        // A receiver that is itself a call followed by `?`, and args with `?` inside.
        let second = pick(client)
            .ok_or(ApiError {
                message: "none".into(),
            })?
            .chat(
                Model::MistralLargeLatest,
                question(),
                Some(ChatParams::default()),
            )?;
        // `&client` on purpose: a borrowed receiver is traced too.
        #[allow(clippy::needless_borrow)]
        let third = (&client).embeddings(
            EmbedModel::MistralEmbed,
            vec![first.choices[0].message.content.clone()],
            None,
        )?;
        Ok(second.choices.len() + third.data.len())
    }

    let (trace, count) = in_trace(|| several(&shared));
    assert_eq!(count.unwrap(), 2);
    let spans = spans(trace);
    let function = one(&spans, "several");
    for name in [
        "chat mistral-small-latest",
        "chat mistral-large-latest",
        "embeddings mistral-embed",
    ] {
        assert_parent(one(&spans, name), function);
    }
    assert_eq!(spans.len(), 4);
}

mod lookalike {
    use mistralai_client::v1::chat::ChatMessage;
    use mistralai_client::v1::constants::Model;

    /// A user type with methods named like the client's, even with the same arguments.
    pub struct MyBot;

    impl MyBot {
        pub fn chat(&self, _: Model, messages: Vec<ChatMessage>, _: Option<()>) -> usize {
            messages.len()
        }

        pub fn embeddings(&mut self, a: u8, b: u8, c: u8) -> u8 {
            a + b + c
        }
    }
}

#[test]
fn user_types_with_chat_methods_are_left_alone() {
    capture();
    use lookalike::MyBot;

    #[llm_trace]
    fn not_mistral() -> usize {
        let bot = MyBot;
        let mut other = MyBot;
        let n = bot.chat(Model::MistralSmallLatest, vec![], None);
        let m = other.embeddings(1, 2, 3);
        n + usize::from(m)
    }

    let (trace, value) = in_trace(not_mistral);
    assert_eq!(value, 6);
    let spans = spans(trace);
    assert_eq!(spans.len(), 1, "only the function span: {spans:#?}");
    assert_eq!(spans[0].name, "not_mistral");
}

#[test]
fn untraced_calls_get_no_span() {
    capture();
    let server = MockServer::start().unwrap();
    let client = client(&server);

    #[llm_trace]
    fn quiet(client: &Client) -> Result<(), ApiError> {
        llm_trace::untraced!(client.chat(Model::MistralSmallLatest, question(), None))?;
        Ok(())
    }

    let (trace, result) = in_trace(|| quiet(&client));
    result.unwrap();
    assert_eq!(server.requests().len(), 1);
    let spans = spans(trace);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "quiet");
}

#[test]
fn traced_macro_traces_a_call_outside_annotated_functions() {
    capture();
    let server = MockServer::start().unwrap();
    let client = client(&server);
    let (trace, response) = in_trace(|| {
        let messages = question();
        llm_trace::traced!(client.chat(Model::CodestralLatest, messages, None))
    });
    response.unwrap();
    let spans = spans(trace);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "chat codestral-latest");
    assert_eq!(spans[0].span_kind, SpanKind::Client);
}

#[test]
fn a_panicking_function_ends_its_span_in_error() {
    capture();

    #[llm_trace]
    fn boom() {
        panic!("boom");
    }

    let (trace, result) = in_trace(|| std::panic::catch_unwind(boom));
    assert!(result.is_err());
    let spans = spans(trace);
    assert_eq!(one(&spans, "boom").status, Status::error("panicked"));
}
