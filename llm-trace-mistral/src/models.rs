//! Model ids and span names of mistralai-client's closed model enums, as static strings.
//!
//! The ids are the enums' serde names (the API's model ids), so a span needs no
//! serialization or formatting to name its model.

use mistralai_client::v1::constants::{EmbedModel, Model};

/// The API id of a chat model, e.g. `mistral-small-latest`.
pub fn chat_model_id(model: &Model) -> &'static str {
    match model {
        Model::OpenMistral7b => "open-mistral-7b",
        Model::OpenMixtral8x7b => "open-mixtral-8x7b",
        Model::OpenMixtral8x22b => "open-mixtral-8x22b",
        Model::OpenMistralNemo => "open-mistral-nemo",
        Model::MistralTiny => "mistral-tiny",
        Model::MistralSmallLatest => "mistral-small-latest",
        Model::MistralMediumLatest => "mistral-medium-latest",
        Model::MistralLargeLatest => "mistral-large-latest",
        Model::MistralLarge => "mistral-large-2402",
        Model::CodestralLatest => "codestral-latest",
        Model::CodestralMamba => "open-codestral-mamba",
    }
}

/// The span name of a chat call on `model`, e.g. `chat mistral-small-latest`.
pub fn chat_span_name(model: &Model) -> &'static str {
    match model {
        Model::OpenMistral7b => "chat open-mistral-7b",
        Model::OpenMixtral8x7b => "chat open-mixtral-8x7b",
        Model::OpenMixtral8x22b => "chat open-mixtral-8x22b",
        Model::OpenMistralNemo => "chat open-mistral-nemo",
        Model::MistralTiny => "chat mistral-tiny",
        Model::MistralSmallLatest => "chat mistral-small-latest",
        Model::MistralMediumLatest => "chat mistral-medium-latest",
        Model::MistralLargeLatest => "chat mistral-large-latest",
        Model::MistralLarge => "chat mistral-large-2402",
        Model::CodestralLatest => "chat codestral-latest",
        Model::CodestralMamba => "chat open-codestral-mamba",
    }
}

/// The API id of an embedding model, e.g. `mistral-embed`.
pub fn embed_model_id(model: &EmbedModel) -> &'static str {
    match model {
        EmbedModel::MistralEmbed => "mistral-embed",
    }
}

/// The span name of an embeddings call on `model`, e.g. `embeddings mistral-embed`.
pub fn embed_span_name(model: &EmbedModel) -> &'static str {
    match model {
        EmbedModel::MistralEmbed => "embeddings mistral-embed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT_MODELS: [Model; 11] = [
        Model::OpenMistral7b,
        Model::OpenMixtral8x7b,
        Model::OpenMixtral8x22b,
        Model::OpenMistralNemo,
        Model::MistralTiny,
        Model::MistralSmallLatest,
        Model::MistralMediumLatest,
        Model::MistralLargeLatest,
        Model::MistralLarge,
        Model::CodestralLatest,
        Model::CodestralMamba,
    ];

    fn serde_name<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_value(value)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn ids_are_the_serde_names_and_span_names_match() {
        for model in &CHAT_MODELS {
            assert_eq!(chat_model_id(model), serde_name(model));
            assert_eq!(
                chat_span_name(model),
                format!("chat {}", chat_model_id(model))
            );
        }
        let embed = EmbedModel::MistralEmbed;
        assert_eq!(embed_model_id(&embed), serde_name(&embed));
        assert_eq!(embed_span_name(&embed), "embeddings mistral-embed");
    }

    #[test]
    fn every_model_has_a_builtin_price() {
        use llm_trace_core::pricing::PricingTable;
        use llm_trace_core::provider::Operation;
        let table = PricingTable::builtin();
        for model in &CHAT_MODELS {
            assert!(
                table.get(Operation::Chat, chat_model_id(model)).is_some(),
                "{model:?}"
            );
        }
        assert!(table.get(Operation::Embeddings, "mistral-embed").is_some());
    }
}
