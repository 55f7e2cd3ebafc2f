//! Cost and budgets in the facade: the usage snapshot and budget status of the recorder in
//! force, and the [`Builder`] options that configure them.

use std::sync::Arc;
use std::time::Duration;

use llm_trace_core::__private::Recorder;
use llm_trace_core::budget::{BudgetAlert, BudgetStatus};
use llm_trace_core::usage::Usage;

use crate::builder::Builder;
use crate::settings::usage::Callback;

/// What llm-trace counted so far — calls, errors, tokens, exact cost and p50/p95 latency,
/// in total, per model, per annotated function and per usage key value — for billing,
/// quotas and tests. Counted whether or not spans are sampled; see [`usage`](mod@crate::usage).
///
/// It is the usage of the recorder in force here: the one `init` installed, or a
/// [`Recorder`] scoped around this code.
///
/// ```
/// let usage = llm_trace::usage();
/// println!("spent so far: ${}", usage.total().cost_usd().unwrap_or(0.0));
/// if let Some(ask) = usage.functions().get("my_app::ask") {
///     println!("ask: {} calls, p95 {:?}", ask.calls(), ask.latency_p95());
/// }
/// ```
pub fn usage() -> Usage {
    Recorder::current().usage()
}

/// The usage so far, and a new count from zero: for billing periods. Every call is counted
/// in exactly one of the two; key and total budgets start again too.
pub fn take_usage() -> Usage {
    Recorder::current().take_usage()
}

/// The budgets that apply here, now: the window and total budgets, this invocation's
/// budget for the annotated functions running here, and the key budgets of the current
/// context's values. Ask it before calling to refuse work over a budget — alerts never
/// stop a call.
///
/// ```
/// fn answer() -> Result<String, &'static str> {
///     if llm_trace::budget_status().any_exceeded() {
///         return Err("over budget, try again later");
///     }
///     // ... call the model ...
/// #   Ok(String::new())
/// }
/// # answer().unwrap();
/// ```
pub fn budget_status() -> BudgetStatus {
    Recorder::current().budget_status()
}

impl Builder {
    /// Counts usage also by the value of `key` in each call's context — from
    /// `#[llm_trace(fields(...))]` or a [`Scope`](crate::Scope) — e.g.
    /// `gen_ai.conversation.id` or `user.id` (else `LLM_TRACE_USAGE_KEYS`). Call it once per
    /// key, at most four; keys given here replace the environment's.
    pub fn usage_key(mut self, key: impl Into<String>) -> Self {
        self.explicit
            .usage
            .keys
            .get_or_insert_with(Vec::new)
            .push(key.into());
        self
    }

    /// The most distinct values counted per breakdown (models, functions, each key), 1 to
    /// 1,000,000 (else `LLM_TRACE_USAGE_MAX_VALUES`, else 1000). Calls of further values are
    /// counted together as `other`, and the overflow is counted.
    pub fn usage_max_values(mut self, values: usize) -> Self {
        self.explicit.usage.max_values = Some(values);
        self
    }

    /// Alerts on each call that costs more than `usd` (else `LLM_TRACE_BUDGET_CALL_USD`).
    pub fn budget_per_call_usd(mut self, usd: f64) -> Self {
        self.explicit.usage.per_call_usd = Some(usd);
        self
    }

    /// Alerts when the calls of the last hour cost more than `usd`, then not again for an
    /// hour (else `LLM_TRACE_BUDGET_HOUR_USD`).
    pub fn budget_per_hour_usd(mut self, usd: f64) -> Self {
        self.explicit.usage.hour_usd = Some(usd);
        self
    }

    /// Alerts when the calls of the last 24 hours cost more than `usd`, then not again for
    /// a day (else `LLM_TRACE_BUDGET_DAY_USD`).
    pub fn budget_per_day_usd(mut self, usd: f64) -> Self {
        self.explicit.usage.day_usd = Some(usd);
        self
    }

    /// Alerts once when every call of the process together costs more than `usd` (else
    /// `LLM_TRACE_BUDGET_TOTAL_USD`).
    pub fn budget_total_usd(mut self, usd: f64) -> Self {
        self.explicit.usage.total_usd = Some(usd);
        self
    }

    /// Alerts once per value of the usage key `key` (a conversation, a user) whose calls
    /// cost more than `usd` (else `LLM_TRACE_BUDGET_KEY_USD`); the key is counted as a usage
    /// key. Call it once per key; keys given here replace the environment's.
    pub fn budget_per_key_usd(mut self, key: impl Into<String>, usd: f64) -> Self {
        self.explicit
            .usage
            .keys_usd
            .get_or_insert_with(Vec::new)
            .push((key.into(), usd));
        self
    }

    /// Alerts once per invocation of the annotated function `function` (its
    /// `code.function.name`, `module::path::function`) whose calls cost more than `usd`
    /// (else `LLM_TRACE_BUDGET_FUNCTION_USD`); overrides the function's
    /// `#[llm_trace(budget_usd = ..)]`. Functions given here replace the environment's.
    pub fn budget_per_function_usd(mut self, function: impl Into<String>, usd: f64) -> Self {
        self.explicit
            .usage
            .functions_usd
            .get_or_insert_with(Vec::new)
            .push((function.into(), usd));
        self
    }

    /// Alerts on each call of `model` (`gen_ai.request.model`, or `*` for every model
    /// without a threshold of its own) that takes longer than `threshold` (else
    /// `LLM_TRACE_LATENCY_ALERT_MS`). Models given here replace the environment's.
    pub fn latency_alert(mut self, model: impl Into<String>, threshold: Duration) -> Self {
        self.explicit
            .usage
            .latency
            .get_or_insert_with(Vec::new)
            .push((model.into(), threshold));
        self
    }

    /// Calls `callback` with every budget alert, on the thread that ended the call, after
    /// its span ended. It must be quick and must not block; a callback that panics is not
    /// called again (its panic is printed once).
    ///
    /// ```no_run
    /// let _telemetry = llm_trace::builder()
    ///     .budget_per_hour_usd(5.0)
    ///     .on_budget_exceeded(|alert| eprintln!("{alert}"))
    ///     .init();
    /// ```
    pub fn on_budget_exceeded(
        mut self,
        callback: impl Fn(&BudgetAlert) + Send + Sync + 'static,
    ) -> Self {
        self.explicit.usage.callback = Callback(Some(Arc::new(callback)));
        self
    }
}
