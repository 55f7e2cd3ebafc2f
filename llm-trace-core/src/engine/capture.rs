//! Opt-in content of one call: the input rendered before the request, the output added
//! when the call ends, on the span and/or in the details event.

use opentelemetry::trace::SpanRef;
use opentelemetry::KeyValue;

use super::state::State;
use crate::content::{CaptureMode, ContentPolicy, Message};
use crate::provider::TracedCall;
use crate::semconv;

/// The content side of a call when capture is on and the span records.
pub(crate) struct CallContent {
    mode: CaptureMode,
    policy: ContentPolicy,
    /// The rendered input; `None` once the redaction hook failed: then nothing of this
    /// call's content is recorded.
    input: Option<Vec<KeyValue>>,
}

impl CallContent {
    /// The call's content, when the state captures any.
    pub(crate) fn prepare<C: TracedCall>(state: &State, args: &C::Args) -> Option<CallContent> {
        if state.capture == CaptureMode::NoContent {
            return None;
        }
        let policy = state.policy.clone();
        let input = policy.render_input(&C::input_content(args)).ok();
        Some(CallContent {
            mode: state.capture,
            policy,
            input,
        })
    }

    /// Attributes for the span's start: the input when content goes on spans.
    pub(crate) fn start_attributes(&self) -> Vec<KeyValue> {
        match &self.input {
            None => vec![KeyValue::new(
                semconv::LLM_TRACE_CONTENT_REDACTION_FAILED,
                true,
            )],
            Some(input) if self.mode.on_spans() => input.clone(),
            Some(_) => Vec::new(),
        }
    }

    /// Records the output (on the span and/or in the details event) as the call ends.
    pub(crate) fn finish(self, span: &SpanRef<'_>, output: &[Message]) {
        let Some(input) = self.input else {
            return;
        };
        let output = match self.policy.render_output(output) {
            Ok(output) => output,
            Err(_) => {
                span.set_attribute(KeyValue::new(
                    semconv::LLM_TRACE_CONTENT_REDACTION_FAILED,
                    true,
                ));
                return;
            }
        };
        if self.mode.on_spans() {
            span.set_attributes(output.iter().cloned());
        }
        if self.mode.in_events() {
            let mut attributes = input;
            attributes.extend(output);
            span.add_event(
                semconv::GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS,
                attributes,
            );
        }
    }
}
