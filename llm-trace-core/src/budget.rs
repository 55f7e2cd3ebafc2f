//! Budgets and alerts: cost thresholds per call, per function invocation, per context key
//! value, per rolling window and for the whole process, and latency thresholds per model.
//!
//! Crossing one never blocks or changes the call. It adds an `llm_trace.budget.exceeded`
//! event to the nearest annotated function's span (when it records), emits a warning (at
//! most one a minute per kind of budget, counting the ones held back), increments the
//! `llm_trace.budget.exceeded` metric (attribute `llm_trace.budget.kind`), and calls the
//! callback given to [`Budgets::on_exceeded`].
//!
//! Each budget fires exactly once per window:
//!
//! | kind | fires |
//! |---|---|
//! | [`BudgetKind::Call`] | for each call that costs more than the limit |
//! | [`BudgetKind::Function`] | once per invocation of the function, when its calls (nested annotated functions included) have cost more than the limit |
//! | [`BudgetKind::Key`] | once per value of the key (say, per conversation), when its calls have cost more than the limit |
//! | [`BudgetKind::Window`] | when the calls of the last `window` cost more than the limit; then not again until `window` has passed |
//! | [`BudgetKind::Total`] | once, when every call together has cost more than the limit |
//! | [`BudgetKind::Latency`] | for each finished call of the model that took longer than the threshold |
//!
//! A program that must refuse work over a budget asks before calling: `llm_trace::usage()`
//! and `llm_trace::budget_status()` (the window, total, function and key budgets that apply
//! where it is asked).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::pricing::{units_of_usd, usd_of_units};

/// What kind of budget an alert is about (`llm_trace.budget.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BudgetKind {
    /// `call`: the cost of one call.
    Call,
    /// `function`: the cost of one invocation of an annotated function.
    Function,
    /// `key`: the cost of one value of a usage key (a conversation, a user).
    Key,
    /// `window`: the cost of a rolling window (the last hour, say).
    Window,
    /// `total`: the cost of every call since the start (or the last usage reset).
    Total,
    /// `latency`: how long one call of a model took.
    Latency,
}

impl BudgetKind {
    /// Every kind.
    pub const ALL: [BudgetKind; 6] = [
        BudgetKind::Call,
        BudgetKind::Function,
        BudgetKind::Key,
        BudgetKind::Window,
        BudgetKind::Total,
        BudgetKind::Latency,
    ];

    /// The `llm_trace.budget.kind` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            BudgetKind::Call => "call",
            BudgetKind::Function => "function",
            BudgetKind::Key => "key",
            BudgetKind::Window => "window",
            BudgetKind::Total => "total",
            BudgetKind::Latency => "latency",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for BudgetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A budget value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetError {
    setting: &'static str,
    value: String,
    reason: &'static str,
}

impl BudgetError {
    fn new(setting: &'static str, value: impl fmt::Display, reason: &'static str) -> Self {
        BudgetError {
            setting,
            value: value.to_string(),
            reason,
        }
    }

    /// The setting, as the [`Budgets`] method that was given the value.
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for BudgetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid budget {}({}): {}",
            self.setting, self.value, self.reason
        )
    }
}

impl std::error::Error for BudgetError {}

const USD_REASON: &str = "expected an amount of USD from 0 to 1000000000";

fn limit(setting: &'static str, usd: f64) -> Result<u128, BudgetError> {
    units_of_usd(usd).ok_or_else(|| BudgetError::new(setting, usd, USD_REASON))
}

/// Called with every alert.
pub type BudgetCallback = Arc<dyn Fn(&BudgetAlert) + Send + Sync>;

/// The time the rolling windows are measured with: any monotonic clock, as a duration
/// since an origin of its own.
pub type BudgetClock = Arc<dyn Fn() -> Duration + Send + Sync>;

/// The budgets of a recorder (see the [module docs](self)). Amounts are USD, kept to the
/// nano-dollar.
///
/// ```
/// use std::time::Duration;
/// use llm_trace_core::budget::Budgets;
/// let budgets = Budgets::new()
///     .per_call_usd(0.01)?
///     .per_window_usd(Duration::from_secs(3600), 5.0)?
///     .total_usd(100.0)?
///     .per_key_usd("gen_ai.conversation.id", 0.5)?
///     .latency("mistral-large-latest", Duration::from_secs(10))
///     .on_exceeded(|alert| eprintln!("{alert}"));
/// # Ok::<(), llm_trace_core::budget::BudgetError>(())
/// ```
#[derive(Clone, Default)]
pub struct Budgets {
    pub(crate) per_call: Option<u128>,
    pub(crate) total: Option<u128>,
    pub(crate) windows: Vec<(Duration, u128)>,
    pub(crate) keys: Vec<(String, u128)>,
    pub(crate) functions: Vec<(String, u128)>,
    pub(crate) latency: Vec<(String, Duration)>,
    pub(crate) callback: Option<BudgetCallback>,
    pub(crate) clock: Option<BudgetClock>,
}

impl fmt::Debug for Budgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let usd = |units: &Option<u128>| units.map(usd_of_units);
        f.debug_struct("Budgets")
            .field("per_call_usd", &usd(&self.per_call))
            .field("total_usd", &usd(&self.total))
            .field(
                "windows",
                &self
                    .windows
                    .iter()
                    .map(|(window, units)| (window, usd_of_units(*units)))
                    .collect::<Vec<_>>(),
            )
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(|(key, units)| (key, usd_of_units(*units)))
                    .collect::<Vec<_>>(),
            )
            .field(
                "functions",
                &self
                    .functions
                    .iter()
                    .map(|(name, units)| (name, usd_of_units(*units)))
                    .collect::<Vec<_>>(),
            )
            .field("latency", &self.latency)
            .field("callback", &self.callback.is_some())
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

impl Budgets {
    /// No budget at all.
    pub fn new() -> Self {
        Budgets::default()
    }

    /// Whether no budget or threshold is set.
    pub fn is_empty(&self) -> bool {
        self.per_call.is_none()
            && self.total.is_none()
            && self.windows.is_empty()
            && self.keys.is_empty()
            && self.functions.is_empty()
            && self.latency.is_empty()
    }

    /// Alerts on each call that costs more than `usd`.
    pub fn per_call_usd(mut self, usd: f64) -> Result<Self, BudgetError> {
        self.per_call = Some(limit("per_call_usd", usd)?);
        Ok(self)
    }

    /// Alerts once when every call together has cost more than `usd` (since the start, or
    /// the last usage reset).
    pub fn total_usd(mut self, usd: f64) -> Result<Self, BudgetError> {
        self.total = Some(limit("total_usd", usd)?);
        Ok(self)
    }

    /// Alerts when the calls of the last `window` (one second to 366 days, measured to a
    /// sixtieth of it) have cost more than `usd`; then not again until `window` has passed.
    /// A window given twice keeps the last amount.
    pub fn per_window_usd(mut self, window: Duration, usd: f64) -> Result<Self, BudgetError> {
        if !(Duration::from_secs(1)..=Duration::from_secs(366 * 86_400)).contains(&window) {
            return Err(BudgetError::new(
                "per_window_usd",
                format!("{window:?}"),
                "expected a window from one second to 366 days",
            ));
        }
        let units = limit("per_window_usd", usd)?;
        self.windows.retain(|(known, _)| *known != window);
        self.windows.push((window, units));
        Ok(self)
    }

    /// Alerts once per value of the usage key `key` (say `gen_ai.conversation.id`) whose
    /// calls have cost more than `usd`. The key is counted in the usage snapshot too. Values
    /// past the usage cap share the `other` bucket and have no budget of their own.
    pub fn per_key_usd(mut self, key: impl Into<String>, usd: f64) -> Result<Self, BudgetError> {
        let key = key.into();
        if key.trim().is_empty() {
            return Err(BudgetError::new("per_key_usd", key, "the key is empty"));
        }
        let units = limit("per_key_usd", usd)?;
        self.keys.retain(|(known, _)| *known != key);
        self.keys.push((key, units));
        Ok(self)
    }

    /// Alerts once per invocation of the annotated function named `function` (its
    /// `code.function.name`, `module::path::function`) whose calls have cost more than
    /// `usd`. Overrides the function's `#[llm_trace(budget_usd = ..)]`.
    pub fn per_function_usd(
        mut self,
        function: impl Into<String>,
        usd: f64,
    ) -> Result<Self, BudgetError> {
        let function = function.into();
        if function.trim().is_empty() {
            return Err(BudgetError::new(
                "per_function_usd",
                function,
                "the function name is empty",
            ));
        }
        let units = limit("per_function_usd", usd)?;
        self.functions.retain(|(known, _)| *known != function);
        self.functions.push((function, units));
        Ok(self)
    }

    /// Alerts on each finished call of `model` (`gen_ai.request.model`; `*` for every model
    /// without a threshold of its own) that took longer than `threshold`.
    pub fn latency(mut self, model: impl Into<String>, threshold: Duration) -> Self {
        let model = model.into();
        self.latency.retain(|(known, _)| *known != model);
        self.latency.push((model, threshold));
        self
    }

    /// Calls `callback` with every alert, on the thread that ended the call, after the
    /// call's span ended. It must be quick and must not block; a callback that panics is
    /// not called again (its panic is printed once).
    pub fn on_exceeded(mut self, callback: impl Fn(&BudgetAlert) + Send + Sync + 'static) -> Self {
        self.callback = Some(Arc::new(callback));
        self
    }

    /// Sets (or removes) the callback from a shared one.
    pub fn with_callback(mut self, callback: Option<BudgetCallback>) -> Self {
        self.callback = callback;
        self
    }

    /// Measures the rolling windows with `clock` (a monotonic time since an origin of its
    /// own) instead of the system's monotonic clock: for tests, which can then move time
    /// forward instead of waiting an hour.
    pub fn clock(mut self, clock: impl Fn() -> Duration + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The limit of one invocation of `function`, in 10⁻¹⁵ USD.
    pub(crate) fn function_limit(&self, function: &str) -> Option<u128> {
        self.functions
            .iter()
            .find(|(name, _)| name == function)
            .map(|(_, units)| *units)
    }

    /// The latency threshold of `model`.
    pub(crate) fn latency_threshold(&self, model: &str) -> Option<Duration> {
        self.latency
            .iter()
            .find(|(known, _)| known == model)
            .or_else(|| self.latency.iter().find(|(known, _)| known == "*"))
            .map(|(_, threshold)| *threshold)
    }
}

/// One budget crossed (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetAlert {
    pub(crate) kind: BudgetKind,
    pub(crate) limit: f64,
    pub(crate) value: f64,
    pub(crate) function: Option<&'static str>,
    pub(crate) model: String,
    pub(crate) key: Option<(String, String)>,
    pub(crate) window: Option<Duration>,
}

impl BudgetAlert {
    /// The kind of budget.
    pub fn kind(&self) -> BudgetKind {
        self.kind
    }

    /// The limit: USD, or seconds for [`BudgetKind::Latency`].
    pub fn limit(&self) -> f64 {
        self.limit
    }

    /// What crossed it: USD spent (the call's cost for [`BudgetKind::Call`], the total so far
    /// for the others), or the call's seconds for [`BudgetKind::Latency`].
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The annotated function: the one whose budget it is for [`BudgetKind::Function`],
    /// else the nearest one of the call that crossed the budget (`None` outside any).
    pub fn function(&self) -> Option<&'static str> {
        self.function
    }

    /// The model of the call that crossed the budget (`gen_ai.request.model`).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The usage key and its value, for [`BudgetKind::Key`].
    pub fn key(&self) -> Option<(&str, &str)> {
        self.key
            .as_ref()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// The window, for [`BudgetKind::Window`].
    pub fn window(&self) -> Option<Duration> {
        self.window
    }
}

fn usd(value: f64) -> String {
    format!("${value}")
}

/// A window as people say it: `1 h`, `30 min`, `1 d`, `90 s`.
pub(crate) fn display_duration(window: Duration) -> String {
    let seconds = window.as_secs();
    match seconds {
        0 => format!("{window:?}"),
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

impl fmt::Display for BudgetAlert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let function = self.function.unwrap_or("code outside annotated functions");
        let (limit, value) = (usd(self.limit), usd(self.value));
        match self.kind {
            BudgetKind::Call => write!(
                f,
                "budget exceeded: a {} call in {function} cost {value}, over the per-call budget of {limit}",
                self.model
            ),
            BudgetKind::Function => write!(
                f,
                "budget exceeded: one invocation of {function} has cost {value}, over its budget of {limit}"
            ),
            BudgetKind::Key => {
                let (key, key_value) = self.key().unwrap_or(("?", "?"));
                write!(
                    f,
                    "budget exceeded: {key}={key_value} has cost {value}, over the per-{key} budget of {limit}"
                )
            }
            BudgetKind::Window => write!(
                f,
                "budget exceeded: the calls of the last {} have cost {value}, over the budget of {limit}",
                display_duration(self.window.unwrap_or_default())
            ),
            BudgetKind::Total => write!(
                f,
                "budget exceeded: every call together has cost {value}, over the total budget of {limit}"
            ),
            BudgetKind::Latency => write!(
                f,
                "slow call: a {} call in {function} took {:.3} s, over the threshold of {:.3} s",
                self.model, self.value, self.limit
            ),
        }
    }
}

/// The state of one budget, in a [`BudgetStatus`].
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetState {
    pub(crate) kind: BudgetKind,
    pub(crate) limit: u128,
    pub(crate) spent: u128,
    pub(crate) window: Option<Duration>,
    pub(crate) function: Option<&'static str>,
    pub(crate) key: Option<(String, String)>,
}

impl BudgetState {
    /// The kind: window, total, function or key.
    pub fn kind(&self) -> BudgetKind {
        self.kind
    }

    /// The limit, USD.
    pub fn limit_usd(&self) -> f64 {
        usd_of_units(self.limit)
    }

    /// Spent so far against it (in the window, since the start, in this invocation, by this
    /// key value), USD.
    pub fn spent_usd(&self) -> f64 {
        usd_of_units(self.spent)
    }

    /// What is left before the limit is crossed (0 once it is), USD.
    pub fn remaining_usd(&self) -> f64 {
        usd_of_units(self.limit.saturating_sub(self.spent))
    }

    /// Whether more than the limit was spent.
    pub fn exceeded(&self) -> bool {
        self.spent > self.limit
    }

    /// The window, for a window budget.
    pub fn window(&self) -> Option<Duration> {
        self.window
    }

    /// The function, for a function budget.
    pub fn function(&self) -> Option<&'static str> {
        self.function
    }

    /// The key and its value here, for a key budget.
    pub fn key(&self) -> Option<(&str, &str)> {
        self.key
            .as_ref()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

/// The budgets that apply where it was asked for: the window and total budgets, the budgets
/// of the annotated functions running there (this invocation's spending), and the key
/// budgets of the key values in the current context.
///
/// ```
/// use llm_trace_core::__private::Recorder;
/// use llm_trace_core::budget::Budgets;
/// let recorder = Recorder::builder()
///     .budgets(Budgets::new().total_usd(1.0).unwrap())
///     .build();
/// let status = recorder.budget_status();
/// assert!(!status.any_exceeded());
/// assert_eq!(status.total().unwrap().remaining_usd(), 1.0);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BudgetStatus {
    pub(crate) budgets: Vec<BudgetState>,
}

impl BudgetStatus {
    /// Whether any of them is exceeded.
    pub fn any_exceeded(&self) -> bool {
        self.budgets.iter().any(BudgetState::exceeded)
    }

    /// All of them.
    pub fn budgets(&self) -> &[BudgetState] {
        &self.budgets
    }

    /// The total budget.
    pub fn total(&self) -> Option<&BudgetState> {
        self.find(BudgetKind::Total, |_| true)
    }

    /// The budget of a window.
    pub fn window(&self, window: Duration) -> Option<&BudgetState> {
        self.find(BudgetKind::Window, |state| state.window == Some(window))
    }

    /// The budget of the current invocation of the nearest annotated function that has one.
    pub fn function(&self) -> Option<&BudgetState> {
        self.find(BudgetKind::Function, |_| true)
    }

    /// The budget of `key`'s value in the current context.
    pub fn key(&self, key: &str) -> Option<&BudgetState> {
        self.find(BudgetKind::Key, |state| {
            state.key.as_ref().is_some_and(|(known, _)| known == key)
        })
    }

    fn find(
        &self,
        kind: BudgetKind,
        wanted: impl Fn(&BudgetState) -> bool,
    ) -> Option<&BudgetState> {
        self.budgets
            .iter()
            .find(|state| state.kind == kind && wanted(state))
    }
}
