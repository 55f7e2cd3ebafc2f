//! Attribute keys and metric names: the OpenTelemetry GenAI semantic conventions v1.41.1,
//! the stable `code.*`, `server.*`, `error.*` and `deployment.*` conventions, and the few
//! keys of llm-trace's own. Every key llm-trace writes is defined here and nowhere else.
//!
//! The `opentelemetry-semantic-conventions` crate only has the GenAI keys behind an
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
/// `gen_ai.token.type` (metric attribute): `input` or `output`.
pub const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";

/// `gen_ai.input.messages` (opt-in content, JSON).
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.output.messages` (opt-in content, JSON).
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// `gen_ai.system_instructions` (opt-in content, JSON).
pub const GEN_AI_SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
/// `gen_ai.tool.definitions` (opt-in content, JSON).
pub const GEN_AI_TOOL_DEFINITIONS: &str = "gen_ai.tool.definitions";
/// The event carrying content when events are asked for.
pub const GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS: &str =
    "gen_ai.client.inference.operation.details";

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

/// `deployment.environment.name` (resource attribute).
pub const DEPLOYMENT_ENVIRONMENT_NAME: &str = "deployment.environment.name";

/// `llm_trace.cancelled`: `true` on a call span ended because its future or stream was
/// dropped before the call finished.
pub const LLM_TRACE_CANCELLED: &str = "llm_trace.cancelled";
/// `llm_trace.usage.missing`: `true` on a streamed call that ended without reporting
/// token usage (so it has no usage and no cost, rather than zeros).
pub const LLM_TRACE_USAGE_MISSING: &str = "llm_trace.usage.missing";
/// `llm_trace.stream.chunks`: the number of chunks a streamed call received.
pub const LLM_TRACE_STREAM_CHUNKS: &str = "llm_trace.stream.chunks";
/// `llm_trace.content.redaction_failed`: `true` when the redaction hook failed and the
/// call's content was therefore not recorded.
pub const LLM_TRACE_CONTENT_REDACTION_FAILED: &str = "llm_trace.content.redaction_failed";

/// `gen_ai.client.operation.duration` (histogram, `s`).
pub const GEN_AI_CLIENT_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
/// `gen_ai.client.token.usage` (histogram, `{token}`).
pub const GEN_AI_CLIENT_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// `gen_ai.client.operation.time_to_first_chunk` (histogram, `s`).
pub const GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK: &str =
    "gen_ai.client.operation.time_to_first_chunk";
/// `gen_ai.client.operation.time_per_output_chunk` (histogram, `s`).
pub const GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK: &str =
    "gen_ai.client.operation.time_per_output_chunk";
/// `gen_ai.usage.cost` (histogram, `USD`): not in the spec, as OpenLIT records it.
pub const GEN_AI_USAGE_COST_METRIC: &str = "gen_ai.usage.cost";

/// `llm_trace.telemetry.spans.dropped` (counter, `{span}`): spans llm-trace could not
/// deliver to the collector, by `llm_trace.drop.reason`.
pub const LLM_TRACE_TELEMETRY_SPANS_DROPPED: &str = "llm_trace.telemetry.spans.dropped";
/// `llm_trace.telemetry.metric_exports.failed` (counter, `{export}`): metric exports
/// llm-trace could not deliver.
pub const LLM_TRACE_TELEMETRY_METRIC_EXPORTS_FAILED: &str =
    "llm_trace.telemetry.metric_exports.failed";
/// `llm_trace.drop.reason`: `queue_full`, `export_failed` or `shutdown_timeout`.
pub const LLM_TRACE_DROP_REASON: &str = "llm_trace.drop.reason";

/// `gen_ai.usage.total_tokens`: input plus output tokens of a call (embeddings: the input
/// tokens). Not in the spec; OpenLIT's total-token panels read it. Written unless OpenLIT
/// compatibility is turned off.
pub const GEN_AI_USAGE_TOTAL_TOKENS: &str = "gen_ai.usage.total_tokens";
/// `deployment.environment` (resource attribute): the older name of
/// [`DEPLOYMENT_ENVIRONMENT_NAME`], which OpenLIT's "cost by environment" reads. Written
/// beside it unless OpenLIT compatibility is turned off.
pub const DEPLOYMENT_ENVIRONMENT: &str = "deployment.environment";
/// `openinference.span.kind`: the span kind OpenInference backends (Arize Phoenix) show;
/// `CHAIN` on function spans when OpenInference output is on.
pub const OPENINFERENCE_SPAN_KIND: &str = "openinference.span.kind";
/// The `openinference.span.kind` of an annotated function's span.
pub const OPENINFERENCE_SPAN_KIND_CHAIN: &str = "CHAIN";

/// `llm_trace.total.calls`: on an annotated function's span, the calls made under it —
/// in its body, in nested annotated functions, in work it handed off — that ended while it
/// ran. The `llm_trace.total.*` keys are llm-trace's own roll-up, never `gen_ai.usage.*`:
/// a dashboard summing `gen_ai.usage.cost` over all spans counts each call once.
pub const LLM_TRACE_TOTAL_CALLS: &str = "llm_trace.total.calls";
/// `llm_trace.total.errors`: of those calls, the failed ones.
pub const LLM_TRACE_TOTAL_ERRORS: &str = "llm_trace.total.errors";
/// `llm_trace.total.input_tokens`: their input tokens (set when one of them reported usage).
pub const LLM_TRACE_TOTAL_INPUT_TOKENS: &str = "llm_trace.total.input_tokens";
/// `llm_trace.total.output_tokens`: their output tokens (set when one of them reported
/// output tokens).
pub const LLM_TRACE_TOTAL_OUTPUT_TOKENS: &str = "llm_trace.total.output_tokens";
/// `llm_trace.total.cost`: their cost in USD, the exact sum of their `gen_ai.usage.cost`
/// (set when one of them was priced).
pub const LLM_TRACE_TOTAL_COST: &str = "llm_trace.total.cost";
/// `llm_trace.total.calls_unpriced`: calls that reported usage for a model without a
/// price, so left out of `llm_trace.total.cost` (set when not 0).
pub const LLM_TRACE_TOTAL_CALLS_UNPRICED: &str = "llm_trace.total.calls_unpriced";
/// `llm_trace.total.calls_without_usage`: calls that ended without reporting usage
/// (abandoned calls, streams without their usage chunk), so left out of the token and cost
/// totals (set when not 0).
pub const LLM_TRACE_TOTAL_CALLS_WITHOUT_USAGE: &str = "llm_trace.total.calls_without_usage";
/// `llm_trace.late`: `true` on a call span that ended after an annotated function it ran
/// under had returned (a stream consumed by the caller, work left running): its cost is not
/// in that function's `llm_trace.total.*`, only in the functions still open and in the
/// usage snapshot.
pub const LLM_TRACE_LATE: &str = "llm_trace.late";

/// `llm_trace.budget.exceeded`: the span event (on the nearest annotated function's span)
/// and the counter (`{alert}`) of budgets crossed.
pub const LLM_TRACE_BUDGET_EXCEEDED: &str = "llm_trace.budget.exceeded";
/// `llm_trace.budget.kind`: `call`, `function`, `key`, `window`, `total` or `latency`.
pub const LLM_TRACE_BUDGET_KIND: &str = "llm_trace.budget.kind";
/// `llm_trace.budget.limit`: the budget crossed, USD (seconds for `latency`).
pub const LLM_TRACE_BUDGET_LIMIT: &str = "llm_trace.budget.limit";
/// `llm_trace.budget.value`: what crossed it, USD (seconds for `latency`).
pub const LLM_TRACE_BUDGET_VALUE: &str = "llm_trace.budget.value";
/// `llm_trace.budget.window`: the window of a `window` budget, seconds.
pub const LLM_TRACE_BUDGET_WINDOW: &str = "llm_trace.budget.window";
/// `llm_trace.budget.key`: the usage key of a `key` budget (its value is in
/// `llm_trace.budget.key_value`).
pub const LLM_TRACE_BUDGET_KEY: &str = "llm_trace.budget.key";
/// `llm_trace.budget.key_value`: the key's value whose budget was crossed.
pub const LLM_TRACE_BUDGET_KEY_VALUE: &str = "llm_trace.budget.key_value";
