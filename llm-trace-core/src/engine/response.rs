//! The span attributes a successful response gives.

use std::borrow::Cow;

use opentelemetry::{Array, KeyValue, StringValue, Value};

use crate::provider::ResponseInfo;
use crate::semconv;

/// A static or owned string as an attribute value, without copying static ones.
pub(crate) fn cow_value(value: Cow<'static, str>) -> Value {
    Value::String(match value {
        Cow::Borrowed(s) => StringValue::from(s),
        Cow::Owned(s) => StringValue::from(s),
    })
}

pub(crate) fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `gen_ai.response.id`, `.model`, `.finish_reasons`, embedding dimensions, usage, cost;
/// with `total_tokens`, also `gen_ai.usage.total_tokens` (OpenLIT compatibility).
pub(crate) fn response_attributes(
    info: ResponseInfo,
    cost: Option<f64>,
    total_tokens: bool,
) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(8);
    if let Some(id) = info.id {
        attributes.push(KeyValue::new(semconv::GEN_AI_RESPONSE_ID, id));
    }
    if let Some(model) = info.model {
        attributes.push(KeyValue::new(
            semconv::GEN_AI_RESPONSE_MODEL,
            cow_value(model),
        ));
    }
    if !info.finish_reasons.is_empty() {
        let reasons: Vec<StringValue> = info
            .finish_reasons
            .into_iter()
            .map(StringValue::from)
            .collect();
        attributes.push(KeyValue::new(
            semconv::GEN_AI_RESPONSE_FINISH_REASONS,
            Value::Array(Array::String(reasons)),
        ));
    }
    if let Some(dimensions) = info.embedding_dimensions {
        attributes.push(KeyValue::new(
            semconv::GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
            dimensions,
        ));
    }
    if let Some(usage) = info.usage {
        attributes.push(KeyValue::new(
            semconv::GEN_AI_USAGE_INPUT_TOKENS,
            saturating_i64(usage.input_tokens),
        ));
        if let Some(output) = usage.output_tokens {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_USAGE_OUTPUT_TOKENS,
                saturating_i64(output),
            ));
        }
        if total_tokens {
            let total = usage
                .input_tokens
                .saturating_add(usage.output_tokens.unwrap_or(0));
            attributes.push(KeyValue::new(
                semconv::GEN_AI_USAGE_TOTAL_TOKENS,
                saturating_i64(total),
            ));
        }
    }
    if let Some(cost) = cost {
        attributes.push(KeyValue::new(semconv::GEN_AI_USAGE_COST, cost));
    }
    attributes
}
