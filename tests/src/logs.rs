//! Capturing `log` records in tests (one logger per test binary).

use std::sync::{Mutex, OnceLock};

/// Every log record, as `LEVEL target message`.
pub struct CapturedLogs(Mutex<Vec<String>>);

impl log::Log for CapturedLogs {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {} {}", record.level(), record.target(), record.args());
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    fn flush(&self) {}
}

impl CapturedLogs {
    /// The lines logged so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The lines at warning level or above that contain `needle`.
    pub fn warnings_with(&self, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|line| {
                (line.starts_with("WARN") || line.starts_with("ERROR")) && line.contains(needle)
            })
            .collect()
    }
}

/// Installs (once) the capturing logger at every level.
pub fn capture_logs() -> &'static CapturedLogs {
    static LOGS: CapturedLogs = CapturedLogs(Mutex::new(Vec::new()));
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = log::set_logger(&LOGS);
        log::set_max_level(log::LevelFilter::Trace);
    });
    &LOGS
}
