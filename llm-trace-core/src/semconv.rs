//! Attribute keys, from the OpenTelemetry GenAI semantic conventions v1.41.1 and the stable
//! `code.*`, `server.*` and `error.*` conventions, plus the few keys of llm-trace's own.
//!
//! The `opentelemetry-semantic-conventions` crate only has these GenAI keys behind an
//! experimental feature, all deprecated; llm-trace keeps its own in this one module.

/// `gen_ai.operation.name`: `chat`, `embeddings`, ...
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`: `mistral_ai`, ...
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.request.model`: the model id asked for.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.request.max_tokens`.
pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
/// `gen_ai.request.temperature`.
pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
/// `gen_ai.request.top_p`.
pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
/// `gen_ai.request.seed`.
pub const GEN_AI_REQUEST_SEED: &str = "gen_ai.request.seed";
/// `gen_ai.request.stream`: `true` for streamed calls only.
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
/// `gen_ai.request.encoding_formats` (string array) of embeddings requests.
pub const GEN_AI_REQUEST_ENCODING_FORMATS: &str = "gen_ai.request.encoding_formats";
/// `gen_ai.output.type`: `json` when the request asks for JSON.
pub const GEN_AI_OUTPUT_TYPE: &str = "gen_ai.output.type";
/// `gen_ai.response.id`.
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
/// `gen_ai.response.model`: the model that answered.
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.response.finish_reasons` (string array).
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.response.time_to_first_chunk` (seconds) of streamed calls.
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// `gen_ai.usage.input_tokens`.
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`.
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.cost`: USD, not in the spec; the key OpenLIT and its backends read.
pub const GEN_AI_USAGE_COST: &str = "gen_ai.usage.cost";
/// `gen_ai.embeddings.dimension.count`.
pub const GEN_AI_EMBEDDINGS_DIMENSION_COUNT: &str = "gen_ai.embeddings.dimension.count";

/// `server.address`: host of the API endpoint.
pub const SERVER_ADDRESS: &str = "server.address";
/// `server.port`: port of the API endpoint.
pub const SERVER_PORT: &str = "server.port";
/// `error.type`: a low-cardinality error class (`429`, `_OTHER`, ...).
pub const ERROR_TYPE: &str = "error.type";
/// The `error.type` value when no better class is known.
pub const ERROR_TYPE_OTHER: &str = "_OTHER";

/// `code.function.name`: the annotated function, with its module path.
pub const CODE_FUNCTION_NAME: &str = "code.function.name";
/// `code.file.path`: the source file of the annotated function.
pub const CODE_FILE_PATH: &str = "code.file.path";
/// `code.line.number`: the line of the annotated function's name.
pub const CODE_LINE_NUMBER: &str = "code.line.number";

/// `llm_trace.cancelled`: `true` on a call span ended because its future or stream was
/// dropped before the call finished.
pub const LLM_TRACE_CANCELLED: &str = "llm_trace.cancelled";

/// `llm_trace.usage.missing`: `true` on a streamed call that ended without reporting
/// token usage (so it has no usage and no cost, rather than zeros).
pub const LLM_TRACE_USAGE_MISSING: &str = "llm_trace.usage.missing";

/// `llm_trace.stream.chunks`: the number of chunks a streamed call received.
pub const LLM_TRACE_STREAM_CHUNKS: &str = "llm_trace.stream.chunks";
