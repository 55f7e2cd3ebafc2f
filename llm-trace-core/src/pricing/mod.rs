//! The price table: USD per million tokens by model id, and exact cost arithmetic.
//!
//! Prices are held as integers, in nano-dollars per million tokens, so a cost is an
//! exact integer number of 10⁻¹⁵ USD until one final conversion to `f64`. With that
//! single rounding, 11 input + 9 output tokens at 0.10/0.30 USD per 1M tokens is exactly
//! the `f64` nearest to 0.0000038.
//!
//! The compiled-in table lives in `pricing.toml` at the root of this crate; files in the
//! same format or in OpenLIT's `pricing.json` format override it. An unknown model gets
//! **no** cost (never a silent 0) and a one-time warning through the `log` crate.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::provider::Operation;

mod error;
mod parse;

pub use error::{PricingError, PricingErrorKind};
pub use parse::MAX_FILE_BYTES;

/// The compiled-in price table, as TOML.
pub const BUILTIN_PRICING_TOML: &str = include_str!("../../pricing.toml");

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
            return Err(PricingError::invalid_price("", usd));
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
    /// The exact cost of a call with these token counts, in 10⁻¹⁵ USD.
    ///
    /// Output tokens of a model without an output price cost nothing (embeddings report
    /// no output tokens).
    pub fn cost_units(&self, input_tokens: u64, output_tokens: u64) -> u128 {
        let input = u128::from(input_tokens) * u128::from(self.input.nanos_per_million);
        let output = self.output.map_or(0, |price| {
            u128::from(output_tokens) * u128::from(price.nanos_per_million)
        });
        input + output
    }

    /// The cost in USD of a call with these token counts.
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
        usd_of_units(self.cost_units(input_tokens, output_tokens))
    }
}

/// An exact cost in 10⁻¹⁵ USD (as [`ModelPrice::cost_units`] gives it, or a sum of such
/// costs) in USD: the one rounding of llm-trace's cost arithmetic.
///
/// ```
/// use llm_trace_core::pricing::usd_of_units;
/// assert_eq!(usd_of_units(3_800_000_000 + 800_000_000), 0.0000046);
/// ```
pub fn usd_of_units(units: u128) -> f64 {
    // One rounding only: the integer is exact below 2^53 units (9 USD), and a correctly
    // rounded division of two exact values is the nearest f64 to the cost.
    units as f64 / COST_UNITS_PER_USD
}

/// USD as an exact number of 10⁻¹⁵ USD, kept to nine decimals (nano-dollars, the precision
/// of prices); `None` for negative, non-finite or absurd (over a billion dollars) amounts.
///
/// ```
/// use llm_trace_core::pricing::units_of_usd;
/// assert_eq!(units_of_usd(0.01), Some(10_000_000_000_000));
/// assert_eq!(units_of_usd(-1.0), None);
/// ```
pub fn units_of_usd(usd: f64) -> Option<u128> {
    if !usd.is_finite() || !(0.0..=1e9).contains(&usd) {
        return None;
    }
    Some((usd * NANOS_PER_USD).round() as u128 * 1_000_000)
}

/// A table of model prices by operation and model id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PricingTable {
    as_of: Option<String>,
    source: Option<String>,
    chat: BTreeMap<String, ModelPrice>,
    embeddings: BTreeMap<String, ModelPrice>,
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
    /// assert!(table.as_of().is_some());
    /// ```
    pub fn builtin() -> Self {
        static BUILTIN: OnceLock<PricingTable> = OnceLock::new();
        BUILTIN
            .get_or_init(|| match PricingTable::from_toml_str(BUILTIN_PRICING_TOML) {
                Ok(table) => table,
                Err(error) => {
                    // Unreachable in a released build (a test parses the file), but never panic.
                    crate::__llm_trace_diagnostic!(
                        error,
                        "llm-trace: the compiled-in price table is invalid: {error}"
                    );
                    PricingTable::empty()
                }
            })
            .clone()
    }

    /// The date the prices were read, as written in the source (e.g. `2026-11-28`).
    pub fn as_of(&self) -> Option<&str> {
        self.as_of.as_deref()
    }

    /// Where the prices come from.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
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

    /// The cost in USD of a call, or `None` — with a one-time warning per model, process
    /// wide — when the model is not priced.
    pub fn cost_usd(
        &self,
        operation: Operation,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Option<f64> {
        self.cost_units(operation, model, input_tokens, output_tokens)
            .map(usd_of_units)
    }

    /// The exact cost of a call in 10⁻¹⁵ USD (see [`ModelPrice::cost_units`]), or `None` —
    /// with a one-time warning per model, process wide — when the model is not priced.
    ///
    /// ```
    /// use llm_trace_core::pricing::{usd_of_units, PricingTable};
    /// use llm_trace_core::provider::Operation;
    /// let table = PricingTable::builtin();
    /// let units = table.cost_units(Operation::Chat, "mistral-small-latest", 11, 9).unwrap();
    /// assert_eq!(units, 3_800_000_000);
    /// assert_eq!(usd_of_units(units), 0.0000038);
    /// ```
    pub fn cost_units(
        &self,
        operation: Operation,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Option<u128> {
        match self.get(operation, model) {
            Some(price) => Some(price.cost_units(input_tokens, output_tokens)),
            None => {
                warn_unknown_model(operation, model);
                None
            }
        }
    }

    /// The prices of `model` for `operation`, or `None` — with the one-time warning of
    /// [`PricingTable::cost_units`] — when the model is not priced.
    pub(crate) fn price_or_warn(&self, operation: Operation, model: &str) -> Option<ModelPrice> {
        let price = self.get(operation, model);
        if price.is_none() {
            warn_unknown_model(operation, model);
        }
        price
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

/// Warns once per (operation, model) that a model has no price; allocation-free once warned.
fn warn_unknown_model(operation: Operation, model: &str) {
    type Warned = Mutex<HashMap<Operation, HashSet<String>>>;
    static WARNED: OnceLock<Warned> = OnceLock::new();
    let mut warned = WARNED
        .get_or_init(Warned::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let models = warned.entry(operation).or_default();
    if models.contains(model) {
        return;
    }
    models.insert(model.to_owned());
    drop(warned);
    crate::__llm_trace_diagnostic!(
        warn,
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
        assert_eq!(table.as_of(), Some("2026-11-28"));
        assert!(table.source().is_some());
        assert_eq!(table.len(), 13);
        let small = table.get(Operation::Chat, "mistral-small-latest").unwrap();
        assert_eq!(small.input.usd_per_million(), 0.10);
        assert_eq!(small.output.unwrap().usd_per_million(), 0.30);
        let embed = table.get(Operation::Embeddings, "mistral-embed").unwrap();
        assert_eq!(embed.output, None);
        assert!(table.get(Operation::Chat, "mistral-embed").is_none());
        assert_eq!(PricingTable::builtin(), table);
    }

    #[test]
    fn cost_is_exact_for_the_reference_call() {
        let table = PricingTable::builtin();
        let small = table.get(Operation::Chat, "mistral-small-latest").unwrap();
        assert_eq!(small.cost_usd(11, 9), 0.0000038);
        assert_eq!(small.cost_usd(0, 0), 0.0);
        assert_eq!(small.cost_usd(1_000_000, 1_000_000), 0.4);
        assert_eq!(small.cost_units(11, 9), 3_800_000_000);
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
