//! Resolving the usage and budget settings: each from its builder call, else its
//! environment variable, else the default (usage counted with no key, no budget).

use std::time::Duration;

use llm_trace_core::budget::{BudgetCallback, BudgetError, Budgets};

use super::{parse_count, Resolver};
use crate::env;
use crate::error::{InitError, Origin};

/// The most usage keys (budget keys included).
const MAX_KEYS: usize = 4;
/// The most distinct values per breakdown that may be asked for.
const MAX_VALUES: usize = 1_000_000;
/// The default cap of distinct values per breakdown.
const DEFAULT_MAX_VALUES: usize = 1000;

/// The callback given to the builder (kept out of `Debug` output).
#[derive(Clone, Default)]
pub(crate) struct Callback(pub(crate) Option<BudgetCallback>);

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

/// The usage and budget settings the builder was given explicitly.
#[derive(Clone, Debug, Default)]
pub(crate) struct UsageExplicit {
    pub(crate) keys: Option<Vec<String>>,
    pub(crate) max_values: Option<usize>,
    pub(crate) per_call_usd: Option<f64>,
    pub(crate) hour_usd: Option<f64>,
    pub(crate) day_usd: Option<f64>,
    pub(crate) total_usd: Option<f64>,
    pub(crate) keys_usd: Option<Vec<(String, f64)>>,
    pub(crate) functions_usd: Option<Vec<(String, f64)>>,
    pub(crate) latency: Option<Vec<(String, Duration)>>,
    pub(crate) callback: Callback,
}

/// The usage and budget settings, resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UsageSettings {
    pub(crate) keys: Vec<String>,
    pub(crate) max_values: usize,
    pub(crate) per_call_usd: Option<f64>,
    pub(crate) windows: Vec<(Duration, f64)>,
    pub(crate) total_usd: Option<f64>,
    pub(crate) keys_usd: Vec<(String, f64)>,
    pub(crate) functions_usd: Vec<(String, f64)>,
    pub(crate) latency: Vec<(String, Duration)>,
}

impl Default for UsageSettings {
    fn default() -> Self {
        UsageSettings {
            keys: Vec::new(),
            max_values: DEFAULT_MAX_VALUES,
            per_call_usd: None,
            windows: Vec::new(),
            total_usd: None,
            keys_usd: Vec::new(),
            functions_usd: Vec::new(),
            latency: Vec::new(),
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

impl UsageSettings {
    /// The recorder's budgets, with the builder's callback.
    pub(crate) fn budgets(&self, callback: Option<BudgetCallback>) -> Result<Budgets, BudgetError> {
        let mut budgets = Budgets::new().with_callback(callback);
        if let Some(usd) = self.per_call_usd {
            budgets = budgets.per_call_usd(usd)?;
        }
        for (window, usd) in &self.windows {
            budgets = budgets.per_window_usd(*window, *usd)?;
        }
        if let Some(usd) = self.total_usd {
            budgets = budgets.total_usd(usd)?;
        }
        for (key, usd) in &self.keys_usd {
            budgets = budgets.per_key_usd(key.clone(), *usd)?;
        }
        for (function, usd) in &self.functions_usd {
            budgets = budgets.per_function_usd(function.clone(), *usd)?;
        }
        for (model, threshold) in &self.latency {
            budgets = budgets.latency(model.clone(), *threshold);
        }
        Ok(budgets)
    }
}

fn parse_usd(text: &str) -> Result<f64, String> {
    let usd: f64 = text
        .trim()
        .trim_start_matches('$')
        .parse()
        .map_err(|_| "expected an amount of USD, e.g. 0.5".to_owned())?;
    check_usd(&usd)?;
    Ok(usd)
}

fn check_usd(usd: &f64) -> Result<(), String> {
    if llm_trace_core::pricing::units_of_usd(*usd).is_some() {
        Ok(())
    } else {
        Err("expected an amount of USD from 0 to 1000000000".into())
    }
}

fn show_usd(usd: &f64) -> String {
    usd.to_string()
}

/// `name=value,name=value`, each value parsed by `value`.
fn parse_pairs<T>(
    text: &str,
    what: &str,
    value: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<(String, T)>, String> {
    let mut pairs = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, raw)) = entry.rsplit_once('=') else {
            return Err(format!("expected {what}=value pairs separated by commas"));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("a {what} is empty"));
        }
        pairs.push((name.to_owned(), value(raw)?));
    }
    Ok(pairs)
}

fn check_names<T>(what: &'static str) -> impl Fn(&Vec<(String, T)>) -> Result<(), String> {
    move |pairs| {
        if pairs.iter().any(|(name, _)| name.trim().is_empty()) {
            return Err(format!("a {what} is empty"));
        }
        Ok(())
    }
}

fn check_usd_pairs(what: &'static str) -> impl Fn(&Vec<(String, f64)>) -> Result<(), String> {
    move |pairs| {
        check_names(what)(pairs)?;
        pairs.iter().try_for_each(|(_, usd)| check_usd(usd))
    }
}

fn show_pairs<T: std::fmt::Display>(pairs: &[(String, T)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_keys(text: &str) -> Result<Vec<String>, String> {
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .collect())
}

fn check_keys(keys: &[String]) -> Result<(), String> {
    if keys.iter().any(|key| key.trim().is_empty()) {
        return Err("a key is empty".into());
    }
    if keys.len() > MAX_KEYS {
        return Err(format!("expected at most {MAX_KEYS} keys"));
    }
    Ok(())
}

fn parse_latency_ms(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| "expected a whole number of milliseconds above 0, e.g. 5000".to_owned())
}

fn check_latency(pairs: &Vec<(String, Duration)>) -> Result<(), String> {
    check_names("model")(pairs)?;
    if pairs.iter().any(|(_, threshold)| threshold.is_zero()) {
        return Err("a threshold of 0 ms would flag every call".into());
    }
    Ok(())
}

fn show_latency(pairs: &[(String, Duration)]) -> String {
    pairs
        .iter()
        .map(|(model, threshold)| format!("{model}={}", threshold.as_millis()))
        .collect::<Vec<_>>()
        .join(",")
}

impl Resolver<'_> {
    fn usd(
        &self,
        explicit: Option<f64>,
        method: &'static str,
        variable: &'static str,
    ) -> Result<Option<f64>, InitError> {
        self.setting(
            explicit,
            method,
            &[variable],
            parse_usd,
            check_usd,
            show_usd,
        )
    }
}

/// Resolves the usage and budget settings.
pub(super) fn resolve(
    explicit: &UsageExplicit,
    r: &Resolver<'_>,
) -> Result<UsageSettings, InitError> {
    let keys = r
        .setting(
            explicit.keys.clone(),
            "usage_key",
            &[env::USAGE_KEYS],
            parse_keys,
            |keys| check_keys(keys),
            |keys| keys.join(","),
        )?
        .unwrap_or_default();
    let max_values = r
        .setting(
            explicit.max_values,
            "usage_max_values",
            &[env::USAGE_MAX_VALUES],
            parse_count,
            |n| match n {
                1..=MAX_VALUES => Ok(()),
                _ => Err(format!("expected 1 to {MAX_VALUES}")),
            },
            usize::to_string,
        )?
        .unwrap_or(DEFAULT_MAX_VALUES);
    let per_call_usd = r.usd(
        explicit.per_call_usd,
        "budget_per_call_usd",
        env::BUDGET_CALL_USD,
    )?;
    let hour = r.usd(
        explicit.hour_usd,
        "budget_per_hour_usd",
        env::BUDGET_HOUR_USD,
    )?;
    let day = r.usd(explicit.day_usd, "budget_per_day_usd", env::BUDGET_DAY_USD)?;
    let total_usd = r.usd(
        explicit.total_usd,
        "budget_total_usd",
        env::BUDGET_TOTAL_USD,
    )?;
    let keys_usd = r
        .setting(
            explicit.keys_usd.clone(),
            "budget_per_key_usd",
            &[env::BUDGET_KEY_USD],
            |text| parse_pairs(text, "key", parse_usd),
            check_usd_pairs("key"),
            |pairs| show_pairs(pairs),
        )?
        .unwrap_or_default();
    let functions_usd = r
        .setting(
            explicit.functions_usd.clone(),
            "budget_per_function_usd",
            &[env::BUDGET_FUNCTION_USD],
            |text| parse_pairs(text, "function", parse_usd),
            check_usd_pairs("function"),
            |pairs| show_pairs(pairs),
        )?
        .unwrap_or_default();
    let latency = r
        .setting(
            explicit.latency.clone(),
            "latency_alert",
            &[env::LATENCY_ALERT_MS],
            |text| parse_pairs(text, "model", parse_latency_ms),
            check_latency,
            |pairs| show_latency(pairs),
        )?
        .unwrap_or_default();
    let mut all_keys = keys.clone();
    for (key, _) in &keys_usd {
        if !all_keys.contains(key) {
            all_keys.push(key.clone());
        }
    }
    if all_keys.len() > MAX_KEYS {
        let (origin, value) = match &explicit.keys_usd {
            Some(pairs) => (Origin::Builder("budget_per_key_usd"), show_pairs(pairs)),
            None => (
                Origin::Environment(env::BUDGET_KEY_USD),
                show_pairs(&keys_usd),
            ),
        };
        return Err(InitError::invalid(
            origin,
            value,
            format!("usage keys and budget keys together are at most {MAX_KEYS}"),
        ));
    }
    Ok(UsageSettings {
        keys,
        max_values,
        per_call_usd,
        windows: [(HOUR, hour), (DAY, day)]
            .into_iter()
            .filter_map(|(window, usd)| usd.map(|usd| (window, usd)))
            .collect(),
        total_usd,
        keys_usd,
        functions_usd,
        latency,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::ffi::OsString;

    use super::*;
    use crate::error::InitErrorKind;
    use crate::settings::{Explicit, Settings};

    fn resolve(explicit: UsageExplicit, vars: &[(&str, &str)]) -> Result<UsageSettings, InitError> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        let explicit = Explicit {
            usage: explicit,
            ..Explicit::default()
        };
        Settings::resolve(&explicit, &|name| vars.get(name).cloned()).map(|s| s.usage)
    }

    fn invalid(explicit: UsageExplicit, vars: &[(&str, &str)]) -> (Origin, String, String) {
        match resolve(explicit, vars) {
            Err(error) if error.kind() == InitErrorKind::InvalidSetting => (
                error.origin().cloned().unwrap(),
                error.value().unwrap_or_default().to_owned(),
                error.reason().to_owned(),
            ),
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[test]
    fn defaults_count_usage_with_no_key_and_no_budget() {
        let settings = resolve(UsageExplicit::default(), &[]).unwrap();
        assert_eq!(settings, UsageSettings::default());
        assert_eq!(settings.max_values, 1000);
        assert!(settings.budgets(None).unwrap().is_empty());
    }

    #[test]
    fn every_setting_comes_from_its_variable() {
        let settings = resolve(
            UsageExplicit::default(),
            &[
                (env::USAGE_KEYS, "gen_ai.conversation.id, user.id"),
                (env::USAGE_MAX_VALUES, "50"),
                (env::BUDGET_CALL_USD, "0.01"),
                (env::BUDGET_HOUR_USD, "$5"),
                (env::BUDGET_DAY_USD, "20"),
                (env::BUDGET_TOTAL_USD, "100"),
                (env::BUDGET_KEY_USD, "user.id=0.5,app.tenant=2"),
                (env::BUDGET_FUNCTION_USD, "app::ask=0.02"),
                (env::LATENCY_ALERT_MS, "mistral-large-latest=5000,*=10000"),
            ],
        )
        .unwrap();
        assert_eq!(
            settings,
            UsageSettings {
                keys: vec!["gen_ai.conversation.id".into(), "user.id".into()],
                max_values: 50,
                per_call_usd: Some(0.01),
                windows: vec![(HOUR, 5.0), (DAY, 20.0)],
                total_usd: Some(100.0),
                keys_usd: vec![("user.id".into(), 0.5), ("app.tenant".into(), 2.0)],
                functions_usd: vec![("app::ask".into(), 0.02)],
                latency: vec![
                    ("mistral-large-latest".into(), Duration::from_secs(5)),
                    ("*".into(), Duration::from_secs(10)),
                ],
            }
        );
        let budgets = settings.budgets(None).unwrap();
        assert!(!budgets.is_empty());
    }

    #[test]
    fn the_builder_wins_over_the_environment() {
        let explicit = UsageExplicit {
            keys: Some(vec!["user.id".into()]),
            per_call_usd: Some(0.5),
            latency: Some(vec![("*".into(), Duration::from_millis(250))]),
            ..UsageExplicit::default()
        };
        let settings = resolve(
            explicit,
            &[
                (env::USAGE_KEYS, "gen_ai.conversation.id"),
                (env::BUDGET_CALL_USD, "0.01"),
                (env::LATENCY_ALERT_MS, "*=1"),
            ],
        )
        .unwrap();
        assert_eq!(settings.keys, ["user.id"]);
        assert_eq!(settings.per_call_usd, Some(0.5));
        assert_eq!(
            settings.latency,
            [("*".to_owned(), Duration::from_millis(250))]
        );
    }

    #[test]
    fn bad_values_are_errors_naming_the_variable_and_the_value() {
        for (variable, value, reason) in [
            (
                env::BUDGET_CALL_USD,
                "-1",
                "expected an amount of USD from 0 to 1000000000",
            ),
            (
                env::BUDGET_HOUR_USD,
                "lots",
                "expected an amount of USD, e.g. 0.5",
            ),
            (
                env::BUDGET_DAY_USD,
                "NaN",
                "expected an amount of USD from 0 to 1000000000",
            ),
            (
                env::BUDGET_TOTAL_USD,
                "1e10",
                "expected an amount of USD from 0 to 1000000000",
            ),
            (env::USAGE_MAX_VALUES, "0", "expected 1 to 1000000"),
            (env::USAGE_MAX_VALUES, "many", "expected a whole number"),
            (env::USAGE_KEYS, "a,b,c,d,e", "expected at most 4 keys"),
            (
                env::BUDGET_KEY_USD,
                "user.id",
                "expected key=value pairs separated by commas",
            ),
            (env::BUDGET_KEY_USD, "=0.5", "a key is empty"),
            (
                env::BUDGET_KEY_USD,
                "user.id=x",
                "expected an amount of USD, e.g. 0.5",
            ),
            (
                env::BUDGET_FUNCTION_USD,
                "app::ask=-2",
                "expected an amount of USD from 0 to 1000000000",
            ),
            (
                env::LATENCY_ALERT_MS,
                "*=0",
                "expected a whole number of milliseconds above 0, e.g. 5000",
            ),
            (
                env::LATENCY_ALERT_MS,
                "slow",
                "expected model=value pairs separated by commas",
            ),
        ] {
            let (origin, shown, why) = invalid(UsageExplicit::default(), &[(variable, value)]);
            assert_eq!(origin, Origin::Environment(variable), "{variable}={value}");
            assert_eq!(shown, value);
            assert_eq!(why, reason, "{variable}={value}");
        }
        let (origin, shown, _) = invalid(
            UsageExplicit {
                per_call_usd: Some(f64::INFINITY),
                ..UsageExplicit::default()
            },
            &[],
        );
        assert_eq!(origin, Origin::Builder("budget_per_call_usd"));
        assert_eq!(shown, "inf");
        let (origin, _, reason) = invalid(
            UsageExplicit::default(),
            &[(env::USAGE_KEYS, "a,b,c"), (env::BUDGET_KEY_USD, "d=1,e=1")],
        );
        assert_eq!(origin, Origin::Environment(env::BUDGET_KEY_USD));
        assert_eq!(reason, "usage keys and budget keys together are at most 4");
    }

    #[test]
    fn every_builder_method_names_its_variable() {
        for method in [
            "usage_key",
            "usage_max_values",
            "budget_per_call_usd",
            "budget_per_hour_usd",
            "budget_per_day_usd",
            "budget_total_usd",
            "budget_per_key_usd",
            "budget_per_function_usd",
            "latency_alert",
        ] {
            assert!(env::variable_of(method).is_some(), "{method}");
        }
    }
}
