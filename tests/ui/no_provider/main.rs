//! Built by `tests/ui.rs` with llm-trace but without any provider feature: every annotated
//! function gets one warning, at its name, and `init` says once that no LLM call is traced.

use llm_trace::llm_trace;

#[llm_trace]
fn plain() -> u32 {
    1
}

#[llm_trace(name = "renamed", err)]
async fn asynchronous() -> Result<u32, std::fmt::Error> {
    Ok(2)
}

struct Bot;

impl Bot {
    #[llm_trace]
    fn method(&self) -> u32 {
        3
    }
}

fn main() {
    let telemetry = llm_trace::builder()
        .traces_exporter(llm_trace::ExporterKind::None)
        .metrics_exporter(llm_trace::ExporterKind::None)
        .init()
        .expect("telemetry setup");
    assert_eq!(plain() + Bot.method(), 4);
    drop(asynchronous());
    assert!(telemetry.shutdown().is_clean());
}
