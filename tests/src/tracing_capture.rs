//! A `tracing` layer that records what a subscriber sees — spans with their fields and
//! parents, events with the span they land on — for the `tracing` integration tests.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A span as the subscriber saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenSpan {
    pub name: String,
    pub target: String,
    pub level: tracing::Level,
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Field values as `Debug` text (strings quoted), recorded ones included.
    pub fields: BTreeMap<String, String>,
    /// The name of the parent span, if any.
    pub parent: Option<String>,
}

/// An event as the subscriber saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenEvent {
    pub target: String,
    pub level: tracing::Level,
    /// The `message` field.
    pub message: String,
    /// The names of the spans it is inside, innermost first.
    pub scope: Vec<String>,
    /// Made with `parent: None`.
    pub explicit_root: bool,
    /// The thread it was emitted on.
    pub thread: Option<String>,
    /// Whether OpenTelemetry telemetry was suppressed where it was emitted.
    pub telemetry_suppressed: bool,
}

#[derive(Default)]
struct Seen {
    spans: Vec<(u64, SeenSpan)>,
    events: Vec<SeenEvent>,
}

/// Records spans and events; clones share the record.
#[derive(Clone, Default)]
pub struct CaptureLayer {
    seen: Arc<Mutex<Seen>>,
    /// Only events whose target starts with this (all when empty).
    events_from: Arc<str>,
}

impl CaptureLayer {
    /// A layer recording every span and event.
    pub fn new() -> Self {
        CaptureLayer::default()
    }

    /// A layer recording every span, and only the events whose target starts with `prefix`.
    pub fn events_from(prefix: &str) -> Self {
        CaptureLayer {
            events_from: prefix.into(),
            ..CaptureLayer::default()
        }
    }

    /// The spans seen, in creation order.
    pub fn spans(&self) -> Vec<SeenSpan> {
        let seen = self.seen.lock().unwrap();
        seen.spans.iter().map(|(_, span)| span.clone()).collect()
    }

    /// The one span named `name`.
    pub fn span(&self, name: &str) -> SeenSpan {
        let found: Vec<SeenSpan> = self
            .spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect();
        assert_eq!(found.len(), 1, "one span named {name}: {found:#?}");
        found.into_iter().next().unwrap()
    }

    /// The events seen, in order.
    pub fn events(&self) -> Vec<SeenEvent> {
        self.seen.lock().unwrap().events.clone()
    }
}

/// Field values as text.
struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .map(|parent| parent.name().to_owned());
        let span = SeenSpan {
            name: meta.name().to_owned(),
            target: meta.target().to_owned(),
            level: *meta.level(),
            file: meta.file().map(str::to_owned),
            line: meta.line(),
            fields,
            parent,
        };
        self.seen.lock().unwrap().spans.push((id.into_u64(), span));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut seen = self.seen.lock().unwrap();
        if let Some((_, span)) = seen
            .spans
            .iter_mut()
            .rev()
            .find(|(i, _)| *i == id.into_u64())
        {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with(&*self.events_from) {
            return;
        }
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let scope = ctx
            .event_scope(event)
            .map(|scope| scope.map(|span| span.name().to_owned()).collect())
            .unwrap_or_default();
        let seen = SeenEvent {
            target: meta.target().to_owned(),
            level: *meta.level(),
            message: fields.remove("message").unwrap_or_default(),
            scope,
            explicit_root: event.is_root(),
            thread: std::thread::current().name().map(str::to_owned),
            telemetry_suppressed: opentelemetry::Context::is_current_telemetry_suppressed(),
        };
        self.seen.lock().unwrap().events.push(seen);
    }
}
