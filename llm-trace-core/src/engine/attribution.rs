//! Which annotated function a call is made in, and the roll-up of a function's calls onto
//! its span.
//!
//! While an annotated function runs — its sync body, each poll of its future, work it hands
//! off — a thread-local slot holds its [`FnMeta`] (a `&'static`: setting it allocates
//! nothing) and, when it has one, its invocation's [`Frame`]: the totals of the calls under
//! it, a link to the enclosing function's frame, its budget. A call reads the slot where it
//! is made; when it ends, it adds itself to every frame of that chain still open, and the
//! function's span gets `llm_trace.total.*` as it ends.
//!
//! A frame exists only when it is needed: the function's span records (roll-up), a budget
//! applies to it, or its span does not record but its `fields(...)` hold usage keys (then
//! they are carried in a context of their own, so calls under a sampled-out function are
//! still counted by key). A call that ends after a function of its chain returned (a stream
//! consumed by the caller) cannot change that function's ended span: it counts in the
//! frames still open and in the usage snapshot, and its own span says `llm_trace.late`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use opentelemetry::trace::{SpanRef, TraceContextExt};
use opentelemetry::{Context, ContextGuard, KeyValue};

use super::context_attributes::with_attributes;
use super::function::{Fields, FnMeta};
use super::ledger::{self, Contribution};
use super::response::saturating_i64;
use super::state;
use super::sync;
use crate::pricing::{units_of_usd, usd_of_units};
use crate::semconv;

/// The totals a function span carries (`llm_trace.total.*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RollUp {
    calls: u64,
    errors: u64,
    input_tokens: u64,
    output_tokens: u64,
    with_usage: u64,
    with_output: u64,
    cost: u128,
    priced: u64,
    unpriced: u64,
    without_usage: u64,
}

impl RollUp {
    fn add(&mut self, call: &Contribution) {
        self.calls = self.calls.saturating_add(1);
        self.errors = self.errors.saturating_add(u64::from(call.error));
        match call.usage {
            Some((input, output)) => {
                self.with_usage += 1;
                self.input_tokens = self.input_tokens.saturating_add(input);
                if let Some(output) = output {
                    self.with_output += 1;
                    self.output_tokens = self.output_tokens.saturating_add(output);
                }
                match call.cost {
                    Some(cost) => {
                        self.priced += 1;
                        self.cost = self.cost.saturating_add(cost);
                    }
                    None => self.unpriced += 1,
                }
            }
            None if !call.error => self.without_usage += 1,
            None => {}
        }
    }

    /// The span attributes: calls and errors always; tokens and cost when a call reported
    /// them (never a silent 0); what is left out of them when not 0.
    pub(crate) fn attributes(&self) -> impl Iterator<Item = KeyValue> {
        let count = |key: &'static str, value: u64| KeyValue::new(key, saturating_i64(value));
        let unless_zero = |key: &'static str, value: u64| (value > 0).then(|| count(key, value));
        [
            Some(count(semconv::LLM_TRACE_TOTAL_CALLS, self.calls)),
            Some(count(semconv::LLM_TRACE_TOTAL_ERRORS, self.errors)),
            (self.with_usage > 0)
                .then(|| count(semconv::LLM_TRACE_TOTAL_INPUT_TOKENS, self.input_tokens)),
            (self.with_output > 0)
                .then(|| count(semconv::LLM_TRACE_TOTAL_OUTPUT_TOKENS, self.output_tokens)),
            (self.priced > 0)
                .then(|| KeyValue::new(semconv::LLM_TRACE_TOTAL_COST, usd_of_units(self.cost))),
            unless_zero(semconv::LLM_TRACE_TOTAL_CALLS_UNPRICED, self.unpriced),
            unless_zero(
                semconv::LLM_TRACE_TOTAL_CALLS_WITHOUT_USAGE,
                self.without_usage,
            ),
        ]
        .into_iter()
        .flatten()
    }
}

/// One invocation of an annotated function, as the calls under it see it.
pub(crate) struct Frame {
    meta: &'static FnMeta,
    /// The frame of the nearest enclosing annotated function that has one.
    parent: Option<Arc<Frame>>,
    /// The function's context when its span records: the span gets the totals and the
    /// budget events.
    span: Option<Context>,
    /// The invocation's budget, 10⁻¹⁵ USD.
    budget: Option<u128>,
    /// The id handed-off work finds the frame by (0: not registered).
    id: u64,
    /// The context handed-off work runs under when the function's span does not record
    /// but its fields carry usage keys.
    context: Option<Context>,
    state: Mutex<FrameState>,
}

#[derive(Default)]
struct FrameState {
    closed: bool,
    totals: RollUp,
    fired: bool,
}

/// What adding a call to a frame did.
pub(crate) struct Added {
    /// `false` when the function had returned: the call is late for it.
    pub(crate) counted: bool,
    /// The budget and what the invocation has spent, when the call made it fire.
    pub(crate) crossed: Option<(u128, u128)>,
}

impl Frame {
    /// Adds a call, unless the function returned.
    pub(crate) fn add(&self, call: &Contribution) -> Added {
        let mut state = sync::lock(&self.state);
        if state.closed {
            return Added {
                counted: false,
                crossed: None,
            };
        }
        state.totals.add(call);
        let crossed = match self.budget {
            Some(limit) if !state.fired && state.totals.cost > limit => {
                state.fired = true;
                Some((limit, state.totals.cost))
            }
            _ => None,
        };
        Added {
            counted: true,
            crossed,
        }
    }

    /// The totals, once: later calls are late.
    fn close(&self) -> RollUp {
        let mut state = sync::lock(&self.state);
        state.closed = true;
        state.totals
    }

    /// The function's static facts.
    pub(crate) fn meta(&self) -> &'static FnMeta {
        self.meta
    }

    /// The function's recording span, in its context.
    pub(crate) fn span(&self) -> Option<&Context> {
        self.span.as_ref()
    }

    /// The budget and what this invocation spent so far, when it has one.
    pub(crate) fn budget_state(&self) -> Option<(u128, u128)> {
        let limit = self.budget?;
        Some((limit, sync::lock(&self.state).totals.cost))
    }

    /// This frame and the frames of the functions around it, innermost first.
    pub(crate) fn chain(&self) -> impl Iterator<Item = &Frame> {
        std::iter::successors(Some(self), |frame| frame.parent.as_deref())
    }
}

/// What calls made here are attributed to: the nearest annotated function, and the nearest
/// frame (its own, else an enclosing function's).
#[derive(Clone, Default)]
pub(crate) struct Attribution {
    pub(crate) meta: Option<&'static FnMeta>,
    pub(crate) frame: Option<Arc<Frame>>,
}

thread_local! {
    static CURRENT: RefCell<Attribution> = const {
        RefCell::new(Attribution { meta: None, frame: None })
    };
}

/// What calls made on this thread now are attributed to.
#[inline]
pub(crate) fn current() -> Attribution {
    CURRENT
        .try_with(|current| current.try_borrow().map(|a| a.clone()).unwrap_or_default())
        .unwrap_or_default()
}

/// The nearest annotated function running on this thread.
fn current_meta() -> Option<&'static FnMeta> {
    CURRENT
        .try_with(|current| current.try_borrow().ok().and_then(|a| a.meta))
        .ok()
        .flatten()
}

/// Puts the previous attribution back when dropped (and detaches its context).
#[must_use]
pub(crate) struct Entered {
    previous: Option<Attribution>,
    _context: Option<ContextGuard>,
}

impl std::fmt::Debug for Entered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Entered")
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            let _ = CURRENT.try_with(|current| {
                if let Ok(mut current) = current.try_borrow_mut() {
                    *current = previous;
                }
            });
        }
    }
}

fn enter(attribution: &Attribution, context: Option<&Context>) -> Entered {
    let previous = CURRENT
        .try_with(|current| {
            current
                .try_borrow_mut()
                .ok()
                .map(|mut current| std::mem::replace(&mut *current, attribution.clone()))
        })
        .ok()
        .flatten();
    Entered {
        previous,
        _context: context.map(|cx| cx.clone().attach()),
    }
}

/// Frames handed-off work may look for, by id, while their function runs.
fn registry() -> &'static RwLock<HashMap<u64, Arc<Frame>>> {
    static FRAMES: OnceLock<RwLock<HashMap<u64, Arc<Frame>>>> = OnceLock::new();
    FRAMES.get_or_init(RwLock::default)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// An annotated function's attribution as work it hands off carries it (`Copy`): its
/// [`FnMeta`] and its frame's id.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Link {
    meta: Option<&'static FnMeta>,
    frame: u64,
}

impl PartialEq for Link {
    fn eq(&self, other: &Link) -> bool {
        let same_meta = match (self.meta, other.meta) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same_meta && self.frame == other.frame
    }
}

impl Eq for Link {}

impl Link {
    /// No function.
    pub(crate) const NONE: Link = Link {
        meta: None,
        frame: 0,
    };

    /// The attribution of this thread now.
    pub(crate) fn current() -> Link {
        CURRENT
            .try_with(|current| {
                current.try_borrow().ok().map(|a| Link {
                    meta: a.meta,
                    frame: a.frame.as_ref().map_or(0, |frame| frame.id),
                })
            })
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Makes the linked function's attribution current for handed-off work, unless it runs
    /// where it was written (inside the function already).
    pub(crate) fn enter(self) -> Option<Entered> {
        let meta = self.meta?;
        if current_meta().is_some() {
            return None;
        }
        let frame = match self.frame {
            0 => None,
            id => sync::read(registry()).get(&id).cloned(),
        };
        let context = frame.as_ref().and_then(|frame| frame.context.clone());
        let attribution = Attribution {
            meta: Some(meta),
            frame,
        };
        Some(enter(&attribution, context.as_ref()))
    }
}

/// The attribution part of an annotated function's invocation, held with its span.
#[derive(Default)]
pub(crate) struct FnUsage {
    attribution: Attribution,
    /// Whether `attribution.frame` is this invocation's own (closed when it ends).
    own: bool,
    /// The context its body runs under when its span does not record but its fields
    /// carry usage keys.
    context: Option<Context>,
}

impl std::fmt::Debug for FnUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnUsage")
            .field("function", &self.attribution.meta.map(|meta| meta.function))
            .field("own_frame", &self.own)
            .finish()
    }
}

impl FnUsage {
    /// Starts an invocation of `meta`: its span's context is `cx` (`None` without a
    /// span), recording or not.
    pub(crate) fn start(
        meta: &'static FnMeta,
        fields: Fields<'_>,
        cx: Option<&Context>,
    ) -> FnUsage {
        let outer = current();
        let recording = cx.is_some_and(|cx| cx.span().is_recording());
        let (budget, key_fields) = if ledger::function_settings_exist() {
            Self::settings(meta, fields, recording)
        } else {
            // No recorder has function budgets or usage keys: only the attribute's budget,
            // when the recorder counts usage at all.
            let budget = meta.budget_usd.and_then(units_of_usd);
            let budget = budget.filter(|_| state::with(|state| state.usage.is_some()));
            (budget, Vec::new())
        };
        Self::start_with(meta, cx, outer, recording, budget, key_fields)
    }

    /// The invocation's budget and, when its span does not record, the fields holding usage
    /// keys.
    fn settings(
        meta: &'static FnMeta,
        fields: Fields<'_>,
        recording: bool,
    ) -> (Option<u128>, Vec<KeyValue>) {
        state::with(|state| {
            let Some(ledger) = &state.usage else {
                return (None, Vec::new());
            };
            let budget = ledger
                .budgets
                .function_limit(meta.function)
                .or_else(|| meta.budget_usd.and_then(units_of_usd));
            let keys = ledger.keys();
            let key_fields = match fields {
                Some(fields) if !recording && !keys.is_empty() => fields()
                    .into_iter()
                    .flatten()
                    .filter(|kv| keys.iter().any(|key| **key == *kv.key.as_str()))
                    .collect(),
                _ => Vec::new(),
            };
            (budget, key_fields)
        })
    }

    /// Starts an invocation of `meta` (see [`FnUsage::start`]), its budget and key fields
    /// decided.
    fn start_with(
        meta: &'static FnMeta,
        cx: Option<&Context>,
        outer: Attribution,
        recording: bool,
        budget: Option<u128>,
        key_fields: Vec<KeyValue>,
    ) -> FnUsage {
        let context = (!key_fields.is_empty()).then(|| match cx {
            Some(cx) => with_attributes(cx, key_fields),
            None => Context::map_current(|current| with_attributes(current, key_fields)),
        });
        if !recording && budget.is_none() && context.is_none() {
            return FnUsage {
                attribution: Attribution {
                    meta: Some(meta),
                    frame: outer.frame,
                },
                own: false,
                context: None,
            };
        }
        let id = if meta.hands_off {
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        let frame = Arc::new(Frame {
            meta,
            parent: outer.frame,
            span: cx.filter(|_| recording).cloned(),
            budget,
            id,
            context: context.clone(),
            state: Mutex::default(),
        });
        if id != 0 {
            sync::write(registry()).insert(id, Arc::clone(&frame));
        }
        FnUsage {
            attribution: Attribution {
                meta: Some(meta),
                frame: Some(frame),
            },
            own: true,
            context,
        }
    }

    /// Whether the invocation has a frame of its own to close when it ends.
    pub(crate) fn has_frame(&self) -> bool {
        self.own
    }

    /// Makes the invocation's attribution current on this thread (for the sync body, or
    /// one poll of its future).
    #[inline]
    pub(crate) fn enter(&self) -> Option<Entered> {
        self.attribution.meta?;
        Some(enter(&self.attribution, self.context.as_ref()))
    }

    /// The link handed-off work carries.
    pub(crate) fn link(&self) -> Link {
        Link {
            meta: self.attribution.meta,
            frame: self
                .attribution
                .frame
                .as_ref()
                .filter(|_| self.own)
                .map_or(0, |frame| frame.id),
        }
    }

    /// Ends the invocation: its frame closes, and its totals go on `span` (the function's
    /// span, when it records) before it ends.
    pub(crate) fn close(&mut self, span: Option<&SpanRef<'_>>) {
        if !std::mem::take(&mut self.own) {
            return;
        }
        let Some(frame) = self.attribution.frame.take() else {
            return;
        };
        let totals = frame.close();
        if frame.id != 0 {
            sync::write(registry()).remove(&frame.id);
        }
        if let (Some(span), true) = (span, frame.span.is_some()) {
            span.set_attributes(totals.attributes());
        }
    }
}
