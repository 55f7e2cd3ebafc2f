//! The report page: one self-contained HTML file — inline CSS and SVG, system fonts, no
//! script to run, nothing fetched — with the report's JSON embedded as
//! `<script type="application/json" id="llm-trace-usage">`.

use std::fmt::Write as _;

use super::format::{compact, duration, escape, money, short_function, thousands};
use super::json::embeddable;
use super::model::{FunctionRow, ModelRow, TraceView, Usage, OTHER};
use super::svg::{self, Bar};

/// Bars drawn per bar chart; the tables below list every row.
const MAX_BARS: usize = 10;
/// Inner widths of a full, a half and a two-thirds card, in CSS pixels.
const FULL: f64 = 1032.0;
const HALF: f64 = 508.0;
const TWO_THIRDS: f64 = 680.0;

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --soft: #f1f5f9; --bg: #f8fafc; --card: #ffffff; --cost: #4f46e5; --error: #dc2626; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif; -webkit-font-smoothing: antialiased; }
main { max-width: 1120px; margin: 0 auto; padding: 32px 24px 40px; }
header.top { display: flex; justify-content: space-between; align-items: flex-end; gap: 16px; border-bottom: 1px solid var(--line); padding-bottom: 18px; }
h1 { font-size: 28px; line-height: 1.2; margin: 0; letter-spacing: -0.02em; }
h1 span { color: var(--cost); }
.sub { color: var(--muted); margin: 6px 0 0; }
.badge { color: var(--muted); font-size: 12px; border: 1px solid var(--line); border-radius: 999px; padding: 3px 10px; white-space: nowrap; background: var(--card); }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 20px 0 16px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 14px 16px; }
.kpi .label { display: block; color: var(--muted); font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: 0.07em; }
.kpi .value { display: block; font-size: 26px; font-weight: 700; letter-spacing: -0.02em; font-variant-numeric: tabular-nums; margin: 2px 0 0; }
.kpi .note { color: var(--muted); font-size: 12px; }
.kpi.cost .value { color: var(--cost); }
.kpi .bad { color: var(--error); font-weight: 600; }
.grid { display: grid; gap: 16px; margin-bottom: 16px; }
.two { grid-template-columns: 1fr 1fr; }
.wide-narrow { grid-template-columns: 2fr 1fr; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 18px 20px; margin-bottom: 16px; break-inside: avoid; page-break-inside: avoid; min-width: 0; }
.grid > .card { margin-bottom: 0; }
.card h2 { font-size: 16px; margin: 0; letter-spacing: -0.01em; }
.card h3 { font-size: 14px; margin: 0; }
.hint { color: var(--muted); font-size: 12px; margin: 2px 0 12px; }
.empty { color: var(--muted); margin: 8px 0; }
h2.section { font-size: 18px; margin: 28px 0 4px; letter-spacing: -0.01em; }
p.section { color: var(--muted); margin: 0 0 12px; font-size: 13px; }
svg { display: block; width: 100%; height: auto; overflow: visible; }
svg text { font-family: inherit; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: 0.05em; border-bottom: 1px solid var(--line); padding: 6px 8px; }
td { padding: 7px 8px; border-bottom: 1px solid var(--soft); vertical-align: top; }
tr:last-child td { border-bottom: 0; }
th.num, td.num { text-align: right; white-space: nowrap; }
td.name { overflow-wrap: anywhere; }
td .path { color: var(--muted); font-size: 11px; display: block; }
td.bad { color: var(--error); font-weight: 600; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); margin-top: 24px; padding-top: 14px; }
footer p { margin: 4px 0; }
@media screen and (max-width: 800px) { .two, .wide-narrow, .kpis { grid-template-columns: 1fr; } }
@media print {
  body { background: #ffffff; font-size: 12px; }
  main { max-width: none; padding: 0; }
  .card, .kpi { border-color: #cbd5e1; }
  .kpis { grid-template-columns: repeat(5, 1fr); }
  h2.section { break-before: page; page-break-before: always; }
}
@page { size: A4 landscape; margin: 10mm; }
"#;

/// The page.
pub(crate) fn render(usage: &Usage, json: &str) -> String {
    let mut page = String::with_capacity(64 * 1024 + json.len());
    let service = usage.service.as_deref().unwrap_or("unknown_service");
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{generator}\">\n\
         <title>LLM usage — {service}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        generator = escape(&usage.generated_by),
        service = escape(service),
    );
    header(&mut page, usage, service);
    kpis(&mut page, usage);
    if usage.totals.amounts.calls == 0 {
        page.push_str(
            "<article class=\"card\"><h2>No LLM calls were recorded</h2><p class=\"hint\">No llm-trace call span ended while the report was collecting (or the sampler dropped them all).</p></article>\n",
        );
    }
    page.push_str("<section class=\"grid two\">\n");
    cost_by_model(&mut page, &usage.by_model);
    cost_by_function(&mut page, &usage.by_function);
    page.push_str("</section>\n");
    over_time(&mut page, usage);
    page.push_str("<section class=\"grid wide-narrow\">\n");
    latency(&mut page, &usage.by_model);
    errors(&mut page, usage);
    page.push_str("</section>\n");
    model_table(&mut page, &usage.by_model);
    function_table(&mut page, &usage.by_function);
    traces(
        &mut page,
        "Most expensive traces",
        "The traces whose calls cost the most, drawn span by span on their own time axis.",
        &usage.top_traces.by_cost,
    );
    traces(
        &mut page,
        "Slowest traces",
        "The traces that took longest, from their first llm-trace span's start to their last one's end.",
        &usage.top_traces.by_duration,
    );
    footer(&mut page, usage);
    let _ = write!(
        page,
        "<script type=\"application/json\" id=\"llm-trace-usage\">\n{}</script>\n</main>\n</body>\n</html>\n",
        embeddable(json)
    );
    page
}

fn header(page: &mut String, usage: &Usage, service: &str) {
    let _ = writeln!(
        page,
        "<header class=\"top\"><div><h1>LLM usage <span>report</span></h1>\
         <p class=\"sub\"><strong>{}</strong> · {} → {} (UTC)</p></div>\
         <div class=\"badge\">{}</div></header>",
        escape(service),
        escape(&readable_time(&usage.started_at)),
        escape(&readable_time(&usage.ended_at)),
        escape(&usage.generated_by),
    );
}

/// `2025-01-31T12:34:56.789Z` as `2025-01-31 12:34:56`.
fn readable_time(rfc3339: &str) -> String {
    rfc3339.get(..19).unwrap_or(rfc3339).replace('T', " ")
}

fn kpi(page: &mut String, class: &str, label: &str, key: &str, value: &str, note: &str) {
    let _ = writeln!(
        page,
        "<div class=\"kpi {class}\"><span class=\"label\">{label}</span>\
         <span class=\"value\" data-kpi=\"{key}\">{}</span><span class=\"note\">{note}</span></div>",
        escape(value)
    );
}

fn kpis(page: &mut String, usage: &Usage) {
    let totals = &usage.totals;
    let femto: u128 = totals.amounts.cost_femto;
    page.push_str("<section class=\"kpis\">\n");
    let priced = totals
        .amounts
        .calls
        .saturating_sub(totals.amounts.errors)
        .saturating_sub(totals.unpriced_calls);
    let cost_note = if totals.unpriced_calls > 0 {
        format!(
            "<span class=\"bad\">{} calls without a price</span>",
            thousands(totals.unpriced_calls)
        )
    } else {
        format!("{} priced calls", thousands(priced))
    };
    kpi(
        page,
        "cost",
        "Total cost",
        "cost",
        &money(femto),
        &cost_note,
    );
    let failed = if totals.amounts.errors > 0 {
        format!(
            "<span class=\"bad\">{} failed</span> ({:.1} %)",
            thousands(totals.amounts.errors),
            totals.amounts.errors as f64 * 100.0 / totals.amounts.calls.max(1) as f64
        )
    } else {
        "none failed".to_owned()
    };
    kpi(
        page,
        "",
        "LLM calls",
        "calls",
        &thousands(totals.amounts.calls),
        &failed,
    );
    kpi(
        page,
        "",
        "Tokens",
        "tokens",
        &compact((totals.amounts.input_tokens + totals.amounts.output_tokens) as f64),
        &format!(
            "{} in · {} out",
            thousands(totals.amounts.input_tokens),
            thousands(totals.amounts.output_tokens)
        ),
    );
    let per_call = femto / u128::from(totals.amounts.calls.max(1));
    kpi(
        page,
        "",
        "Cost per call",
        "cost_per_call",
        &money(per_call),
        "mean over all calls",
    );
    kpi(
        page,
        "",
        "Traces",
        "traces",
        &thousands(totals.traces),
        &format!("{} function runs", thousands(totals.function_invocations)),
    );
    page.push_str("</section>\n");
}

fn card_start(page: &mut String, title: &str, hint: &str) {
    let _ = writeln!(
        page,
        "<article class=\"card\"><h2>{}</h2><p class=\"hint\">{hint}</p>",
        escape(title)
    );
}

fn more_rows(page: &mut String, total: usize) {
    if total > MAX_BARS {
        let _ = write!(
            page,
            "<p class=\"hint\">and {} more in the table below</p>",
            total - MAX_BARS
        );
    }
}

fn cost_by_model(page: &mut String, rows: &[ModelRow]) {
    card_start(
        page,
        "Cost by model",
        "USD per operation and model, with the calls behind it.",
    );
    if rows.is_empty() {
        page.push_str("<p class=\"empty\">No calls.</p>");
    } else {
        let bars: Vec<Bar> = rows
            .iter()
            .take(MAX_BARS)
            .map(|row| {
                let name = model_name(row);
                let femto = row.amounts.cost_femto;
                Bar {
                    label: name.clone(),
                    title: name,
                    value: femto as f64,
                    shown: money(femto),
                    data: row.amounts.cost_femto.to_string(),
                }
            })
            .collect();
        page.push_str(&svg::bars(&bars, svg::COST, HALF, 200.0, "Cost by model"));
        more_rows(page, rows.len());
    }
    page.push_str("</article>\n");
}

fn model_name(row: &ModelRow) -> String {
    if row.model == OTHER {
        OTHER.to_owned()
    } else {
        format!("{} {}", row.operation, row.model)
    }
}

fn cost_by_function(page: &mut String, rows: &[FunctionRow]) {
    card_start(
        page,
        "Cost by function",
        "USD per <code>#[llm_trace]</code> function: each call counts for the nearest annotated function above it.",
    );
    if rows.is_empty() {
        page.push_str("<p class=\"empty\">No calls.</p>");
    } else {
        let bars: Vec<Bar> = rows
            .iter()
            .take(MAX_BARS)
            .map(|row| {
                let femto = row.amounts.cost_femto;
                Bar {
                    label: short_function(&row.function).to_owned(),
                    title: row.function.clone(),
                    value: femto as f64,
                    shown: money(femto),
                    data: row.amounts.cost_femto.to_string(),
                }
            })
            .collect();
        page.push_str(&svg::bars(
            &bars,
            svg::COST,
            HALF,
            200.0,
            "Cost by function",
        ));
        more_rows(page, rows.len());
    }
    page.push_str("</article>\n");
}

fn over_time(page: &mut String, usage: &Usage) {
    let timeline = &usage.timeline;
    card_start(
        page,
        "Tokens and cost over time",
        &format!(
            "Calls by the time they ended, in buckets of {} from {} UTC.",
            duration(timeline.bucket_seconds * 1000.0),
            escape(&readable_time(&timeline.start))
        ),
    );
    page.push_str(&svg::timeline(timeline, FULL));
    page.push_str("</article>\n");
}

fn latency(page: &mut String, rows: &[ModelRow]) {
    card_start(
        page,
        "Latency per model",
        "How long calls took (log scale). p50 and p95 are bucket bounds: the true value is at most 26 % lower.",
    );
    if rows.is_empty() {
        page.push_str("<p class=\"empty\">No calls.</p>");
    } else {
        page.push_str(&svg::latency(rows, TWO_THIRDS));
    }
    page.push_str("</article>\n");
}

fn errors(page: &mut String, usage: &Usage) {
    card_start(
        page,
        "Errors by type",
        "Failed calls by <code>error.type</code>: the HTTP status, or <code>_OTHER</code>.",
    );
    if usage.errors.is_empty() {
        page.push_str("<p class=\"empty\">No failed calls.</p>");
    } else {
        let bars: Vec<Bar> = usage
            .errors
            .iter()
            .take(MAX_BARS)
            .map(|row| Bar {
                label: row.error_type.clone(),
                title: row.error_type.clone(),
                value: row.count as f64,
                shown: thousands(row.count),
                data: row.count.to_string(),
            })
            .collect();
        page.push_str(&svg::bars(&bars, svg::ERROR, 330.0, 90.0, "Errors by type"));
        let _ = write!(
            page,
            "<p class=\"hint\">{} of {} calls failed.</p>",
            thousands(usage.totals.amounts.errors),
            thousands(usage.totals.amounts.calls)
        );
        page.push_str("<table><thead><tr><th>Failed, by model</th><th class=\"num\">Calls</th><th class=\"num\">Rate</th></tr></thead><tbody>\n");
        for row in usage.by_model.iter().filter(|row| row.amounts.errors > 0) {
            let _ = writeln!(
                page,
                "<tr><td class=\"name\">{}</td><td class=\"num bad\">{} of {}</td><td class=\"num\">{:.1} %</td></tr>",
                escape(&model_name(row)),
                thousands(row.amounts.errors),
                thousands(row.amounts.calls),
                row.amounts.errors as f64 * 100.0 / row.amounts.calls.max(1) as f64
            );
        }
        page.push_str("</tbody></table>");
    }
    page.push_str("</article>\n");
}

fn num(page: &mut String, text: &str) {
    let _ = write!(page, "<td class=\"num\">{}</td>", escape(text));
}

fn model_table(page: &mut String, rows: &[ModelRow]) {
    card_start(
        page,
        "Models",
        "Every operation and model, most expensive first.",
    );
    page.push_str(
        "<table><thead><tr><th>Model</th><th class=\"num\">Calls</th><th class=\"num\">Failed</th>\
         <th class=\"num\">Input tokens</th><th class=\"num\">Output tokens</th><th class=\"num\">Cost</th>\
         <th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">Max</th></tr></thead><tbody>\n",
    );
    for row in rows {
        let _ = write!(
            page,
            "<tr><td class=\"name\">{}</td>",
            escape(&model_name(row))
        );
        num(page, &thousands(row.amounts.calls));
        failed_cell(page, row.amounts.errors);
        num(page, &thousands(row.amounts.input_tokens));
        num(page, &thousands(row.amounts.output_tokens));
        let cost = if row.amounts.calls > row.amounts.errors
            && row.unpriced_calls == row.amounts.calls - row.amounts.errors
        {
            "no price".to_owned()
        } else {
            money(row.amounts.cost_femto)
        };
        num(page, &cost);
        let latency = &row.latency;
        if latency.count > 0 {
            num(page, &format!("≤ {}", duration(latency.p50_ms)));
            num(page, &format!("≤ {}", duration(latency.p95_ms)));
            num(page, &duration(latency.max_ms));
        } else {
            page.push_str("<td></td><td></td><td></td>");
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody></table></article>\n");
}

fn failed_cell(page: &mut String, count: u64) {
    if count > 0 {
        let _ = write!(page, "<td class=\"num bad\">{}</td>", thousands(count));
    } else {
        num(page, "0");
    }
}

fn function_table(page: &mut String, rows: &[FunctionRow]) {
    card_start(
        page,
        "Functions",
        "Every annotated function, most expensive first: its runs, and the calls it made itself (calls in nested annotated functions count for those).",
    );
    page.push_str(
        "<table><thead><tr><th>Function</th><th class=\"num\">Runs</th><th class=\"num\">Failed runs</th>\
         <th class=\"num\">Calls</th><th class=\"num\">Failed calls</th><th class=\"num\">Input tokens</th>\
         <th class=\"num\">Output tokens</th><th class=\"num\">Cost</th></tr></thead><tbody>\n",
    );
    for row in rows {
        let short = short_function(&row.function);
        if short == row.function {
            let _ = write!(
                page,
                "<tr><td class=\"name\">{}</td>",
                escape(&row.function)
            );
        } else {
            let _ = write!(
                page,
                "<tr><td class=\"name\">{}<span class=\"path\">{}</span></td>",
                escape(short),
                escape(&row.function)
            );
        }
        num(page, &thousands(row.invocations));
        failed_cell(page, row.failed_invocations);
        num(page, &thousands(row.amounts.calls));
        failed_cell(page, row.amounts.errors);
        num(page, &thousands(row.amounts.input_tokens));
        num(page, &thousands(row.amounts.output_tokens));
        num(page, &money(row.amounts.cost_femto));
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody></table></article>\n");
}

fn traces(page: &mut String, title: &str, hint: &str, traces: &[TraceView]) {
    let _ = writeln!(
        page,
        "<h2 class=\"section\">{}</h2><p class=\"section\">{}</p>",
        escape(title),
        escape(hint)
    );
    if traces.is_empty() {
        page.push_str("<article class=\"card\"><p class=\"empty\">No traces.</p></article>\n");
        return;
    }
    for (rank, trace) in traces.iter().enumerate() {
        let femto = trace.amounts.cost_femto;
        let mut facts = format!(
            "{} · {} · {} calls",
            money(femto),
            duration(trace.duration_ms),
            thousands(trace.amounts.calls)
        );
        if trace.amounts.errors > 0 {
            let _ = write!(facts, " · {} failed", thousands(trace.amounts.errors));
        }
        if trace.amounts.input_tokens + trace.amounts.output_tokens > 0 {
            let _ = write!(
                facts,
                " · {} → {} tokens",
                thousands(trace.amounts.input_tokens),
                thousands(trace.amounts.output_tokens)
            );
        }
        let _ = writeln!(
            page,
            "<article class=\"card\" data-trace-id=\"{id}\"><h3>#{} · {}</h3>\
             <p class=\"hint\">trace <code>{id}</code> · started {} UTC</p>",
            rank + 1,
            escape(&facts),
            escape(&readable_time(&trace.start)),
            id = escape(&trace.trace_id),
        );
        page.push_str(&svg::waterfall(trace, FULL));
        if trace.spans_not_drawn > 0 {
            let _ = write!(
                page,
                "<p class=\"hint\">{} more spans of this trace are counted but not drawn.</p>",
                thousands(trace.spans_not_drawn)
            );
        }
        page.push_str("</article>\n");
    }
}

fn footer(page: &mut String, usage: &Usage) {
    let overflow = &usage.overflow;
    let limits = &usage.limits;
    let _ = write!(
        page,
        "<footer><p><strong>What this covers:</strong> {}. Sampler: <code>{}</code>. Costs come from llm-trace's price table and are summed exactly (in 10⁻¹⁵ USD).</p>",
        escape(&usage.covers),
        escape(&usage.sampler)
    );
    let mut folded = Vec::new();
    for (count, what) in [
        (overflow.model_calls, "calls of models past the first {models} counted as (other)"),
        (overflow.function_calls, "calls of functions past the first {functions} counted as (other)"),
        (overflow.error_calls, "failed calls of error types past the first {error_types} counted as (other)"),
        (overflow.traces_closed_early, "traces summarised before their root span ended (more than {open_traces} open at once)"),
        (overflow.calls_unattributed, "calls whose function had not ended when their trace was summarised, counted outside annotated functions"),
    ] {
        if count > 0 {
            let what = what
                .replace("{models}", &limits.models.to_string())
                .replace("{functions}", &limits.functions.to_string())
                .replace("{error_types}", &limits.error_types.to_string())
                .replace("{open_traces}", &limits.open_traces.to_string());
            folded.push(format!("{} {}", thousands(count), escape(&what)));
        }
    }
    if !folded.is_empty() {
        let _ = write!(
            page,
            "<p><strong>Limits reached:</strong> {}.</p>",
            folded.join("; ")
        );
    }
    let _ = writeln!(
        page,
        "<p>Generated by {} at {} UTC. The same numbers are in the JSON file beside this page, and embedded below.</p></footer>",
        escape(&usage.generated_by),
        escape(&readable_time(&usage.ended_at))
    );
}
