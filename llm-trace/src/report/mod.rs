//! The usage report written at shutdown (`LLM_TRACE_REPORT=usage.html`, or
//! [`Builder::report`](crate::Builder::report)): one self-contained HTML page — no
//! script, no network, inline SVG charts — and the same numbers as JSON beside it.
//!
//! A span processor in front of the exporting one ([`processor`]) feeds a bounded
//! [`collector`] as spans end; at shutdown the collector is summarised into the report's
//! [`model`], written as [`json`] and drawn as [`html`] with [`svg`] charts. The report
//! covers the spans the sampler recorded.

mod collector;
mod format;
mod hash;
mod html;
mod json;
mod latency;
mod model;
mod processor;
mod svg;
mod timeline;
mod traces;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use llm_trace_core::__private::lock;

use self::collector::{Collector, Limits, Meta};
pub(crate) use self::processor::NoExport;
use self::processor::{ReportProcessor, Shared};
use crate::error::{InitError, Origin};
use crate::settings::{Sampling, Settings};

/// A report asked for: where it goes and what feeds it.
#[derive(Debug)]
pub(crate) struct Report {
    html: PathBuf,
    json: PathBuf,
    shared: Arc<Shared>,
    meta: Meta,
}

impl Report {
    /// Checks that the report can be written at `path` (its directory exists and takes a
    /// new file) and starts collecting.
    pub(crate) fn prepare(
        path: &Path,
        origin: &Origin,
        settings: &Settings,
    ) -> Result<Report, InitError> {
        let (html, json) = check_target(path).map_err(|reason| {
            InitError::invalid(origin.clone(), path.display().to_string(), reason)
        })?;
        Ok(Report {
            html,
            json,
            shared: Arc::new(Shared {
                collector: Mutex::new(Collector::new(Limits::default(), SystemTime::now())),
                broken: AtomicBool::new(false),
            }),
            meta: Meta {
                service: settings.service_name.clone(),
                sampler: sampler_name(settings.sampling),
            },
        })
    }

    /// A processor that feeds this report, then `next`.
    pub(crate) fn processor<P>(&self, next: P) -> ReportProcessor<P> {
        ReportProcessor {
            shared: Arc::clone(&self.shared),
            next,
        }
    }

    /// Writes the report; returns what went wrong, one line each.
    pub(crate) fn write(self) -> Vec<String> {
        let mut failures = Vec::new();
        let meta = &self.meta;
        let shared = &self.shared;
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let usage = lock(&shared.collector).finish(meta, SystemTime::now());
            let json = json::render(&usage);
            let html = html::render(&usage, &json);
            (json, html)
        }));
        let Ok((json, html)) = rendered else {
            failures.push(
                "usage report: building the report failed (an llm-trace bug); nothing was written"
                    .to_owned(),
            );
            return failures;
        };
        if shared.broken.load(Ordering::Relaxed) {
            failures.push("usage report: collecting stopped part-way (an llm-trace bug); the report is incomplete".to_owned());
        }
        for (path, text) in [(&self.json, json), (&self.html, html)] {
            if let Err(error) = write_file(path, text.as_bytes()) {
                failures.push(format!(
                    "usage report: cannot write {}: {error}",
                    path.display()
                ));
                return failures;
            }
        }
        say(&format!(
            "llm-trace: usage report written to {} (numbers in {})",
            self.html.display(),
            self.json.display()
        ));
        failures
    }
}

/// The report's HTML and JSON paths for `path`, absolute, once checked; else why not.
fn check_target(path: &Path) -> Result<(PathBuf, PathBuf), String> {
    if path.as_os_str().is_empty() {
        return Err("expected the path of an HTML file, e.g. usage.html".into());
    }
    let html = std::path::absolute(path)
        .map_err(|error| format!("cannot make the path absolute: {error}"))?;
    if html
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"))
    {
        return Err("expected the HTML file's path: its JSON is written beside it, with the extension .json".into());
    }
    if html.is_dir() {
        return Err(
            "this is a directory: expected the path of an HTML file, e.g. usage.html".into(),
        );
    }
    let Some(directory) = html.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Err("expected the path of a file in a directory".into());
    };
    if !directory.is_dir() {
        return Err(format!(
            "the directory {} does not exist",
            directory.display()
        ));
    }
    probe(directory)
        .map_err(|error| format!("cannot create a file in {}: {error}", directory.display()))?;
    let json = html.with_extension("json");
    Ok((html, json))
}

/// Creates and removes a file in `directory`: whether the report could be written there.
fn probe(directory: &Path) -> std::io::Result<()> {
    let probe = directory.join(format!(".llm-trace-report-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

/// Writes `bytes` to `path` whole or not at all: to a temporary file beside it, renamed.
fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written =
        std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Says one line for people: at info level through llm-trace's diagnostics (`tracing`
/// or `log`) when a subscriber or logger takes it, else on standard error.
fn say(message: &str) {
    if !llm_trace_core::__llm_trace_diagnostic!(info, "{message}") {
        eprintln!("{message}");
    }
}

/// The sampler as `OTEL_TRACES_SAMPLER` names it.
fn sampler_name(sampling: Sampling) -> String {
    match sampling {
        Sampling::AlwaysOn => "always_on".into(),
        Sampling::AlwaysOff => "always_off".into(),
        Sampling::Ratio(ratio) => format!("traceidratio ({ratio})"),
        Sampling::ParentBasedAlwaysOn => "parentbased_always_on".into(),
        Sampling::ParentBasedAlwaysOff => "parentbased_always_off".into(),
        Sampling::ParentBasedRatio(ratio) => format!("parentbased_traceidratio ({ratio})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_goes_to_an_html_file_in_an_existing_writable_directory() {
        let directory =
            std::env::temp_dir().join(format!("llm-trace-report-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let (html, json) = check_target(&directory.join("usage.html")).unwrap();
        assert_eq!(html, directory.join("usage.html"));
        assert_eq!(json, directory.join("usage.json"));
        let (_, json) = check_target(&directory.join("report")).unwrap();
        assert_eq!(json, directory.join("report.json"));
        // The probe leaves nothing behind.
        assert_eq!(std::fs::read_dir(&directory).unwrap().count(), 0);

        let missing = directory.join("missing").join("usage.html");
        assert_eq!(
            check_target(&missing).unwrap_err(),
            format!(
                "the directory {} does not exist",
                directory.join("missing").display()
            )
        );
        assert!(check_target(&directory)
            .unwrap_err()
            .starts_with("this is a directory"));
        assert!(check_target(&directory.join("usage.json"))
            .unwrap_err()
            .contains("its JSON is written beside it"));
        assert!(check_target(Path::new("")).is_err());
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn a_file_is_replaced_whole() {
        let directory =
            std::env::temp_dir().join(format!("llm-trace-report-w-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("usage.html");
        write_file(&path, b"first").unwrap();
        write_file(&path, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(std::fs::read_dir(&directory).unwrap().count(), 1);
        std::fs::remove_dir_all(&directory).unwrap();
        assert!(write_file(&path, b"third").is_err());
    }
}
