use std::collections::HashMap;

use super::*;
use crate::error::InitErrorKind;

fn resolve_os(explicit: &Explicit, vars: &[(&str, OsString)]) -> Result<Settings, InitError> {
    let vars: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Settings::resolve(explicit, &|name| vars.get(name).cloned())
}

fn resolve(explicit: Explicit, vars: &[(&str, &str)]) -> Result<Settings, InitError> {
    let vars: Vec<(&str, OsString)> = vars.iter().map(|(k, v)| (*k, OsString::from(v))).collect();
    resolve_os(&explicit, &vars)
}

/// The variable (or builder method), value and reason of an invalid setting.
fn error_of(explicit: Explicit, vars: &[(&str, &str)]) -> (Origin, String, String) {
    match resolve(explicit, vars) {
        Err(error) if error.kind() == InitErrorKind::InvalidSetting => (
            error.origin().cloned().unwrap(),
            error.value().unwrap_or_default().to_owned(),
            error.reason().to_owned(),
        ),
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

fn env_error(vars: &[(&str, &str)]) -> (&'static str, String, String) {
    match error_of(Explicit::default(), vars) {
        (Origin::Environment(variable), value, reason) => (variable, value, reason),
        other => panic!("expected an environment error, got {other:?}"),
    }
}

#[test]
fn defaults_are_console_with_no_content_and_parent_based_sampling() {
    let settings = resolve(Explicit::default(), &[]).unwrap();
    assert!(!settings.disabled);
    assert_eq!(settings.traces.exporter, ExporterKind::Console);
    assert_eq!(settings.metrics.exporter, ExporterKind::Console);
    assert_eq!(settings.traces.otlp.protocol, Protocol::HttpProtobuf);
    assert_eq!(settings.traces.otlp.url, "http://localhost:4318/v1/traces");
    assert_eq!(
        settings.metrics.otlp.url,
        "http://localhost:4318/v1/metrics"
    );
    assert!(settings.traces.otlp.headers.is_empty());
    assert_eq!(settings.traces.otlp.compression, Compression::None);
    assert!(!settings.batching.eager);
    assert_eq!(settings.batching.max_queue_size, 2048);
    assert_eq!(settings.batching.max_export_batch_size, 512);
    assert_eq!(settings.batching.schedule_delay, Duration::from_secs(5));
    assert_eq!(settings.metrics_interval, Duration::from_secs(60));
    assert_eq!(settings.sampling, Sampling::ParentBasedAlwaysOn);
    assert_eq!(settings.capture, CaptureMode::NoContent);
    assert_eq!(settings.traces.otlp.timeout, Duration::from_secs(10));
    assert_eq!(settings.service_name, None);
    assert_eq!(settings.pricing, None);
}

#[test]
fn every_variable_is_read() {
    let settings = resolve(
        Explicit::default(),
        &[
            (env::SERVICE_NAME, "painter-bot"),
            (env::DEPLOYMENT_ENVIRONMENT, "staging"),
            (env::OTLP_ENDPOINT, "http://collector:4318/"),
            (env::OTLP_HEADERS, "x-api-key=s%3Dcret, Tenant = acme"),
            (env::OTLP_PROTOCOL, "http/protobuf"),
            (env::OTLP_TIMEOUT, "2500"),
            (env::OTLP_COMPRESSION, "gzip"),
            (env::TRACES_EXPORTER, "otlp"),
            (env::METRICS_EXPORTER, "console"),
            (env::TRACES_SAMPLER, "traceidratio"),
            (env::TRACES_SAMPLER_ARG, "0.25"),
            (env::CAPTURE_MESSAGE_CONTENT, "SPAN_AND_EVENT"),
            (env::DISABLE_BATCH, "true"),
            (env::PRICING, "/etc/prices.json"),
            (env::MAX_CONTENT_LENGTH, "4096"),
            (env::BSP_MAX_QUEUE_SIZE, "100"),
            (env::BSP_MAX_EXPORT_BATCH_SIZE, "10"),
            (env::BSP_SCHEDULE_DELAY, "250"),
            (env::METRIC_EXPORT_INTERVAL, "1500"),
        ],
    )
    .unwrap();
    assert_eq!(settings.service_name.as_deref(), Some("painter-bot"));
    assert_eq!(settings.environment.as_deref(), Some("staging"));
    assert_eq!(settings.traces.otlp.url, "http://collector:4318/v1/traces");
    assert_eq!(
        settings.metrics.otlp.url,
        "http://collector:4318/v1/metrics"
    );
    assert_eq!(
        settings.traces.otlp.headers,
        vec![
            ("x-api-key".to_owned(), "s=cret".to_owned()),
            ("tenant".to_owned(), "acme".to_owned())
        ]
    );
    assert_eq!(settings.traces.otlp.timeout, Duration::from_millis(2500));
    assert_eq!(settings.traces.otlp.compression, Compression::Gzip);
    assert_eq!(settings.traces.exporter, ExporterKind::Otlp);
    assert_eq!(settings.metrics.exporter, ExporterKind::Console);
    assert_eq!(settings.sampling, Sampling::Ratio(0.25));
    assert_eq!(settings.capture, CaptureMode::SpanAndEvent);
    assert!(settings.batching.eager);
    assert_eq!(settings.max_content_length, Some(4096));
    assert_eq!(
        settings.pricing,
        Some((
            PathBuf::from("/etc/prices.json"),
            Origin::Environment(env::PRICING)
        ))
    );
    assert_eq!(
        settings.batching,
        Batching {
            max_queue_size: 100,
            max_export_batch_size: 10,
            schedule_delay: Duration::from_millis(250),
            eager: true
        }
    );
    assert_eq!(settings.metrics_interval, Duration::from_millis(1500));
    let off = resolve(Explicit::default(), &[(env::DISABLE_METRICS, "true")]).unwrap();
    assert_eq!(off.metrics.exporter, ExporterKind::None);
    let none = resolve(
        Explicit::default(),
        &[
            (env::TRACES_EXPORTER, "none"),
            (env::METRICS_EXPORTER, "none"),
        ],
    )
    .unwrap();
    assert_eq!(
        (none.traces.exporter, none.metrics.exporter),
        (ExporterKind::None, ExporterKind::None)
    );
    let disabled = resolve(Explicit::default(), &[(env::SDK_DISABLED, "true")]).unwrap();
    assert!(disabled.disabled);
}

#[test]
fn per_signal_variables_win_over_the_generic_ones() {
    let settings = resolve(
        Explicit::default(),
        &[
            (env::OTLP_ENDPOINT, "http://collector:4318"),
            (
                env::OTLP_TRACES_ENDPOINT,
                "https://traces.example/custom/path",
            ),
            (env::OTLP_HEADERS, "a=1"),
            (env::OTLP_METRICS_HEADERS, "b=2"),
            (env::OTLP_TIMEOUT, "1000"),
            (env::OTLP_TRACES_TIMEOUT, "2000"),
            (env::OTLP_METRICS_COMPRESSION, "gzip"),
        ],
    )
    .unwrap();
    assert_eq!(
        settings.traces.otlp.url,
        "https://traces.example/custom/path"
    );
    assert_eq!(
        settings.metrics.otlp.url,
        "http://collector:4318/v1/metrics"
    );
    assert_eq!(
        settings.traces.otlp.headers,
        vec![("a".to_owned(), "1".to_owned())]
    );
    assert_eq!(
        settings.metrics.otlp.headers,
        vec![("b".to_owned(), "2".to_owned())]
    );
    assert_eq!(settings.traces.otlp.timeout, Duration::from_secs(2));
    assert_eq!(settings.metrics.otlp.timeout, Duration::from_secs(1));
    assert_eq!(settings.traces.otlp.compression, Compression::None);
    assert_eq!(settings.metrics.otlp.compression, Compression::Gzip);
    // A signal endpoint alone makes OTLP the default.
    let only_traces = resolve(
        Explicit::default(),
        &[(env::OTLP_TRACES_ENDPOINT, "http://traces:4318/v1/traces")],
    )
    .unwrap();
    assert_eq!(only_traces.traces.exporter, ExporterKind::Otlp);
}

#[test]
fn an_endpoint_makes_otlp_the_default_for_both_signals() {
    let settings = resolve(
        Explicit::default(),
        &[(env::OTLP_ENDPOINT, "https://otel.example")],
    )
    .unwrap();
    assert_eq!(settings.traces.exporter, ExporterKind::Otlp);
    assert_eq!(settings.metrics.exporter, ExporterKind::Otlp);
    assert_eq!(settings.traces.otlp.url, "https://otel.example/v1/traces");
}

#[test]
fn explicit_arguments_win_over_the_environment() {
    let vars = [
        (env::SERVICE_NAME, "from-env"),
        (env::DEPLOYMENT_ENVIRONMENT, "env-env"),
        (env::OTLP_ENDPOINT, "http://env:4318"),
        (env::OTLP_HEADERS, "a=1"),
        (env::OTLP_TIMEOUT, "100"),
        (env::TRACES_EXPORTER, "none"),
        (env::METRICS_EXPORTER, "none"),
        (env::DISABLE_METRICS, "true"),
        (env::DISABLE_BATCH, "true"),
        (env::TRACES_SAMPLER, "always_off"),
        (env::CAPTURE_MESSAGE_CONTENT, "false"),
        (env::PRICING, "/env/prices.toml"),
        (env::BSP_MAX_QUEUE_SIZE, "7"),
    ];
    let explicit = Explicit {
        service_name: Some("from-code".into()),
        environment: Some("code-env".into()),
        endpoint: Some("http://code:4318".into()),
        headers: Some(vec![("b".into(), "2".into())]),
        timeout: Some(Duration::from_secs(3)),
        traces_exporter: Some(ExporterKind::Otlp),
        metrics_exporter: Some(ExporterKind::Otlp),
        disable_metrics: Some(false),
        disable_batch: Some(false),
        sampling: Some(Sampling::ParentBasedRatio(0.5)),
        capture: Some(CaptureMode::SpanOnly),
        pricing: Some("/code/prices.toml".into()),
        max_queue_size: Some(4096),
        ..Explicit::default()
    };
    let settings = resolve(explicit, &vars).unwrap();
    assert_eq!(settings.service_name.as_deref(), Some("from-code"));
    assert_eq!(settings.environment.as_deref(), Some("code-env"));
    assert_eq!(settings.traces.otlp.url, "http://code:4318/v1/traces");
    assert_eq!(
        settings.traces.otlp.headers,
        vec![("b".to_owned(), "2".to_owned())]
    );
    assert_eq!(settings.traces.otlp.timeout, Duration::from_secs(3));
    assert_eq!(settings.traces.exporter, ExporterKind::Otlp);
    assert_eq!(settings.metrics.exporter, ExporterKind::Otlp);
    assert!(!settings.batching.eager);
    assert_eq!(settings.batching.max_queue_size, 4096);
    assert_eq!(settings.sampling, Sampling::ParentBasedRatio(0.5));
    assert_eq!(settings.capture, CaptureMode::SpanOnly);
    assert_eq!(
        settings.pricing,
        Some((
            PathBuf::from("/code/prices.toml"),
            Origin::Builder("pricing_file")
        ))
    );
}

#[test]
fn samplers() {
    let sampler = |name: &str, arg: Option<&str>| {
        let mut vars = vec![(env::TRACES_SAMPLER, name)];
        if let Some(arg) = arg {
            vars.push((env::TRACES_SAMPLER_ARG, arg));
        }
        resolve(Explicit::default(), &vars).map(|s| s.sampling)
    };
    assert_eq!(sampler("always_on", None).unwrap(), Sampling::AlwaysOn);
    assert_eq!(sampler("always_off", None).unwrap(), Sampling::AlwaysOff);
    assert_eq!(sampler("traceidratio", None).unwrap(), Sampling::Ratio(1.0));
    assert_eq!(
        sampler("parentbased_traceidratio", Some("0.1")).unwrap(),
        Sampling::ParentBasedRatio(0.1)
    );
    assert_eq!(
        sampler("parentbased_always_off", None).unwrap(),
        Sampling::ParentBasedAlwaysOff
    );
}

#[test]
fn bad_configuration_names_the_variable_and_value() {
    let (variable, value, reason) = env_error(&[(env::OTLP_ENDPOINT, "collector:4318")]);
    assert_eq!(
        (variable, value.as_str()),
        (env::OTLP_ENDPOINT, "collector:4318")
    );
    assert!(reason.contains("http://"), "{reason}");
    let (variable, _, _) = env_error(&[(env::OTLP_ENDPOINT, "ftp://x")]);
    assert_eq!(variable, env::OTLP_ENDPOINT);
    for (url, expected) in [
        ("http://collector:4318/?token=abc", "query"),
        ("http://collector:4318/#frag", "fragment"),
        ("http://user:pass@collector:4318", "credentials"),
        ("http://host:port", "host and port"),
        ("http://host name:4318", "whitespace"),
    ] {
        let (_, _, reason) = env_error(&[(env::OTLP_ENDPOINT, url)]);
        assert!(reason.contains(expected), "{url}: {reason}");
    }
    let (origin, _, reason) = error_of(
        Explicit {
            endpoint: Some("http://host:port".into()),
            ..Explicit::default()
        },
        &[],
    );
    assert_eq!(origin, Origin::Builder("otlp_endpoint"));
    assert!(reason.contains("host and port"), "{reason}");

    let (variable, value, reason) =
        env_error(&[(env::OTLP_HEADERS, "x-api-key=secret-value,broken")]);
    assert_eq!(variable, env::OTLP_HEADERS);
    assert_eq!(value, "x-api-key=***,***", "header values never shown");
    assert!(reason.contains("entry 2"), "{reason}");
    let (_, value, reason) = env_error(&[(env::OTLP_HEADERS, "bad key=secret")]);
    assert!(!value.contains("secret") && !reason.contains("secret"));
    let (_, _, reason) = env_error(&[(env::OTLP_HEADERS, "k=%zz")]);
    assert!(reason.contains("invalid value"), "{reason}");
    let (origin, value, _) = error_of(
        Explicit {
            headers: Some(vec![("x-key".into(), "bad\nsecret".into())]),
            ..Explicit::default()
        },
        &[],
    );
    assert_eq!(origin, Origin::Builder("otlp_header"));
    assert_eq!(value, "x-key=***");

    for (variable, bad) in [
        (env::TRACES_EXPORTER, "jaeger"),
        (env::METRICS_EXPORTER, "prometheus"),
        (env::OTLP_PROTOCOL, "udp"),
        (env::OTLP_TIMEOUT, "10s"),
        (env::OTLP_COMPRESSION, "brotli"),
        (env::TRACES_SAMPLER, "sometimes"),
        (env::CAPTURE_MESSAGE_CONTENT, "maybe"),
        (env::DISABLE_BATCH, "perhaps"),
        (env::DISABLE_METRICS, "2"),
        (env::MAX_CONTENT_LENGTH, "lots"),
        (env::SDK_DISABLED, "sure"),
        (env::BSP_MAX_QUEUE_SIZE, "many"),
    ] {
        let (found, value, _) = env_error(&[(variable, bad)]);
        assert_eq!((found, value.as_str()), (variable, bad));
    }
    let (variable, value, reason) = env_error(&[(env::OTLP_PROTOCOL, "http/json")]);
    assert_eq!(
        (variable, value.as_str()),
        (env::OTLP_PROTOCOL, "http/json")
    );
    assert!(reason.contains("http/protobuf"), "{reason}");
    let (variable, _, _) = env_error(&[
        (env::TRACES_SAMPLER, "traceidratio"),
        (env::TRACES_SAMPLER_ARG, "1.5"),
    ]);
    assert_eq!(variable, env::TRACES_SAMPLER_ARG);
    let (origin, _, _) = error_of(
        Explicit {
            sampling: Some(Sampling::ParentBasedRatio(-0.1)),
            ..Explicit::default()
        },
        &[],
    );
    assert_eq!(origin, Origin::Builder("sampling_ratio"));

    let message = resolve(Explicit::default(), &[(env::TRACES_EXPORTER, "jaeger")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "invalid OTEL_TRACES_EXPORTER=\"jaeger\": expected console, otlp or none"
    );
    let message = resolve(
        Explicit {
            timeout: Some(Duration::ZERO),
            ..Explicit::default()
        },
        &[],
    )
    .unwrap_err();
    assert_eq!(
        message.to_string(),
        "invalid value \"0 ms\" given to builder .export_timeout(): expected 1 to 600000 milliseconds"
    );
    assert_eq!(message.variable(), Some(env::OTLP_TIMEOUT));
}

#[test]
fn limits_are_enforced() {
    for (variable, bad) in [
        (env::OTLP_TIMEOUT, "0"),
        (env::OTLP_TIMEOUT, "18446744073709551615"),
        (env::OTLP_TIMEOUT, "600001"),
        (env::BSP_MAX_QUEUE_SIZE, "0"),
        (env::BSP_SCHEDULE_DELAY, "0"),
        (env::BSP_MAX_EXPORT_BATCH_SIZE, "0"),
        (env::METRIC_EXPORT_INTERVAL, "0"),
    ] {
        let (found, _, reason) = env_error(&[(variable, bad)]);
        assert_eq!(found, variable, "{bad}: {reason}");
        assert!(reason.starts_with("expected"), "{reason}");
    }
    let (variable, _, reason) = env_error(&[
        (env::BSP_MAX_QUEUE_SIZE, "10"),
        (env::BSP_MAX_EXPORT_BATCH_SIZE, "11"),
    ]);
    assert_eq!(variable, env::BSP_MAX_EXPORT_BATCH_SIZE);
    assert!(reason.contains("1 to 10"), "{reason}");
    let small = resolve(Explicit::default(), &[(env::BSP_MAX_QUEUE_SIZE, "100")]).unwrap();
    assert_eq!(small.batching.max_export_batch_size, 100);
}

#[cfg(unix)]
#[test]
fn non_utf8_values_are_errors_naming_the_variable() {
    use std::os::unix::ffi::OsStringExt;
    for variable in [
        env::SERVICE_NAME,
        env::OTLP_ENDPOINT,
        env::OTLP_HEADERS,
        env::TRACES_EXPORTER,
        env::CAPTURE_MESSAGE_CONTENT,
        env::PRICING,
        env::TRACES_SAMPLER,
        env::SDK_DISABLED,
    ] {
        let bad = OsString::from_vec(vec![b'a', 0xff, b'b']);
        let error = resolve_os(&Explicit::default(), &[(variable, bad)]).unwrap_err();
        assert_eq!(error.origin(), Some(&Origin::Environment(variable)));
        assert!(error.to_string().contains("UTF-8"), "{error}");
    }
}

#[test]
fn every_variable_of_the_env_module_is_read() {
    // Each documented variable, set to a bad value, is noticed: none is silently ignored.
    let bad_for = |variable: &str| match variable {
        env::SERVICE_NAME | env::DEPLOYMENT_ENVIRONMENT | env::PRICING => None,
        _ => Some("\u{1}not-a-valid-value\u{1}"),
    };
    for variable in [
        env::SDK_DISABLED,
        env::OTLP_ENDPOINT,
        env::OTLP_TRACES_ENDPOINT,
        env::OTLP_METRICS_ENDPOINT,
        env::OTLP_HEADERS,
        env::OTLP_TRACES_HEADERS,
        env::OTLP_METRICS_HEADERS,
        env::OTLP_PROTOCOL,
        env::OTLP_TRACES_PROTOCOL,
        env::OTLP_METRICS_PROTOCOL,
        env::OTLP_TIMEOUT,
        env::OTLP_TRACES_TIMEOUT,
        env::OTLP_METRICS_TIMEOUT,
        env::OTLP_COMPRESSION,
        env::OTLP_TRACES_COMPRESSION,
        env::OTLP_METRICS_COMPRESSION,
        env::TRACES_EXPORTER,
        env::METRICS_EXPORTER,
        env::TRACES_SAMPLER,
        env::BSP_MAX_QUEUE_SIZE,
        env::BSP_SCHEDULE_DELAY,
        env::BSP_MAX_EXPORT_BATCH_SIZE,
        env::METRIC_EXPORT_INTERVAL,
        env::CAPTURE_MESSAGE_CONTENT,
        env::MAX_CONTENT_LENGTH,
        env::DISABLE_METRICS,
        env::DISABLE_BATCH,
    ] {
        let Some(bad) = bad_for(variable) else {
            continue;
        };
        let (found, _, _) = env_error(&[(variable, bad)]);
        assert_eq!(found, variable);
    }
    let (found, _, _) = env_error(&[
        (env::TRACES_SAMPLER, "traceidratio"),
        (env::TRACES_SAMPLER_ARG, "x"),
    ]);
    assert_eq!(found, env::TRACES_SAMPLER_ARG);
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// Any value of any variable: resolution answers (never panics), and an error about
        /// headers never shows a header value.
        #[test]
        fn resolution_never_panics(index in 0usize..crate::env::BUILDER_VARIABLES.len(), value in ".{0,40}", secret in "[a-z0-9]{16}") {
            let variable = crate::env::BUILDER_VARIABLES[index].1;
            let _ = resolve(Explicit::default(), &[(variable, value.as_str())]);
            let headers = format!("{value}=x{secret},k=={secret}");
            if let Err(error) = resolve(Explicit::default(), &[(env::OTLP_HEADERS, headers.as_str())]) {
                prop_assert!(!error.to_string().contains(&secret), "{}", error);
            }
        }
    }
}

#[test]
fn openlit_compatibility_is_on_and_openinference_off_unless_asked() {
    let settings = resolve(Explicit::default(), &[]).unwrap();
    assert!(settings.openlit_compat);
    assert!(!settings.openinference);

    let settings = resolve(
        Explicit::default(),
        &[(env::OPENLIT_COMPAT, "false"), (env::OPENINFERENCE, "true")],
    )
    .unwrap();
    assert!(!settings.openlit_compat);
    assert!(settings.openinference);

    let explicit = Explicit {
        openlit_compat: Some(true),
        openinference: Some(false),
        ..Explicit::default()
    };
    let settings = resolve(
        explicit,
        &[(env::OPENLIT_COMPAT, "no"), (env::OPENINFERENCE, "1")],
    )
    .unwrap();
    assert!(settings.openlit_compat, "the builder wins");
    assert!(!settings.openinference, "the builder wins");

    for variable in [env::OPENLIT_COMPAT, env::OPENINFERENCE] {
        assert_eq!(
            env_error(&[(variable, "sometimes")]),
            (
                variable,
                "sometimes".to_owned(),
                "expected true or false".to_owned()
            )
        );
    }
}

#[test]
fn the_report_path_comes_from_the_builder_else_llm_trace_report() {
    let settings = resolve(Explicit::default(), &[(env::REPORT, " out/usage.html ")]).unwrap();
    assert_eq!(
        settings.report,
        Some((
            PathBuf::from("out/usage.html"),
            Origin::Environment("LLM_TRACE_REPORT")
        ))
    );
    let explicit = Explicit {
        report: Some("code.html".into()),
        ..Explicit::default()
    };
    let settings = resolve(explicit, &[(env::REPORT, "env.html")]).unwrap();
    assert_eq!(
        settings.report,
        Some((PathBuf::from("code.html"), Origin::Builder("report")))
    );
    assert_eq!(
        resolve(Explicit::default(), &[(env::REPORT, "")])
            .unwrap()
            .report,
        None
    );
}
