//! The JSON bodies of the local server's answers, in Mistral's wire format.

use serde_json::{json, Value};

use super::EMBEDDING_DIMENSIONS;

/// Unix time used in answers (fixed: answers are deterministic).
const CREATED: u64 = 1_764_288_000;

/// Token count stand-in: whitespace-separated words.
pub(crate) fn count_tokens(text: &str) -> u32 {
    u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX)
}

/// The total prompt "tokens" of a chat request's messages.
pub(crate) fn prompt_tokens(request: &Value) -> u32 {
    request["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter_map(|message| message["content"].as_str())
                .map(count_tokens)
                .sum()
        })
        .unwrap_or(0)
}

/// The model asked for, echoed in answers (mistralai-client parses it into its enum).
pub(crate) fn requested_model<'a>(request: &'a Value, default: &'a str) -> &'a str {
    request["model"].as_str().unwrap_or(default)
}

/// A stable id for the n-th answer.
pub(crate) fn answer_id(prefix: &str, sequence: u64) -> String {
    format!("{prefix}-{sequence:08x}")
}

/// A non-streamed chat completion, with tool calls `(name, arguments)` if any.
pub(crate) fn chat_completion(
    id: &str,
    model: &str,
    answer: &str,
    tool_calls: &[(String, String)],
    usage: (u32, u32),
) -> Value {
    let mut message = json!({"role": "assistant", "content": answer});
    if !tool_calls.is_empty() {
        message["tool_calls"] = tool_calls
            .iter()
            .map(|(name, arguments)| json!({"function": {"name": name, "arguments": arguments}}))
            .collect();
    }
    let finish_reason = if tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    json!({
        "id": id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": finish_reason
        }],
        "usage": {
            "prompt_tokens": usage.0,
            "completion_tokens": usage.1,
            "total_tokens": usage.0 + usage.1
        }
    })
}

/// The pieces a streamed answer is cut into: one word (with its space) per chunk.
pub(crate) fn stream_pieces(answer: &str) -> Vec<String> {
    let mut pieces: Vec<String> = answer.split_inclusive(' ').map(str::to_owned).collect();
    if pieces.is_empty() {
        pieces.push(String::new());
    }
    pieces
}

/// One SSE event carrying a stream chunk.
pub(crate) fn stream_chunk(
    id: &str,
    model: &str,
    content: &str,
    first: bool,
    finish: Option<&str>,
    usage: Option<(u32, u32)>,
) -> String {
    let mut delta = json!({"content": content});
    if first {
        delta["role"] = json!("assistant");
    }
    let mut chunk = json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    if let Some((input, output)) = usage {
        chunk["usage"] = json!({
            "prompt_tokens": input,
            "completion_tokens": output,
            "total_tokens": input + output
        });
    }
    format!("data: {chunk}\n\n")
}

/// The end of an SSE stream.
pub(crate) const STREAM_DONE: &str = "data: [DONE]\n\n";

/// Deterministic unit-length embedding of a text.
pub(crate) fn embedding(text: &str) -> Vec<f32> {
    // FNV-1a seed, xorshift64* sequence.
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    let mut values: Vec<f32> = (0..EMBEDDING_DIMENSIONS)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
            (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        values.iter_mut().for_each(|v| *v /= norm);
    }
    values
}

/// An embeddings answer for a request `{model, input: [...]}`.
pub(crate) fn embeddings(id: &str, request: &Value, usage: Option<(u32, u32)>) -> Value {
    let inputs: Vec<&str> = request["input"]
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let prompt_tokens = usage
        .map(|(input, _)| input)
        .unwrap_or_else(|| inputs.iter().map(|text| count_tokens(text)).sum());
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": embedding(text)}))
        .collect();
    json!({
        "id": id,
        "object": "list",
        "model": requested_model(request, "mistral-embed"),
        "data": data,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 0, "total_tokens": prompt_tokens}
    })
}

/// The model list.
pub(crate) fn models() -> Value {
    let model = |id: &str, chat: bool| {
        json!({
            "id": id,
            "object": "model",
            "created": CREATED,
            "owned_by": "mistralai",
            "root": null,
            "archived": false,
            "name": id,
            "description": "Local stand-in model",
            "capabilities": {
                "completion_chat": chat,
                "completion_fim": false,
                "function_calling": chat,
                "fine_tuning": false
            },
            "max_context_length": 32768,
            "aliases": [],
            "deprecation": null
        })
    };
    json!({
        "object": "list",
        "data": [
            model("mistral-small-latest", true),
            model("mistral-large-latest", true),
            model("open-mistral-7b", true),
            model("mistral-embed", false)
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = embedding("Embed this sentence.");
        assert_eq!(a.len(), EMBEDDING_DIMENSIONS);
        assert_eq!(a, embedding("Embed this sentence."));
        assert_ne!(a, embedding("As well as this one."));
        let norm: f32 = a.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }

    #[test]
    fn stream_pieces_rebuild_the_answer() {
        let answer = "Claude Monet, surely.";
        assert_eq!(stream_pieces(answer).concat(), answer);
        assert_eq!(stream_pieces(answer).len(), 3);
    }

    #[test]
    fn prompt_tokens_count_words_of_every_message() {
        let request = json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Who is the best French painter? Answer in one short sentence."}
        ]});
        assert_eq!(prompt_tokens(&request), 13);
    }
}
