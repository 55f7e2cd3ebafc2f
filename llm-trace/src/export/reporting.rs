//! Export failures are reported, never propagated: a failing or unreachable collector
//! costs the program one warning a minute, not its results.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How often an export failure may be reported.
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(60);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Milliseconds after [`epoch`] (plus one, so 0 means "never") of the last report.
static LAST_REPORT: AtomicU64 = AtomicU64::new(0);
/// Failures since the last report.
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// Reports one export failure, at most once per [`REPORT_INTERVAL`] (see [`emit`]).
pub(crate) fn report(signal: &str, error: &dyn std::fmt::Display) {
    let now = u64::try_from(epoch().elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let last = LAST_REPORT.load(Ordering::Relaxed);
    let due = last == 0 || now.saturating_sub(last) >= REPORT_INTERVAL.as_millis() as u64;
    if !due
        || LAST_REPORT
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
    let more = if suppressed > 0 {
        format!(" ({suppressed} more failures since the last report)")
    } else {
        String::new()
    };
    emit(&format!(
        "llm-trace: exporting {signal} failed: {error}{more}; the program is not affected, telemetry is lost until the collector answers"
    ));
}

/// Prints one line for people, at warning level: through `tracing` (feature `tracing`)
/// when a subscriber takes it, else through `log` when a logger takes it, else on
/// standard error.
pub(crate) fn emit(message: &str) {
    if !llm_trace_core::__llm_trace_diagnostic!(warn, "{message}") {
        eprintln!("{message}");
    }
}
