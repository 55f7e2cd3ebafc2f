//! A collector that is down never affects the program: calls return as before, one
//! rate-limited warning, and exit is delayed at most by the export timeout.

use std::time::{Duration, Instant};

use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::logs::capture_logs;
use llm_trace_tests::mistral_client;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use mistralai_client::v1::error::ApiError;

#[llm_trace]
fn ask(client: &Client) -> Result<String, ApiError> {
    let messages = vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )];
    let response = client.chat(Model::MistralSmallLatest, messages, None)?;
    Ok(response.choices[0].message.content.clone())
}

#[test]
fn a_dead_collector_costs_one_warning_and_a_bounded_exit() {
    let _one = llm_trace_tests::exclusive();
    let logs = capture_logs();
    let dead_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_answer("Monet."));
    let timeout = Duration::from_millis(500);
    let telemetry = llm_trace::builder()
        .otlp_endpoint(format!("http://127.0.0.1:{dead_port}"))
        .otlp_header("x-api-key", "never-logged")
        .export_timeout(timeout)
        .disable_batch(true)
        .init()
        .unwrap();

    let client = mistral_client(&server);
    for _ in 0..5 {
        assert_eq!(ask(&client).unwrap(), "Monet.");
    }
    let started = Instant::now();
    let report = telemetry.shutdown();
    let exit = started.elapsed();
    assert!(exit < Duration::from_secs(5), "shutdown took {exit:?}");
    // The report says telemetry was lost; the program's results were unaffected.
    assert!(!report.is_clean(), "{report}");
    assert!(
        report.to_string().contains("the program is not affected"),
        "{report}"
    );

    let warnings = logs.warnings_with("exporting");
    assert_eq!(warnings.len(), 1, "one rate-limited warning: {warnings:#?}");
    assert!(
        warnings[0].contains("the program is not affected"),
        "{}",
        warnings[0]
    );
    for line in logs.lines() {
        assert!(
            !line.contains("never-logged"),
            "header value leaked: {line}"
        );
    }
}
