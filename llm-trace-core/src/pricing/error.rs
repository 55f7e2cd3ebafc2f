//! Why a price table could not be read.

use std::fmt;

/// Why a price table could not be read. Its message never quotes more than a short,
/// masked excerpt of the file: a file given by mistake (a `.env`, say) must not put a
/// secret into an error message or a log.
#[derive(Debug)]
pub struct PricingError {
    kind: PricingErrorKind,
    detail: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What kind of problem a [`PricingError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PricingErrorKind {
    /// The text is not valid TOML or JSON, or does not have the table's shape.
    Malformed,
    /// A price is negative, not a number, or absurdly large.
    InvalidPrice,
    /// The table says it is in another currency or unit than USD per million tokens.
    UnsupportedUnit,
    /// A section llm-trace does not know (only `chat` and `embeddings` are priced).
    UnknownSection,
    /// The file could not be read: missing, not a regular file, too large, not UTF-8.
    Unreadable,
}

impl PricingError {
    pub(crate) fn new(kind: PricingErrorKind, detail: impl Into<String>) -> Self {
        PricingError {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> PricingErrorKind {
        self.kind
    }

    pub(crate) fn invalid_price(model: &str, value: impl fmt::Display) -> Self {
        PricingError::new(
            PricingErrorKind::InvalidPrice,
            format!(
                "invalid price {value} for model `{model}`: expected a non-negative number of USD per million tokens"
            ),
        )
    }

    pub(crate) fn unknown_section(section: &str) -> Self {
        PricingError::new(
            PricingErrorKind::UnknownSection,
            format!("unknown price table section `{section}`: expected `chat` or `embeddings`"),
        )
    }
}

impl fmt::Display for PricingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for PricingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}
