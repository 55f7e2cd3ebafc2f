//! Reading price tables: llm-trace's TOML format, OpenLIT's `pricing.json`, and files in
//! either, with limits on what is read and on what an error may quote.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::error::{PricingError, PricingErrorKind};
use super::{ModelPrice, Price, PricingTable};
use crate::provider::Operation;

/// The largest price table file read, in bytes (1 MiB): a table of every model of every
/// vendor is a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

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

impl PriceEntry {
    fn into_price(self, model: &str) -> Result<ModelPrice, PricingError> {
        let price = |value: f64| {
            Price::per_million(value).map_err(|_| PricingError::invalid_price(model, value))
        };
        Ok(ModelPrice {
            input: price(self.input)?,
            output: self.output.map(price).transpose()?,
        })
    }
}

/// Replaces every double-quoted string in a parser message by `"***"`: values may be
/// secrets when the wrong file was given.
fn mask_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    let mut escaped = false;
    for c in message.chars() {
        if inside {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                inside = false;
                out.push_str("***\"");
            }
            continue;
        }
        out.push(c);
        if c == '"' {
            inside = true;
        }
    }
    if inside {
        out.push_str("***");
    }
    out
}

/// A short excerpt of the line around `offset`: the key before `=` or `:` (at most 40
/// bytes), the rest masked; nothing of a line without a key.
fn masked_excerpt(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text.get(start..end)?.trim();
    let split = line.find(['=', ':'])?;
    let key = crate::text::truncate(line[..split].trim(), 40).0;
    (!key.is_empty()).then(|| format!("{key}{}***", &line[split..split + 1]))
}

fn toml_error(text: &str, error: &toml::de::Error) -> PricingError {
    let mut detail = String::from("malformed price table");
    if let Some(span) = error.span() {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        detail.push_str(&format!(" (line {line}, column {column})"));
        if let Some(excerpt) = masked_excerpt(text, span.start) {
            detail.push_str(&format!(" near `{excerpt}`"));
        }
    }
    detail.push_str(": ");
    detail.push_str(mask_quoted(error.message().trim_end()).as_str());
    PricingError::new(PricingErrorKind::Malformed, detail)
}

impl PricingTable {
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
        let document: toml::Table = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        if let Some((section, _)) = document
            .iter()
            .find(|(key, value)| value.is_table() && !matches!(key.as_str(), "chat" | "embeddings"))
        {
            return Err(PricingError::unknown_section(section));
        }
        let file: TableFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        if let Some(currency) = &file.currency {
            if !currency.eq_ignore_ascii_case("USD") {
                return Err(PricingError::new(
                    PricingErrorKind::UnsupportedUnit,
                    format!(
                        "unsupported price unit currency = {currency:?}: llm-trace tables are in USD per 1000000 tokens"
                    ),
                ));
            }
        }
        if let Some(per) = file.per_tokens {
            if per != 1_000_000 {
                return Err(PricingError::new(
                    PricingErrorKind::UnsupportedUnit,
                    format!(
                        "unsupported price unit per_tokens = {per}: llm-trace tables are in USD per 1000000 tokens"
                    ),
                ));
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
        let malformed = |detail: String| {
            PricingError::new(
                PricingErrorKind::Malformed,
                format!("malformed price table: {detail}"),
            )
        };
        // serde_json's messages name a line and column, never the text.
        let root: Value =
            serde_json::from_str(text).map_err(|e| malformed(e.to_string()).with_source(e))?;
        let Value::Object(sections) = root else {
            return Err(malformed("the top level must be a JSON object".into()));
        };
        let per_1k = |model: &str, value: &Value| -> Result<Price, PricingError> {
            // A string value is shown by its kind only: it may be a secret.
            let shown = || match value {
                Value::String(_) => "(a string)".to_owned(),
                other => other.to_string(),
            };
            let number = value
                .as_f64()
                .ok_or_else(|| PricingError::invalid_price(model, shown()))?;
            Price::per_million(number * 1000.0)
                .map_err(|_| PricingError::invalid_price(model, shown()))
        };
        let mut table = PricingTable::default();
        for (section, entries) in &sections {
            let operation = match section.as_str() {
                "chat" => Operation::Chat,
                "embeddings" => Operation::Embeddings,
                "images" | "audio" => continue,
                other => return Err(PricingError::unknown_section(other)),
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
                        let prompt = fields.get("promptPrice").ok_or_else(|| {
                            malformed(format!("model `{model}` has no `promptPrice`"))
                        })?;
                        ModelPrice {
                            input: per_1k(model, prompt)?,
                            output: match fields.get("completionPrice") {
                                Some(value) => Some(per_1k(model, value)?),
                                None => None,
                            },
                        }
                    }
                    (_, value) => return Err(PricingError::invalid_price(model, value)),
                };
                table.insert(operation, model.clone(), price);
            }
        }
        Ok(table)
    }

    /// Reads a price table file: OpenLIT's JSON format when the text is a JSON object,
    /// else llm-trace's TOML format.
    ///
    /// Only regular files of at most [`MAX_FILE_BYTES`] are read (a FIFO, a device or a
    /// huge file is an error at once, never a hang), and they must be UTF-8.
    pub fn from_file(path: &Path) -> Result<Self, PricingError> {
        let unreadable = |detail: String| {
            PricingError::new(
                PricingErrorKind::Unreadable,
                format!("cannot read price table {}: {detail}", path.display()),
            )
        };
        let metadata =
            std::fs::metadata(path).map_err(|e| unreadable(e.to_string()).with_source(e))?;
        if !metadata.is_file() {
            return Err(unreadable("not a regular file".into()));
        }
        if metadata.len() > MAX_FILE_BYTES {
            return Err(unreadable(format!(
                "{} bytes; price tables are limited to {MAX_FILE_BYTES} bytes",
                metadata.len()
            )));
        }
        let file =
            std::fs::File::open(path).map_err(|e| unreadable(e.to_string()).with_source(e))?;
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(e.to_string()).with_source(e))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(unreadable(format!(
                "more than {MAX_FILE_BYTES} bytes; price tables are limited to that"
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|e| unreadable("not UTF-8 text".into()).with_source(e))?;
        if text.trim_start().starts_with('{') {
            PricingTable::from_openlit_json(&text)
        } else {
            PricingTable::from_toml_str(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tables_are_clear_errors() {
        let err = PricingTable::from_toml_str("[chat\n").unwrap_err();
        assert_eq!(err.kind(), PricingErrorKind::Malformed, "{err}");
        let err = PricingTable::from_toml_str("[chat]\nm = { input = -0.1 }").unwrap_err();
        assert_eq!(err.kind(), PricingErrorKind::InvalidPrice);
        assert!(
            err.to_string().contains("-0.1") && err.to_string().contains("`m`"),
            "{err}"
        );
        let err = PricingTable::from_toml_str("[chat]\nm = { input = \"cheap\" }").unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
        assert!(
            !err.to_string().contains("cheap"),
            "values are masked: {err}"
        );
        let err = PricingTable::from_toml_str("[images]\nm = { input = 1 }").unwrap_err();
        assert_eq!(err.kind(), PricingErrorKind::UnknownSection);
        assert!(err.to_string().contains("`images`"));
        let err = PricingTable::from_toml_str("currency = \"EUR\"").unwrap_err();
        assert_eq!(err.kind(), PricingErrorKind::UnsupportedUnit);
        let err = PricingTable::from_toml_str("per_tokens = 1000").unwrap_err();
        assert!(err.to_string().contains("per_tokens = 1000"), "{err}");
    }

    #[test]
    fn errors_never_quote_secrets() {
        for text in [
            "MISTRAL_API_KEY=sk-live-0123456789abcdef\n",
            "MISTRAL_API_KEY=\"sk-live-0123456789abcdef\"\n[chat]\n",
            "[chat]\nm = { input = \"sk-live-0123456789abcdef\" }",
            "sk-live-0123456789abcdef",
            "export MISTRAL_API_KEY=sk-live-0123456789abcdef",
        ] {
            let err = PricingTable::from_toml_str(text).unwrap_err().to_string();
            assert!(!err.contains("0123456789"), "{text:?} gave {err}");
        }
        let err = PricingTable::from_toml_str("MISTRAL_API_KEY=sk-live-0123456789abcdef\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1") && err.contains("MISTRAL_API_KEY=***"),
            "{err}"
        );
        let err = PricingTable::from_openlit_json(
            r#"{"chat": {"m": {"promptPrice": "sk-live-0123456789abcdef"}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("0123456789"), "{err}");
    }

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
        assert_eq!(err.kind(), PricingErrorKind::Malformed);
        assert!(std::error::Error::source(&err).is_some());
        let err =
            PricingTable::from_openlit_json(r#"{"chat": {"m": {"promptPrice": -1}}}"#).unwrap_err();
        assert_eq!(err.kind(), PricingErrorKind::InvalidPrice);
        let err = PricingTable::from_openlit_json(r#"{"chat": {"m": {"promptPrice": "free"}}}"#)
            .unwrap_err();
        assert_eq!(err.kind(), PricingErrorKind::InvalidPrice, "{err}");
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
    fn files_are_read_by_format_with_limits() {
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
        assert_eq!(missing.kind(), PricingErrorKind::Unreadable);
        let directory = PricingTable::from_file(&dir).unwrap_err();
        assert!(
            directory.to_string().contains("not a regular file"),
            "{directory}"
        );
        let big = dir.join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_FILE_BYTES as usize + 1]).unwrap();
        let too_big = PricingTable::from_file(&big).unwrap_err();
        assert!(too_big.to_string().contains("limited"), "{too_big}");
        let binary = dir.join("binary.toml");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        let not_utf8 = PricingTable::from_file(&binary).unwrap_err();
        assert!(not_utf8.to_string().contains("UTF-8"), "{not_utf8}");
        #[cfg(unix)]
        {
            let device = PricingTable::from_file(Path::new("/dev/zero")).unwrap_err();
            assert!(
                device.to_string().contains("not a regular file"),
                "{device}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Any text: the parsers answer (never panic), and an error never quotes a long
        /// run of the input's characters after a `=`.
        #[test]
        fn parsers_never_panic(text in ".{0,200}") {
            let _ = PricingTable::from_toml_str(&text);
            let _ = PricingTable::from_openlit_json(&text);
        }

        #[test]
        fn secrets_in_values_never_reach_errors(key in "[A-Z_]{1,12}", secret in "[a-z0-9]{24}", quoted in any::<bool>()) {
            let value = if quoted { format!("\"{secret}\"") } else { secret.clone() };
            let text = format!("{key} = {value}\n[chat]\nm = {{ input = {value} }}\n");
            if let Err(error) = PricingTable::from_toml_str(&text) {
                prop_assert!(!error.to_string().contains(&secret), "{}", error);
            }
        }

        #[test]
        fn structured_tables_round_trip(prices in proptest::collection::btree_map("[a-z][a-z0-9-]{0,12}", (0u32..100_000, proptest::option::of(0u32..100_000)), 0..8)) {
            let mut text = String::from("[chat]\n");
            for (model, (input, output)) in &prices {
                text.push_str(&format!("\"{model}\" = {{ input = {}", f64::from(*input) / 100.0));
                if let Some(output) = output {
                    text.push_str(&format!(", output = {}", f64::from(*output) / 100.0));
                }
                text.push_str(" }\n");
            }
            let table = PricingTable::from_toml_str(&text).unwrap();
            prop_assert_eq!(table.len(), prices.len());
            for (model, (input, _)) in &prices {
                let price = table.get(Operation::Chat, model).unwrap();
                prop_assert_eq!(price.cost_units(1, 0), u128::from(*input) * 10_000_000);
            }
        }
    }
}
