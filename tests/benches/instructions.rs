//! Instructions per traced call on the calling thread, counted by callgrind: steadier than
//! timings on a shared machine (±30 %), and what to compare before and after a change.
//!
//! ```text
//! cargo bench -p llm-trace-tests --bench instructions            # every case
//! cargo bench -p llm-trace-tests --bench instructions -- sampled  # cases whose name has "sampled"
//! ```
//!
//! Each case is one fake client call (in memory, no network) as the `call_overhead` and
//! `pipeline` benches make it. The driver runs this binary under
//! `valgrind --tool=callgrind` twice per case, with 1000 and 3000 calls after a warm-up,
//! counting only the main thread inside the measured loop, and prints the difference
//! divided by 2000: the cost of one call, without set-up, warm-up or export threads.
//! Without valgrind on the `PATH` it says so and exits.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use llm_trace_tests::fake::FakeClient;
use llm_trace_tests::otlp_receiver::{Behaviour, OtlpReceiver};
use llm_trace_tests::Discard;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

mod shared;

use shared::{plain, price_the_fake_model, sampled_out_parent, traced, two_spans_by_hand};

/// The variable naming the case a child run measures, and its number of calls.
const CASE: &str = "LLM_TRACE_INSTRUCTIONS_CASE";
const CALLS: &str = "LLM_TRACE_INSTRUCTIONS_CALLS";

const CASES: &[&str] = &[
    "plain call",
    "traced, no provider",
    "traced, sampled out (Recorder, AlwaysOff)",
    "traced, under a sampled-out parent",
    "traced, under a sampled-out parent, usage off",
    "traced, recorded (simple processor, discarding exporter)",
    "baseline: two hand-made SDK spans",
    "init(): sampled out, metrics disabled",
    "init(): sampled out (ratio 0.5 of roots; half recorded), metrics disabled",
    "init(): OTLP traces and metrics",
    "init(): OTLP traces, metrics disabled",
    "init(): OTLP traces, metrics disabled, usage report",
];

fn main() {
    match std::env::var(CASE) {
        Ok(case) => {
            let calls = std::env::var(CALLS)
                .ok()
                .and_then(|calls| calls.parse().ok())
                .unwrap_or(1000);
            run_case(&case, calls);
        }
        Err(_) => drive(),
    }
}

/// Runs every case (or those matching the first free argument) under callgrind.
fn drive() {
    let filter = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .unwrap_or_default();
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("valgrind is not installed: no instruction counts");
        return;
    }
    let me = std::env::current_exe().expect("the bench binary's path");
    println!("{:<75} instructions per call", "case");
    for case in CASES.iter().filter(|case| case.contains(filter.as_str())) {
        let count = |calls: u64| instructions(&me, case, calls);
        match (count(1000), count(3000)) {
            (Some(few), Some(many)) => {
                let per_call = many.saturating_sub(few) as f64 / 2000.0;
                println!("{case:<75} {per_call:>8.0}");
            }
            _ => println!("{case:<75} (callgrind failed)"),
        }
    }
}

/// The main thread's instructions inside the measured loop, `calls` calls of `case`.
fn instructions(me: &std::path::Path, case: &str, calls: u64) -> Option<u64> {
    let out = std::env::temp_dir().join(format!(
        "llm-trace-callgrind-{}-{calls}.out",
        std::process::id()
    ));
    let status = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=*measured_loop*",
            "--separate-threads=yes",
        ])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(me)
        .env(CASE, case)
        .env(CALLS, calls.to_string())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .ok()?;
    if !status.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&status.stderr));
        return None;
    }
    // With --separate-threads, the main thread's profile ends in "-01".
    let main_thread = format!("{}-01", out.display());
    let profile = std::fs::read_to_string(&main_thread).ok()?;
    for path in std::fs::read_dir(std::env::temp_dir()).ok()?.flatten() {
        let name = path.file_name();
        if name.to_string_lossy().starts_with(&format!(
            "llm-trace-callgrind-{}-{calls}",
            std::process::id()
        )) {
            let _ = std::fs::remove_file(path.path());
        }
    }
    profile
        .lines()
        .find_map(|line| {
            line.strip_prefix("summary: ")
                .or(line.strip_prefix("totals: "))
        })
        .and_then(|total| total.trim().split(' ').next()?.parse().ok())
}

/// The loop callgrind counts (by its name).
#[inline(never)]
fn measured_loop(calls: u64, call: &mut dyn FnMut()) {
    for _ in 0..calls {
        call();
    }
}

/// Sets `case` up, warms it up, and runs `calls` calls in [`measured_loop`].
fn run_case(case: &str, calls: u64) {
    let client = FakeClient::new();
    let measure = |mut call: Box<dyn FnMut() + '_>| {
        for _ in 0..200 {
            call();
        }
        let start = std::time::Instant::now();
        measured_loop(calls, &mut *call);
        // Outside valgrind, a quick timing (noisy: criterion's benches are the reference).
        eprintln!(
            "{case}: {:.1} ns per call",
            start.elapsed().as_nanos() as f64 / calls as f64
        );
    };
    let receiver = || {
        let receiver = OtlpReceiver::start();
        receiver.set_behaviour(Behaviour {
            discard: true,
            ..Behaviour::default()
        });
        receiver
    };
    let builder = |receiver: &OtlpReceiver| {
        llm_trace::builder()
            .otlp_endpoint(receiver.endpoint())
            .max_queue_size(1_000_000)
            .metrics_interval(Duration::from_secs(1))
    };
    match case {
        "plain call" => measure(Box::new(|| {
            black_box(plain(black_box(&client)));
        })),
        "traced, no provider" => measure(Box::new(|| {
            black_box(traced(black_box(&client)));
        })),
        "traced, sampled out (Recorder, AlwaysOff)" => {
            price_the_fake_model();
            let provider = SdkTracerProvider::builder()
                .with_sampler(Sampler::AlwaysOff)
                .build();
            llm_trace::set_tracer_provider(&provider);
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
        }
        "traced, under a sampled-out parent" => {
            price_the_fake_model();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(Discard)
                .build();
            llm_trace::set_tracer_provider(&provider);
            let _parent = sampled_out_parent().attach();
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
        }
        "traced, under a sampled-out parent, usage off" => {
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(Discard)
                .build();
            llm_trace::set_tracer_provider(&provider);
            llm_trace::Recorder::update_global(|recorder| recorder.no_usage());
            let _parent = sampled_out_parent().attach();
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
        }
        "traced, recorded (simple processor, discarding exporter)" => {
            price_the_fake_model();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(Discard)
                .build();
            llm_trace::set_tracer_provider(&provider);
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
        }
        "baseline: two hand-made SDK spans" => {
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(Discard)
                .build();
            let tracer = provider.tracer("baseline");
            measure(Box::new(|| {
                black_box(two_spans_by_hand(&tracer, black_box(&client), |_| {}));
            }));
        }
        "init(): sampled out, metrics disabled" => {
            let receiver = receiver();
            let _telemetry = builder(&receiver)
                .sampler(llm_trace::Sampling::ParentBasedAlwaysOff)
                .disable_metrics(true)
                .init()
                .unwrap();
            price_the_fake_model();
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
        }
        "init(): sampled out (ratio 0.5 of roots; half recorded), metrics disabled" => {
            let receiver = receiver();
            let _telemetry = builder(&receiver)
                .sampler(llm_trace::Sampling::ParentBasedRatio(0.5))
                .disable_metrics(true)
                .init()
                .unwrap();
            price_the_fake_model();
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
        }
        "init(): OTLP traces and metrics" => {
            let receiver = receiver();
            let _telemetry = builder(&receiver).init().unwrap();
            price_the_fake_model();
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
        }
        "init(): OTLP traces, metrics disabled" => {
            let receiver = receiver();
            let _telemetry = builder(&receiver).disable_metrics(true).init().unwrap();
            price_the_fake_model();
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
        }
        "init(): OTLP traces, metrics disabled, usage report" => {
            let receiver = receiver();
            let report =
                std::env::temp_dir().join(format!("llm-trace-callgrind-{}", std::process::id()));
            std::fs::create_dir_all(&report).unwrap();
            let telemetry = builder(&receiver)
                .disable_metrics(true)
                .report(report.join("usage.html"))
                .init()
                .unwrap();
            price_the_fake_model();
            measure(Box::new(|| {
                black_box(traced(black_box(&client)));
            }));
            drop(telemetry);
            let _ = std::fs::remove_dir_all(&report);
        }
        other => panic!("no case named {other:?}; cases: {CASES:?}"),
    }
}
