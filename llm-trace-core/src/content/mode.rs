//! Where message content may be recorded: the capture mode.

use std::fmt;
use std::str::FromStr;

/// Where message content may be recorded. Off by default, as the GenAI conventions ask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CaptureMode {
    /// Never (the default).
    #[default]
    NoContent,
    /// As span attributes (`gen_ai.input.messages`, ...).
    SpanOnly,
    /// As `gen_ai.client.inference.operation.details` events.
    EventOnly,
    /// Both.
    SpanAndEvent,
}

impl CaptureMode {
    /// Whether content goes on spans.
    pub fn on_spans(self) -> bool {
        matches!(self, CaptureMode::SpanOnly | CaptureMode::SpanAndEvent)
    }

    /// Whether content goes in events.
    pub fn in_events(self) -> bool {
        matches!(self, CaptureMode::EventOnly | CaptureMode::SpanAndEvent)
    }

    /// The environment variable's spelling of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::NoContent => "NO_CONTENT",
            CaptureMode::SpanOnly => "SPAN_ONLY",
            CaptureMode::EventOnly => "EVENT_ONLY",
            CaptureMode::SpanAndEvent => "SPAN_AND_EVENT",
        }
    }
}

impl fmt::Display for CaptureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a capture mode llm-trace does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCaptureMode {
    value: String,
}

impl UnknownCaptureMode {
    /// The value that was not understood.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for UnknownCaptureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown content capture mode {:?}: expected true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT",
            self.value
        )
    }
}

impl std::error::Error for UnknownCaptureMode {}

impl FromStr for CaptureMode {
    type Err = UnknownCaptureMode;

    /// `true` means [`CaptureMode::SpanOnly`], `false` [`CaptureMode::NoContent`]; the
    /// mode names are case-insensitive.
    ///
    /// ```
    /// use llm_trace_core::content::CaptureMode;
    /// assert_eq!("true".parse(), Ok(CaptureMode::SpanOnly));
    /// assert_eq!("span_and_event".parse(), Ok(CaptureMode::SpanAndEvent));
    /// assert!("yes".parse::<CaptureMode>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_uppercase().as_str() {
            "TRUE" | "SPAN_ONLY" => Ok(CaptureMode::SpanOnly),
            "FALSE" | "NO_CONTENT" => Ok(CaptureMode::NoContent),
            "EVENT_ONLY" => Ok(CaptureMode::EventOnly),
            "SPAN_AND_EVENT" => Ok(CaptureMode::SpanAndEvent),
            _ => Err(UnknownCaptureMode {
                value: text.to_owned(),
            }),
        }
    }
}
