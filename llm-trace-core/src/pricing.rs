//! The price table: USD per million tokens by model id, and exact cost arithmetic.
//!
//! Prices are held as integers, in nano-dollars per million tokens, so a cost is an
//! exact integer number of 10⁻¹⁵ USD until one final conversion to `f64`. With that
//! single rounding, 11 input + 9 output tokens at 0.10/0.30 USD per 1M tokens is exactly
//! the `f64` nearest to 0.0000038.
//!
//! The compiled-in table lives in `pricing.toml` at the root of this crate. An unknown model
//! gets **no** cost (never a silent 0) and a one-time warning through the `log` crate.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde::Deserialize;

use crate::provider::Operation;

/// The compiled-in price table, as TOML.
pub const BUILTIN_PRICING_TOML: &str = include_str!("../pricing.toml");

/// Nano-dollars (10⁻⁹ USD) in one dollar.
const NANOS_PER_USD: f64 = 1e9;
/// Cost units (10⁻¹⁵ USD: nano-dollars per million tokens, times tokens) in one dollar.
const COST_UNITS_PER_USD: f64 = 1e15;
/// The largest price accepted, in USD per million tokens.
const MAX_PRICE_USD: f64 = 1e6;

/// A price in USD per million tokens, held exactly as nano-dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price {
    nanos_per_million: u64,
}

impl Price {
    /// A price from USD per million tokens, e.g. `Price::per_million(0.10)`.
    ///
    /// Rejects negative, non-finite and absurd (over a million dollars) prices, and keeps
    /// nine decimal places, the precision of the table.
    ///
    /// ```
    /// use llm_trace_core::pricing::Price;
    /// assert_eq!(Price::per_million(0.10).unwrap().usd_per_million(), 0.10);
    /// assert!(Price::per_million(-1.0).is_err());
    /// ```
    pub fn per_million(usd: f64) -> Result<Self, PricingError> {
        if !usd.is_finite() || !(0.0..=MAX_PRICE_USD).contains(&usd) {
            return Err(PricingError::InvalidPrice {
                model: String::new(),
                value: usd.to_string(),
            });
        }
        Ok(Price {
            nanos_per_million: (usd * NANOS_PER_USD).round() as u64,
        })
    }

    /// The price in USD per million tokens.
    pub fn usd_per_million(self) -> f64 {
        self.nanos_per_million as f64 / NANOS_PER_USD
    }
}

/// The prices of one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelPrice {
    /// Price of prompt (input) tokens.
    pub input: Price,
    /// Price of completion (output) tokens; `None` for embedding models.
    pub output: Option<Price>,
}

impl ModelPrice {
    /// The cost in USD of a call with these token counts.
    ///
    /// Output tokens of a model without an output price cost nothing (embeddings report
    /// no output tokens).
    ///
    /// ```
    /// use llm_trace_core::pricing::{ModelPrice, Price};
    /// let small = ModelPrice {
    ///     input: Price::per_million(0.10).unwrap(),
    ///     output: Some(Price::per_million(0.30).unwrap()),
    /// };
    /// assert_eq!(small.cost_usd(11, 9), 0.0000038);
    /// ```
    pub fn cost_usd(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        let input = u128::from(input_tokens) * u128::from(self.input.nanos_per_million);
        let output = self.output.map_or(0, |price| {
            u128::from(output_tokens) * u128::from(price.nanos_per_million)
        });
        // One rounding only: the integer is exact below 2^53 units (9 USD), and a
        // correctly rounded division of two exact values is the nearest f64 to the cost.
        (input + output) as f64 / COST_UNITS_PER_USD
    }
}

/// A table of model prices by operation and model id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PricingTable {
    /// The date the prices were read, as written in the source (e.g. `2026-11-28`).
    pub as_of: Option<String>,
    /// Where the prices come from.
    pub source: Option<String>,
    chat: BTreeMap<String, ModelPrice>,
    embeddings: BTreeMap<String, ModelPrice>,
}

/// Why a price table could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PricingError {
    /// The text is not valid TOML or does not have the table's shape.
    Malformed {
        /// What the parser said, with line and column.
        detail: String,
    },
    /// A price is negative, not a number, or absurdly large.
    InvalidPrice {
        /// The model whose price is wrong.
        model: String,
        /// The value as found.
        value: String,
    },
    /// The table says it is in another currency or unit than USD per million tokens.
    UnsupportedUnit {
        /// The value as found.
        value: String,
    },
    /// A section llm-trace does not know (only `chat` and `embeddings` are priced).
    UnknownSection {
        /// The section's name.
        section: String,
    },
    /// The file could not be read.
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
}

impl fmt::Display for PricingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PricingError::Malformed { detail } => write!(f, "malformed price table: {detail}"),
            PricingError::InvalidPrice { model, value } => write!(
                f,
                "invalid price {value} for model `{model}`: expected a non-negative number of USD per million tokens"
            ),
            PricingError::UnsupportedUnit { value } => write!(
                f,
                "unsupported price unit {value}: llm-trace tables are in USD per 1000000 tokens"
            ),
            PricingError::UnknownSection { section } => write!(
                f,
                "unknown price table section `{section}`: expected `chat` or `embeddings`"
            ),
            PricingError::Unreadable { path, detail } => {
                write!(f, "cannot read price table {path}: {detail}")
            }
        }
    }
}

impl std::error::Error for PricingError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    as_of: Option<toml::value::Datetime>,
    source: Option<String>,
    currency: Option<String>,
    per_tokens: Option<u64>,
    #[serde(default)]
    chat: BTreeMap<String, PriceEntry>,
    #[serde(default)]
    embeddings: BTreeMap<String, PriceEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceEntry {
    input: f64,
    output: Option<f64>,
}

impl PricingTable {
    /// An empty table: every model is unknown.
    pub fn empty() -> Self {
        PricingTable::default()
    }

    /// The table compiled into this crate (`pricing.toml`).
    ///
    /// ```
    /// use llm_trace_core::pricing::PricingTable;
    /// use llm_trace_core::provider::Operation;
    /// let table = PricingTable::builtin();
    /// assert!(table.get(Operation::Chat, "mistral-small-latest").is_some());
    /// assert!(table.as_of.is_some());
    /// ```
    pub fn builtin() -> Self {
        match PricingTable::from_toml_str(BUILTIN_PRICING_TOML) {
            Ok(table) => table,
            Err(error) => {
                // Unreachable in a released build (a test parses the file), but never panic.
                log::error!("llm-trace: the compiled-in price table is invalid: {error}");
                PricingTable::empty()
            }
        }
    }

    /// Reads a table in llm-trace's TOML format (see `pricing.toml` in this crate).
    ///
    /// ```
    /// use llm_trace_core::pricing::PricingTable;
    /// use llm_trace_core::provider::Operation;
    /// let table = PricingTable::from_toml_str(r#"
    ///     as_of = 2026-01-01
    ///     [chat]
    ///     "my-fine-tune" = { input = 1.5, output = 3 }
    /// "#).unwrap();
    /// let price = table.get(Operation::Chat, "my-fine-tune").unwrap();
    /// assert_eq!(price.cost_usd(1_000_000, 0), 1.5);
    /// assert!(PricingTable::from_toml_str("[chat]\nx = { input = -1 }").is_err());
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Self, PricingError> {
        let document: toml::Table =
            toml::from_str(text).map_err(|error| PricingError::Malformed {
                detail: error.to_string().trim_end().to_owned(),
            })?;
        if let Some((section, _)) = document
            .iter()
            .find(|(key, value)| value.is_table() && !matches!(key.as_str(), "chat" | "embeddings"))
        {
            return Err(PricingError::UnknownSection {
                section: section.clone(),
            });
        }
        let file: TableFile = toml::from_str(text).map_err(|error| PricingError::Malformed {
            detail: error.to_string().trim_end().to_owned(),
        })?;
        if let Some(currency) = &file.currency {
            if !currency.eq_ignore_ascii_case("USD") {
                return Err(PricingError::UnsupportedUnit {
                    value: format!("currency = {currency:?}"),
                });
            }
        }
        if let Some(per) = file.per_tokens {
            if per != 1_000_000 {
                return Err(PricingError::UnsupportedUnit {
                    value: format!("per_tokens = {per}"),
                });
            }
        }
        let mut table = PricingTable {
            as_of: file.as_of.map(|date| date.to_string()),
            source: file.source,
            ..PricingTable::default()
        };
        for (model, entry) in file.chat {
            let price = entry.into_price(&model)?;
            table.chat.insert(model, price);
        }
        for (model, entry) in file.embeddings {
            let price = entry.into_price(&model)?;
            table.embeddings.insert(model, price);
        }
        Ok(table)
    }

    /// Reads OpenLIT's `pricing.json` format: USD per **1K** tokens,
    /// `{"chat": {"model": {"promptPrice": p, "completionPrice": c}}, "embeddings": {"model": p}}`.
    /// OpenLIT's `images` and `audio` sections are accepted and ignored (llm-trace does not
    /// price those calls); any other section is an error.
    ///
    /// ```
    /// use llm_trace_core::pricing::PricingTable;
    /// use llm_trace_core::provider::Operation;
    /// let table = PricingTable::from_openlit_json(
    ///     r#"{"chat": {"my-model": {"promptPrice": 0.0001, "completionPrice": 0.0003}},
    ///         "embeddings": {"my-embed": 0.0001}}"#,
    /// ).unwrap();
    /// let chat = table.get(Operation::Chat, "my-model").unwrap();
    /// assert_eq!(chat.cost_usd(11, 9), 0.0000038);
    /// assert!(PricingTable::from_openlit_json(r#"{"video": {}}"#).is_err());
    /// ```
    pub fn from_openlit_json(text: &str) -> Result<Self, PricingError> {
        use serde_json::Value;
        let malformed = |detail: String| PricingError::Malformed { detail };
        let root: Value = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
        let Value::Object(sections) = root else {
            return Err(malformed("the top level must be a JSON object".into()));
        };
        let per_1k = |model: &str, value: &Value| -> Result<Price, PricingError> {
            let invalid = || PricingError::InvalidPrice {
                model: model.to_owned(),
                value: value.to_string(),
            };
            let number = value.as_f64().ok_or_else(invalid)?;
            Price::per_million(number * 1000.0).map_err(|_| invalid())
        };
        let mut table = PricingTable::default();
        for (section, entries) in &sections {
            let operation = match section.as_str() {
                "chat" => Operation::Chat,
                "embeddings" => Operation::Embeddings,
                "images" | "audio" => continue,
                other => {
                    return Err(PricingError::UnknownSection {
                        section: other.to_owned(),
                    })
                }
            };
            let Value::Object(entries) = entries else {
                return Err(malformed(format!("section `{section}` must be an object")));
            };
            for (model, entry) in entries {
                let price = match (operation, entry) {
                    (Operation::Embeddings, value) if !value.is_object() => ModelPrice {
                        input: per_1k(model, value)?,
                        output: None,
                    },
                    (_, Value::Object(fields)) => {
                        let field = |name: &str| {
                            fields.get(name).ok_or_else(|| {
                                malformed(format!("model `{model}` has no `{name}`"))
                            })
                        };
                        ModelPrice {
                            input: per_1k(model, field("promptPrice")?)?,
                            output: match fields.get("completionPrice") {
                                Some(value) => Some(per_1k(model, value)?),
                                None => None,
                            },
                        }
                    }
                    (_, value) => {
                        return Err(PricingError::InvalidPrice {
                            model: model.clone(),
                            value: value.to_string(),
                        })
                    }
                };
                table.insert(operation, model.clone(), price);
            }
        }
        Ok(table)
    }

    /// Reads a price table file: OpenLIT's JSON format when the text is a JSON object,
    /// else llm-trace's TOML format.
    pub fn from_file(path: &std::path::Path) -> Result<Self, PricingError> {
        let text = std::fs::read_to_string(path).map_err(|error| PricingError::Unreadable {
            path: path.display().to_string(),
            detail: error.to_string(),
        })?;
        if text.trim_start().starts_with('{') {
            PricingTable::from_openlit_json(&text)
        } else {
            PricingTable::from_toml_str(&text)
        }
    }

    /// Sets the price of one model, replacing any earlier entry.
    pub fn insert(&mut self, operation: Operation, model: impl Into<String>, price: ModelPrice) {
        self.section_mut(operation).insert(model.into(), price);
    }

    /// Copies every entry of `other` over this table (its `as_of` and `source` too, when set).
    pub fn merge(&mut self, other: PricingTable) {
        if other.as_of.is_some() {
            self.as_of = other.as_of;
        }
        if other.source.is_some() {
            self.source = other.source;
        }
        self.chat.extend(other.chat);
        self.embeddings.extend(other.embeddings);
    }

    /// The prices of `model` for `operation`, if the table has them.
    pub fn get(&self, operation: Operation, model: &str) -> Option<ModelPrice> {
        self.section(operation)?.get(model).copied()
    }

    /// The number of models priced, all operations together.
    pub fn len(&self) -> usize {
        self.chat.len() + self.embeddings.len()
    }

    /// Whether the table prices no model at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn section(&self, operation: Operation) -> Option<&BTreeMap<String, ModelPrice>> {
        match operation {
            Operation::Chat | Operation::TextCompletion => Some(&self.chat),
            Operation::Embeddings => Some(&self.embeddings),
        }
    }

    fn section_mut(&mut self, operation: Operation) -> &mut BTreeMap<String, ModelPrice> {
        match operation {
            Operation::Chat | Operation::TextCompletion => &mut self.chat,
            Operation::Embeddings => &mut self.embeddings,
        }
    }
}

impl PriceEntry {
    fn into_price(self, model: &str) -> Result<ModelPrice, PricingError> {
        let price = |value: f64| {
            Price::per_million(value).map_err(|_| PricingError::InvalidPrice {
                model: model.to_owned(),
                value: value.to_string(),
            })
        };
        Ok(ModelPrice {
            input: price(self.input)?,
            output: self.output.map(price).transpose()?,
        })
    }
}

fn active_slot() -> &'static RwLock<Arc<PricingTable>> {
    static ACTIVE: OnceLock<RwLock<Arc<PricingTable>>> = OnceLock::new();
    ACTIVE.get_or_init(|| RwLock::new(Arc::new(PricingTable::builtin())))
}

/// The table used to price calls: the compiled-in one unless [`set_active`] replaced it.
pub fn active() -> Arc<PricingTable> {
    match active_slot().read() {
        Ok(table) => Arc::clone(&table),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

/// Replaces the table used to price calls from now on.
///
/// ```
/// use llm_trace_core::pricing::{self, PricingTable};
/// let mut table = PricingTable::builtin();
/// table.merge(PricingTable::from_toml_str("[chat]\n\"my-model\" = { input = 1, output = 2 }").unwrap());
/// pricing::set_active(table);
/// assert!(pricing::active().get(llm_trace_core::provider::Operation::Chat, "my-model").is_some());
/// ```
pub fn set_active(table: PricingTable) {
    let table = Arc::new(table);
    match active_slot().write() {
        Ok(mut slot) => *slot = table,
        Err(poisoned) => *poisoned.into_inner() = table,
    }
}

/// The cost of a call in USD from the active table, or `None` (with a one-time warning per
/// model) when the model is not priced.
pub fn cost_usd(
    operation: Operation,
    model: &str,
    input_tokens: u64,
    output_tokens: u64,
) -> Option<f64> {
    match active().get(operation, model) {
        Some(price) => Some(price.cost_usd(input_tokens, output_tokens)),
        None => {
            warn_unknown_model(operation, model);
            None
        }
    }
}

/// Warns once per (operation, model) that a model has no price; allocation-free once warned.
fn warn_unknown_model(operation: Operation, model: &str) {
    type Warned = Mutex<HashMap<Operation, HashSet<String>>>;
    static WARNED: OnceLock<Warned> = OnceLock::new();
    let warned = WARNED.get_or_init(Warned::default);
    let mut warned = match warned.lock() {
        Ok(map) => map,
        Err(poisoned) => poisoned.into_inner(),
    };
    let models = warned.entry(operation).or_default();
    if models.contains(model) {
        return;
    }
    models.insert(model.to_owned());
    drop(warned);
    log::warn!(
        "llm-trace: no price for {} model `{model}`; its calls get no gen_ai.usage.cost. \
         Add it to a pricing override to get costs.",
        operation.as_str()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_has_every_listed_model() {
        let table = PricingTable::from_toml_str(BUILTIN_PRICING_TOML).expect("builtin parses");
        assert_eq!(table.as_of.as_deref(), Some("2026-11-28"));
        assert!(table.source.is_some());
        assert_eq!(table.len(), 13);
        let small = table.get(Operation::Chat, "mistral-small-latest").unwrap();
        assert_eq!(small.input.usd_per_million(), 0.10);
        assert_eq!(small.output.unwrap().usd_per_million(), 0.30);
        let embed = table.get(Operation::Embeddings, "mistral-embed").unwrap();
        assert_eq!(embed.output, None);
        assert!(table.get(Operation::Chat, "mistral-embed").is_none());
    }

    #[test]
    fn cost_is_exact_for_the_reference_call() {
        let table = PricingTable::builtin();
        let small = table.get(Operation::Chat, "mistral-small-latest").unwrap();
        assert_eq!(small.cost_usd(11, 9), 0.0000038);
        assert_eq!(small.cost_usd(0, 0), 0.0);
        assert_eq!(small.cost_usd(1_000_000, 1_000_000), 0.4);
    }

    #[test]
    fn cost_matches_decimal_arithmetic_across_many_counts() {
        // cost in 1e-15 USD is an integer; compare with the parsed decimal string.
        let price = ModelPrice {
            input: Price::per_million(0.15).unwrap(),
            output: Some(Price::per_million(0.9).unwrap()),
        };
        for input in [1u64, 3, 7, 11, 99, 1234, 987_654] {
            for output in [0u64, 1, 9, 77, 4096] {
                let units = input * 150_000_000 + output * 900_000_000;
                let decimal: f64 = format!(
                    "{}.{:015}",
                    units / 1_000_000_000_000_000,
                    units % 1_000_000_000_000_000
                )
                .parse()
                .unwrap();
                assert_eq!(
                    price.cost_usd(input, output),
                    decimal,
                    "{input} in, {output} out"
                );
            }
        }
    }

    #[test]
    fn malformed_tables_are_clear_errors() {
        let err = PricingTable::from_toml_str("[chat\n").unwrap_err();
        assert!(matches!(err, PricingError::Malformed { .. }), "{err}");
        let err = PricingTable::from_toml_str("[chat]\nm = { input = -0.1 }").unwrap_err();
        assert_eq!(
            err,
            PricingError::InvalidPrice {
                model: "m".into(),
                value: "-0.1".into()
            }
        );
        let err = PricingTable::from_toml_str("[chat]\nm = { input = \"cheap\" }").unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
        let err = PricingTable::from_toml_str("[images]\nm = { input = 1 }").unwrap_err();
        assert_eq!(
            err,
            PricingError::UnknownSection {
                section: "images".into()
            }
        );
        let err = PricingTable::from_toml_str("currency = \"EUR\"").unwrap_err();
        assert!(matches!(err, PricingError::UnsupportedUnit { .. }));
        let err = PricingTable::from_toml_str("per_tokens = 1000").unwrap_err();
        assert!(err.to_string().contains("per_tokens = 1000"), "{err}");
    }

    #[test]
    fn merge_overrides_entries() {
        let mut table = PricingTable::builtin();
        let before = table.len();
        table.merge(
            PricingTable::from_toml_str(
                "[chat]\n\"mistral-small-latest\" = { input = 1, output = 1 }\n\"new\" = { input = 2, output = 2 }",
            )
            .unwrap(),
        );
        assert_eq!(table.len(), before + 1);
        let small = table.get(Operation::Chat, "mistral-small-latest").unwrap();
        assert_eq!(small.cost_usd(1_000_000, 0), 1.0);
    }
}

#[cfg(test)]
mod openlit_tests {
    use super::*;

    #[test]
    fn openlit_prices_are_per_thousand_tokens() {
        let table = PricingTable::from_openlit_json(
            r#"{"chat": {"mistral-small-latest": {"promptPrice": 0.0001, "completionPrice": 0.0003}},
                "embeddings": {"mistral-embed": 0.0001},
                "images": {"dall-e": {"standard": {"1024x1024": 0.04}}},
                "audio": {"tts-1": 0.015}}"#,
        )
        .unwrap();
        assert_eq!(table.len(), 2);
        let small = table.get(Operation::Chat, "mistral-small-latest").unwrap();
        assert_eq!(small.cost_usd(11, 9), 0.0000038);
        let embed = table.get(Operation::Embeddings, "mistral-embed").unwrap();
        assert_eq!(embed.output, None);
        assert_eq!(embed.cost_usd(8, 0), 0.0000008);
    }

    #[test]
    fn malformed_openlit_files_are_errors() {
        let err = PricingTable::from_openlit_json("{").unwrap_err();
        assert!(matches!(err, PricingError::Malformed { .. }));
        let err =
            PricingTable::from_openlit_json(r#"{"chat": {"m": {"promptPrice": -1}}}"#).unwrap_err();
        assert_eq!(
            err,
            PricingError::InvalidPrice {
                model: "m".into(),
                value: "-1".into()
            }
        );
        let err = PricingTable::from_openlit_json(r#"{"chat": {"m": {"promptPrice": "free"}}}"#)
            .unwrap_err();
        assert!(matches!(err, PricingError::InvalidPrice { .. }), "{err}");
        let err = PricingTable::from_openlit_json(r#"{"rerank": {}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown price table section `rerank`: expected `chat` or `embeddings`"
        );
        let err = PricingTable::from_openlit_json(r#"{"chat": {"m": {"completionPrice": 1}}}"#)
            .unwrap_err();
        assert!(err.to_string().contains("promptPrice"), "{err}");
    }

    #[test]
    fn files_are_read_by_format() {
        let dir = std::env::temp_dir().join(format!("llm-trace-pricing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("pricing.json");
        std::fs::write(
            &json,
            r#"{"chat": {"x": {"promptPrice": 0.001, "completionPrice": 0.002}}}"#,
        )
        .unwrap();
        let toml = dir.join("pricing.toml");
        std::fs::write(&toml, "[chat]\nx = { input = 1, output = 2 }\n").unwrap();
        let from_json = PricingTable::from_file(&json).unwrap();
        let from_toml = PricingTable::from_file(&toml).unwrap();
        assert_eq!(
            from_json.get(Operation::Chat, "x"),
            from_toml.get(Operation::Chat, "x")
        );
        let missing = PricingTable::from_file(&dir.join("nope.toml")).unwrap_err();
        assert!(matches!(missing, PricingError::Unreadable { .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
