//! The usage side of one traced call: where it is counted (its function's frames, the
//! recorder's ledger, by key), found when the call is made; what it adds, when it ends; and
//! the budgets it made fire, acted on once its span ended.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};

use super::attribution::{self, Attribution};
use super::context_attributes::ContextAttributes;
use super::ledger::{Contribution, Crossed, Entry, KeyEntries, Ledger};
use super::metrics::CallMetrics;
use super::state::State;
use super::tracer::TracerSource;
use crate::budget::{BudgetAlert, BudgetKind};
use crate::pricing::usd_of_units;
use crate::semconv;

/// Where one call is counted.
pub(crate) struct Accounting {
    /// Whether the state's ledger counts it.
    counted: bool,
    attribution: Attribution,
    /// Boxed, and only when a usage key has a value here: a call's state moves several
    /// times, and most calls count by no key.
    keys: Option<Box<KeyEntries>>,
}

/// The value of `key` among the attributes a context carries.
fn value_in<'a>(attributes: Option<&'a [KeyValue]>, key: &str) -> Option<Cow<'a, str>> {
    attributes?
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str())
}

/// Whether `tracer` may make spans at all (the sampling decision aside): usage is counted
/// wherever llm-trace records something, sampled or not.
fn tracer_is_active(tracer: &TracerSource) -> bool {
    match tracer {
        TracerSource::Installed(_) => true,
        TracerSource::Global => tracer.is_live_global(),
        TracerSource::Off => false,
    }
}

impl Accounting {
    /// Where a call made now is counted; `None` when nowhere (no ledger, no frame).
    pub(crate) fn prepare(
        state: &State,
        attribution: Attribution,
        metrics_on: bool,
    ) -> Option<Accounting> {
        let ledger = state
            .usage
            .as_ref()
            .filter(|_| metrics_on || tracer_is_active(&state.tracer));
        if ledger.is_none() && attribution.frame.is_none() {
            return None;
        }
        let keys = match ledger {
            Some(ledger) if !ledger.keys().is_empty() => Context::map_current(|cx| {
                let attributes = ContextAttributes::of(cx)?;
                let entries = ledger.key_entries(|key| value_in(Some(attributes), key));
                entries
                    .iter()
                    .any(Option::is_some)
                    .then(|| Box::new(entries))
            }),
            _ => None,
        };
        Some(Accounting {
            counted: ledger.is_some(),
            attribution,
            keys,
        })
    }

    /// Whether the state's ledger counts the call (not only its functions' frames).
    pub(crate) fn counted(&self) -> bool {
        self.counted
    }

    /// Counts the call in the state's ledger alone, when nothing else counts it and
    /// nothing can fire — no frame (roll-up, function budget), no usage key value, no
    /// budget or threshold: the common case, without [`Accounting::settle`]'s machinery.
    /// Gives the call back otherwise.
    pub(crate) fn count_plain(
        self,
        state: &State,
        model: &str,
        call: &Contribution,
        pair: Option<&Entry>,
    ) -> Result<(), Accounting> {
        match &state.usage {
            Some(ledger)
                if self.counted
                    && self.attribution.frame.is_none()
                    && self.keys.is_none()
                    && ledger.is_plain() =>
            {
                ledger.account(model, self.function(), None, call, false, pair);
                Ok(())
            }
            _ => Err(self),
        }
    }

    /// `code.function.name` of the nearest annotated function.
    pub(crate) fn function(&self) -> Option<&'static str> {
        self.attribution.meta.map(|meta| meta.function)
    }

    /// Counts the call, made with `state` — in `pair`, its (function, model) entry, when the
    /// caller has it (see [`Ledger::account`]); says whether it is late, and what fired.
    pub(crate) fn settle(
        self,
        state: &State,
        model: &str,
        call: Contribution,
        pair: Option<&Entry>,
    ) -> Settled {
        let function = self.function();
        let mut late = false;
        let mut fired = Vec::new();
        let mut nearest_span: Option<Context> = None;
        let ledger = state.usage.as_ref().filter(|_| self.counted);
        let budgets_on = ledger.is_some();
        if let Some(frame) = &self.attribution.frame {
            for frame in frame.chain() {
                if nearest_span.is_none() {
                    nearest_span = frame.span().cloned();
                }
                let added = frame.add(&call);
                late |= !added.counted;
                if let (Some((limit, spent)), true) = (added.crossed, budgets_on) {
                    fired.push(Fired {
                        alert: alert(BudgetKind::Function, model, Some(frame.meta().function))
                            .usd(limit, spent),
                        target: frame.span().cloned(),
                    });
                }
            }
        }
        let Some(ledger) = ledger else {
            return Settled {
                late,
                fired,
                ledger: None,
            };
        };
        let keys = self.keys.as_deref();
        for crossed in ledger.account(model, function, keys, &call, late, pair) {
            let alert = match crossed {
                Crossed::Key(index, value, limit, spent) => {
                    let key = ledger.keys()[index].to_string();
                    BudgetAlert {
                        key: Some((key, value.into_string())),
                        ..alert(BudgetKind::Key, model, function).usd(limit, spent)
                    }
                }
                Crossed::Window(window, limit, spent) => BudgetAlert {
                    window: Some(window),
                    ..alert(BudgetKind::Window, model, function).usd(limit, spent)
                },
                Crossed::Total(limit, spent) => {
                    alert(BudgetKind::Total, model, function).usd(limit, spent)
                }
            };
            fired.push(Fired {
                alert,
                target: nearest_span.clone(),
            });
        }
        let budgets = &ledger.budgets;
        if let (Some(limit), Some(cost)) = (budgets.per_call, call.cost) {
            if cost > limit {
                fired.push(Fired {
                    alert: alert(BudgetKind::Call, model, function).usd(limit, cost),
                    target: nearest_span.clone(),
                });
            }
        }
        if let Some(latency) = call.latency {
            if let Some(threshold) = budgets.latency_threshold(model).filter(|t| latency > *t) {
                fired.push(Fired {
                    alert: BudgetAlert {
                        limit: threshold.as_secs_f64(),
                        value: latency.as_secs_f64(),
                        ..alert(BudgetKind::Latency, model, function)
                    },
                    target: nearest_span,
                });
            }
        }
        // From the narrowest budget to the widest (call, function, key, window, total),
        // then the slow-call alert.
        fired.sort_by_key(|fired| fired.alert.kind);
        Settled {
            late,
            // Only what fired needs the ledger afterwards.
            ledger: (!fired.is_empty()).then(|| Arc::clone(ledger)),
            fired,
        }
    }
}

fn alert(kind: BudgetKind, model: &str, function: Option<&'static str>) -> BudgetAlert {
    BudgetAlert {
        kind,
        limit: 0.0,
        value: 0.0,
        function,
        model: model.to_owned(),
        key: None,
        window: None,
    }
}

impl BudgetAlert {
    fn usd(self, limit: u128, value: u128) -> Self {
        BudgetAlert {
            limit: usd_of_units(limit),
            value: usd_of_units(value),
            ..self
        }
    }

    /// The attributes of the span event.
    fn event_attributes(&self) -> Vec<KeyValue> {
        let mut attributes = vec![
            KeyValue::new(semconv::LLM_TRACE_BUDGET_KIND, self.kind.as_str()),
            KeyValue::new(semconv::LLM_TRACE_BUDGET_LIMIT, self.limit),
            KeyValue::new(semconv::LLM_TRACE_BUDGET_VALUE, self.value),
            KeyValue::new(semconv::GEN_AI_REQUEST_MODEL, self.model.clone()),
        ];
        if let Some(window) = self.window {
            attributes.push(KeyValue::new(
                semconv::LLM_TRACE_BUDGET_WINDOW,
                window.as_secs_f64(),
            ));
        }
        if let Some((key, value)) = &self.key {
            attributes.push(KeyValue::new(semconv::LLM_TRACE_BUDGET_KEY, key.clone()));
            attributes.push(KeyValue::new(
                semconv::LLM_TRACE_BUDGET_KEY_VALUE,
                value.clone(),
            ));
        }
        if let Some(function) = self.function {
            attributes.push(KeyValue::new(semconv::CODE_FUNCTION_NAME, function));
        }
        attributes
    }
}

/// A budget that fired, and the function span its event goes on.
struct Fired {
    alert: BudgetAlert,
    target: Option<Context>,
}

/// A call counted: whether it was late for a function it ran under, and the budgets it
/// made fire.
pub(crate) struct Settled {
    pub(crate) late: bool,
    fired: Vec<Fired>,
    ledger: Option<Arc<Ledger>>,
}

impl Settled {
    /// Acts on the budgets that fired: span event, warning, metric, callback. Called once
    /// the call's span ended; never fails, never panics (a panicking callback is caught).
    pub(crate) fn fire(self, metrics: Option<&CallMetrics>) {
        let Some(ledger) = self.ledger else {
            return;
        };
        for Fired { alert, target } in self.fired {
            if let Some(cx) = &target {
                let span = cx.span();
                if span.is_recording() {
                    span.add_event(semconv::LLM_TRACE_BUDGET_EXCEEDED, alert.event_attributes());
                }
            }
            if let Some(held) = ledger.may_warn(alert.kind) {
                let more = match held {
                    0 => String::new(),
                    held => format!(
                        " ({held} more {} alerts since the last warning)",
                        alert.kind
                    ),
                };
                warn(&format!("llm-trace: {alert}{more}"));
            }
            if let Some(metrics) = metrics {
                metrics.record_budget_exceeded(alert.kind.as_str());
            }
            call_back(&ledger, &alert);
        }
    }
}

/// Calls the user's callback, catching a panic (the callback is then not called again).
fn call_back(ledger: &Ledger, alert: &BudgetAlert) {
    let Some(callback) = &ledger.budgets.callback else {
        return;
    };
    if ledger.callback_disabled() {
        return;
    }
    let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(alert)));
    if called.is_err() && ledger.callback_panicked() {
        crate::__llm_trace_diagnostic!(
            error,
            "llm-trace: the budget alert callback panicked; it will not be called again \
             (alerts are still warned about and counted)"
        );
    }
}

/// Prints one line for people: a root `tracing` event (feature `tracing`) or a `log`
/// record at warning level when a subscriber or logger takes it, else on standard error
/// (as the facade's export warnings). Never an event of the application's spans.
fn warn(message: &str) {
    if !crate::__llm_trace_diagnostic!(warn, "{message}") {
        eprintln!("{message}");
    }
}

/// Budgets that apply here, now: window and total budgets, the invocation budgets of the
/// annotated functions running on this thread, the key budgets of the current context's
/// values.
pub(crate) fn status(ledger: &Ledger) -> Vec<crate::budget::BudgetState> {
    let mut states = Context::map_current(|cx| {
        let attributes = ContextAttributes::of(cx);
        ledger.status(|key| value_in(attributes, key))
    });
    if let Some(frame) = attribution::current().frame {
        for frame in frame.chain() {
            if let Some((limit, spent)) = frame.budget_state() {
                states.push(crate::budget::BudgetState {
                    kind: BudgetKind::Function,
                    limit,
                    spent,
                    window: None,
                    function: Some(frame.meta().function),
                    key: None,
                });
            }
        }
    }
    states
}
