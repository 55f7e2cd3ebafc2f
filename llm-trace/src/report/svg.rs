//! The report's charts as inline SVG, drawn in Rust: horizontal bars, tokens and cost
//! over time, call latency per model on a log axis, and trace waterfalls. Every bar
//! carries its number in a `data-value` attribute and a `<title>` tooltip.

use std::fmt::Write as _;

use super::format::{compact, duration, escape, money, short_number, shorten, thousands, tick};
use super::latency::BOUNDS_NS;
use super::model::{millis, ModelRow, Timeline, TraceView, FEMTO_PER_USD};

pub(crate) const INK: &str = "#0f172a";
pub(crate) const MUTED: &str = "#64748b";
const GRID: &str = "#e2e8f0";
const TRACK: &str = "#f1f5f9";
pub(crate) const COST: &str = "#4f46e5";
pub(crate) const INPUT: &str = "#0d9488";
pub(crate) const OUTPUT: &str = "#f59e0b";
pub(crate) const ERROR: &str = "#dc2626";
const FUNCTION: &str = "#94a3b8";
const EMBEDDINGS: &str = "#0d9488";
const STRIPE: &str = "#f8fafc";

/// Characters of 12 px text that fit in `width` pixels (a conservative average).
fn fits(width: f64) -> usize {
    (width / 6.6).max(4.0) as usize
}

/// An SVG being written.
struct Svg {
    out: String,
}

impl Svg {
    fn new(width: f64, height: f64, label: &str) -> Svg {
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{}" font-size="12">"#,
            escape(label)
        );
        Svg { out }
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = write!(
            self.out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{fill}"{extra}/>"#,
            w.max(0.0)
        );
    }

    /// A rectangle with a tooltip.
    #[allow(clippy::too_many_arguments)]
    fn rect_titled(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: &str,
        extra: &str,
        title: &str,
    ) {
        let _ = write!(
            self.out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{fill}"{extra}><title>{}</title></rect>"#,
            w.max(0.0),
            escape(title)
        );
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, extra: &str) {
        let _ = write!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}"{extra}/>"#
        );
    }

    /// Text; `style` holds extra attributes (`text-anchor="end"`, `font-weight="600"`).
    fn text(&mut self, x: f64, y: f64, text: &str, fill: &str, style: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" fill="{fill}"{style}>{}</text>"#,
            escape(text)
        );
    }

    /// Text with a tooltip holding the whole of it.
    fn text_titled(&mut self, x: f64, y: f64, text: &str, title: &str, fill: &str, style: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" fill="{fill}"{style}><title>{}</title>{}</text>"#,
            escape(title),
            escape(text)
        );
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at least `value`.
fn nice(value: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    let fraction = value / magnitude;
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&step| fraction <= step + 1e-9)
        .unwrap_or(10.0);
    step * magnitude
}

/// A round axis maximum at least `value` (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ): the
/// tallest bar fills most of the chart.
fn axis_max(value: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    let fraction = value / magnitude;
    let step = [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .find(|&step| fraction <= step + 1e-9)
        .unwrap_or(10.0);
    step * magnitude
}

/// One bar of a bar chart.
pub(crate) struct Bar {
    pub(crate) label: String,
    /// The whole label, for the tooltip.
    pub(crate) title: String,
    pub(crate) value: f64,
    pub(crate) shown: String,
    /// The exact number, for `data-value`.
    pub(crate) data: String,
}

/// Horizontal bars, longest first as given, each labelled with its value.
pub(crate) fn bars(
    bars: &[Bar],
    colour: &str,
    width: f64,
    label_width: f64,
    label: &str,
) -> String {
    let row = 30.0;
    let height = (bars.len() as f64 * row).max(row);
    let mut svg = Svg::new(width, height, label);
    let value_width = 92.0;
    let track = width - label_width - value_width;
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    for (index, bar) in bars.iter().enumerate() {
        let y = index as f64 * row;
        svg.text_titled(
            0.0,
            y + 19.0,
            &shorten(&bar.label, fits(label_width - 8.0)),
            &bar.title,
            INK,
            "",
        );
        svg.rect(label_width, y + 7.0, track, 16.0, TRACK, r#" rx="4""#);
        let length = if max > 0.0 {
            (bar.value / max * track).max(if bar.value > 0.0 { 2.0 } else { 0.0 })
        } else {
            0.0
        };
        svg.rect_titled(
            label_width,
            y + 7.0,
            length,
            16.0,
            colour,
            &format!(
                r#" rx="4" data-key="{}" data-value="{}""#,
                escape(&bar.title),
                escape(&bar.data)
            ),
            &format!("{}: {}", bar.title, bar.shown),
        );
        svg.text(
            width,
            y + 19.5,
            &bar.shown,
            INK,
            r#" text-anchor="end" font-weight="600""#,
        );
    }
    svg.finish()
}

/// A time offset as the axis shows it, for an axis `total` seconds long.
fn offset_label(seconds: f64, total: f64) -> String {
    if total < 120.0 {
        format!("{} s", short_number(seconds))
    } else if total < 7200.0 {
        let s = seconds.round() as u64;
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        let m = (seconds / 60.0).round() as u64;
        format!("{}:{:02} h", m / 60, m % 60)
    }
}

/// Tokens (input and output, stacked) and cost per time bucket: two panels sharing the
/// time axis.
pub(crate) fn timeline(view: &Timeline, width: f64) -> String {
    let (left, right) = (64.0, 8.0);
    let (tokens_top, tokens_height) = (30.0, 130.0);
    let (cost_top, cost_height) = (190.0, 70.0);
    let height = 290.0;
    let mut svg = Svg::new(width, height, "Tokens and cost over time");
    let plot = width - left - right;
    let slots = view.buckets.len().max(24);
    let slot = plot / slots as f64;
    let bar = (slot * 0.74).max(1.0);

    // Legend.
    let mut x = left;
    for (colour, text) in [
        (INPUT, "input tokens"),
        (OUTPUT, "output tokens"),
        (COST, "cost"),
    ] {
        svg.rect(x, 4.0, 10.0, 10.0, colour, r#" rx="2""#);
        svg.text(x + 15.0, 13.5, text, MUTED, "");
        x += 22.0 + text.len() as f64 * 6.6;
    }

    let token_max = axis_max(
        view.buckets
            .iter()
            .map(|b| (b.amounts.input_tokens + b.amounts.output_tokens) as f64)
            .fold(0.0, f64::max),
    );
    let cost_max_femto = view
        .buckets
        .iter()
        .map(|b| b.amounts.cost_femto)
        .max()
        .unwrap_or(0);
    let cost_max = axis_max(cost_max_femto as f64 / FEMTO_PER_USD as f64);
    for (top, panel, max, is_cost) in [
        (tokens_top, tokens_height, token_max, false),
        (cost_top, cost_height, cost_max, true),
    ] {
        for step in 0..=2 {
            let value = max * f64::from(step) / 2.0;
            let y = top + panel - panel * f64::from(step) / 2.0;
            svg.line(left, y, width - right, y, GRID, "");
            let label = if is_cost {
                money((value * FEMTO_PER_USD as f64).round() as u128)
            } else {
                compact(value)
            };
            svg.text(left - 6.0, y + 4.0, &label, MUTED, r#" text-anchor="end""#);
        }
    }
    svg.text(0.0, tokens_top - 8.0, "tokens", MUTED, "");
    svg.text(0.0, cost_top - 8.0, "USD", MUTED, "");

    for (index, bucket) in view.buckets.iter().enumerate() {
        let x = left + index as f64 * slot + (slot - bar) / 2.0;
        let when = format!(
            "+{}",
            offset_label(bucket.offset_seconds, slots as f64 * view.bucket_seconds)
        );
        let input = bucket.amounts.input_tokens as f64 / token_max * tokens_height;
        let output = bucket.amounts.output_tokens as f64 / token_max * tokens_height;
        let base = tokens_top + tokens_height;
        svg.rect_titled(
            x,
            base - input,
            bar,
            input,
            INPUT,
            &format!(
                r#" data-key="input_tokens" data-value="{}""#,
                bucket.amounts.input_tokens
            ),
            &format!(
                "{when}: {} input tokens",
                thousands(bucket.amounts.input_tokens)
            ),
        );
        svg.rect_titled(
            x,
            base - input - output,
            bar,
            output,
            OUTPUT,
            &format!(
                r#" data-key="output_tokens" data-value="{}""#,
                bucket.amounts.output_tokens
            ),
            &format!(
                "{when}: {} output tokens",
                thousands(bucket.amounts.output_tokens)
            ),
        );
        let femto = bucket.amounts.cost_femto;
        let cost = femto as f64 / FEMTO_PER_USD as f64 / cost_max * cost_height;
        svg.rect_titled(
            x,
            cost_top + cost_height - cost,
            bar,
            cost,
            COST,
            &format!(r#" rx="1.5" data-key="cost_femto_usd" data-value="{femto}""#),
            &format!(
                "{when}: {} in {} calls ({} failed)",
                money(femto),
                bucket.amounts.calls,
                bucket.amounts.errors
            ),
        );
    }

    // Time axis: round times, about eight of them.
    let total = slots as f64 * view.bucket_seconds;
    let step = nice(total / 8.0);
    let mut at = 0.0;
    while at <= total + 1e-9 {
        let x = left + at / total * plot;
        svg.line(
            x,
            cost_top + cost_height,
            x,
            cost_top + cost_height + 4.0,
            MUTED,
            "",
        );
        svg.text(
            x,
            height - 8.0,
            &offset_label(at, total),
            MUTED,
            r#" text-anchor="middle""#,
        );
        at += step;
    }
    svg.finish()
}

/// The lower bound, in milliseconds, of the latency bucket whose upper bound is `le_ms`
/// (`None`: the last, unbounded bucket).
fn bucket_floor(le_ms: Option<f64>) -> f64 {
    match le_ms {
        None => millis(BOUNDS_NS[BOUNDS_NS.len() - 1]),
        Some(le) => {
            let index = BOUNDS_NS.iter().position(|&b| millis(b) >= le).unwrap_or(0);
            if index == 0 {
                millis(BOUNDS_NS[0]) / 1.25
            } else {
                millis(BOUNDS_NS[index - 1])
            }
        }
    }
}

/// Call durations per model: each row a histogram on a shared log axis, with the p50
/// (solid) and p95 (dashed) marks.
pub(crate) fn latency(rows: &[ModelRow], width: f64) -> String {
    let label_width = 210.0;
    let row = 46.0;
    let axis = 26.0;
    let height = rows.len() as f64 * row + axis + 22.0;
    let mut svg = Svg::new(width, height, "Latency per model");
    let measured: Vec<&ModelRow> = rows.iter().filter(|r| r.latency.count > 0).collect();
    let low = measured
        .iter()
        .map(|r| r.latency.min_ms.max(0.01))
        .fold(f64::INFINITY, f64::min);
    let high = measured
        .iter()
        .map(|r| r.latency.max_ms.max(0.01))
        .fold(0.0, f64::max);
    // The axis runs between round values (1, 2, 5 × 10ⁿ ms) around every call.
    let steps: Vec<f64> = (-2..=6)
        .flat_map(|e| [1.0, 2.0, 5.0].map(|f| f * 10f64.powi(e)))
        .collect();
    let (from, to) = if measured.is_empty() {
        (1.0, 1000.0)
    } else {
        let from = steps
            .iter()
            .rev()
            .find(|&&s| s <= low)
            .copied()
            .unwrap_or(steps[0]);
        let to = steps
            .iter()
            .find(|&&s| s >= high && s > from)
            .copied()
            .unwrap_or(steps[steps.len() - 1]);
        (from, to)
    };
    let plot_left = label_width;
    let plot = width - label_width - 12.0;
    let span = to.log10() - from.log10();
    let x_of = |ms: f64| {
        let position = (ms.max(1e-3).log10() - from.log10()) / span;
        plot_left + position.clamp(0.0, 1.0) * plot
    };
    let bottom = rows.len() as f64 * row;
    // (value, whether it is a power of ten)
    let ticks: Vec<(f64, bool)> = steps
        .iter()
        .enumerate()
        .filter(|(_, &s)| s >= from * 0.999 && s <= to * 1.001)
        .map(|(index, &s)| (s, index % 3 == 0))
        .collect();
    // Beyond ten labels, only the decades (and the ends).
    let crowded = ticks.len() > 10;
    for &(at, decade) in &ticks {
        if crowded && !decade && at != from && at != to {
            continue;
        }
        let x = x_of(at);
        let dash = if decade {
            ""
        } else {
            r#" stroke-dasharray="2 3""#
        };
        svg.line(x, 0.0, x, bottom, GRID, dash);
        svg.text(
            x,
            bottom + 16.0,
            &tick(at),
            MUTED,
            r#" text-anchor="middle""#,
        );
    }
    for (index, model) in rows.iter().enumerate() {
        let y = index as f64 * row;
        let name = format!("{} {}", model.operation, model.model);
        svg.text_titled(
            0.0,
            y + 18.0,
            &shorten(&name, fits(label_width - 10.0)),
            &name,
            INK,
            "",
        );
        let latency = &model.latency;
        let stats = if latency.count == 0 {
            "no calls".to_owned()
        } else {
            format!(
                "p50 ≤ {} · p95 ≤ {}",
                duration(latency.p50_ms),
                duration(latency.p95_ms)
            )
        };
        svg.text(0.0, y + 34.0, &stats, MUTED, r#" font-size="11""#);
        let base = y + row - 8.0;
        svg.line(plot_left, base, plot_left + plot, base, GRID, "");
        let tallest = latency.buckets.iter().map(|b| b.count).max().unwrap_or(0);
        for bucket in &latency.buckets {
            let floor = bucket_floor(bucket.le_ms);
            let ceiling = bucket.le_ms.unwrap_or(latency.max_ms.max(floor * 1.25));
            let (x1, x2) = (x_of(floor), x_of(ceiling));
            let h = bucket.count as f64 / tallest.max(1) as f64 * 26.0;
            let range = match bucket.le_ms {
                Some(le) => format!("{} to {}", duration(floor), duration(le)),
                None => format!("over {}", duration(floor)),
            };
            svg.rect_titled(
                x1 + 0.5,
                base - h,
                (x2 - x1 - 1.0).max(1.5),
                h,
                COST,
                &format!(
                    r#" fill-opacity="0.75" data-key="{}" data-value="{}""#,
                    escape(&name),
                    bucket.count
                ),
                &format!("{name}: {} calls, {range}", bucket.count),
            );
        }
        if latency.count > 0 {
            let p50 = x_of(latency.p50_ms);
            let p95 = x_of(latency.p95_ms);
            svg.line(p50, y + 8.0, p50, base, INK, r#" stroke-width="2""#);
            svg.line(
                p95,
                y + 8.0,
                p95,
                base,
                OUTPUT,
                r#" stroke-width="2" stroke-dasharray="4 3""#,
            );
        }
    }
    // Legend.
    let y = height - 6.0;
    svg.rect(
        plot_left,
        y - 9.0,
        10.0,
        10.0,
        COST,
        r#" fill-opacity="0.75""#,
    );
    svg.text(plot_left + 15.0, y, "calls per duration bucket", MUTED, "");
    let x = plot_left + 190.0;
    svg.line(x, y - 9.0, x, y + 1.0, INK, r#" stroke-width="2""#);
    svg.text(x + 7.0, y, "p50", MUTED, "");
    let x = x + 48.0;
    svg.line(
        x,
        y - 9.0,
        x,
        y + 1.0,
        OUTPUT,
        r#" stroke-width="2" stroke-dasharray="4 3""#,
    );
    svg.text(x + 7.0, y, "p95", MUTED, "");
    svg.finish()
}

/// The colour of a span's bar.
fn span_colour(kind: &str, operation: Option<&str>, failed: bool) -> &'static str {
    match (failed, kind, operation) {
        (true, _, _) => ERROR,
        (_, "function", _) => FUNCTION,
        (_, _, Some("embeddings")) => EMBEDDINGS,
        _ => COST,
    }
}

/// One trace as a waterfall: a row per span, nested under its parent, its bar on the
/// trace's time axis, labelled with duration, tokens and cost.
pub(crate) fn waterfall(trace: &TraceView, width: f64) -> String {
    let label_width = 290.0;
    let row = 26.0;
    let axis = 24.0;
    let height = axis + trace.spans.len().max(1) as f64 * row + 4.0;
    let mut svg = Svg::new(width, height, &format!("Trace {}", trace.trace_id));
    let plot_left = label_width + 8.0;
    let plot = width - plot_left - 8.0;
    let total = trace.duration_ms.max(1e-3);
    let x_of = |ms: f64| plot_left + (ms / total).clamp(0.0, 1.0) * plot;

    let step = nice(total / 6.0);
    let mut at = 0.0;
    while at <= total + 1e-9 {
        let x = x_of(at);
        svg.line(x, axis - 4.0, x, height, GRID, "");
        svg.text(x, axis - 9.0, &tick(at), MUTED, r#" text-anchor="middle""#);
        at += step;
    }
    for (index, span) in trace.spans.iter().enumerate() {
        let y = axis + index as f64 * row;
        if index % 2 == 0 {
            svg.rect(0.0, y, width, row, STRIPE, "");
        }
        let indent = f64::from(span.depth.min(12)) * 14.0 + 4.0;
        let weight = if span.kind == "function" {
            r#" font-weight="600""#
        } else {
            ""
        };
        svg.text_titled(
            indent,
            y + 17.0,
            &shorten(&span.name, fits(label_width - indent)),
            &span.name,
            INK,
            weight,
        );
        let x1 = x_of(span.start_offset_ms);
        let x2 = x_of(span.start_offset_ms + span.duration_ms).max(x1 + 2.0);
        let failed = span.error_type.is_some();
        let mut note = duration(span.duration_ms);
        if let Some(input) = span.input_tokens {
            match span.output_tokens {
                Some(output) => {
                    let _ = write!(
                        note,
                        " · {} → {} tokens",
                        thousands(input),
                        thousands(output)
                    );
                }
                None => {
                    let _ = write!(note, " · {} tokens", thousands(input));
                }
            }
        }
        if let Some(cost) = &span.cost_femto_usd {
            let _ = write!(note, " · {}", money(cost.parse().unwrap_or(0)));
        }
        if let Some(error) = &span.error_type {
            let _ = write!(note, " · ERROR {error}");
        }
        svg.rect_titled(
            x1,
            y + 6.0,
            x2 - x1,
            14.0,
            span_colour(span.kind, span.operation.as_deref(), failed),
            &format!(
                r#" rx="3" data-key="{}" data-value="{}""#,
                escape(&span.span_id),
                span.duration_ms
            ),
            &format!("{}: {note}", span.name),
        );
        let room = note.chars().count() as f64 * 6.3;
        let colour = if failed { ERROR } else { MUTED };
        if x2 + 6.0 + room <= width {
            svg.text(x2 + 6.0, y + 17.0, &note, colour, r#" font-size="11""#);
        } else if x1 - 6.0 - room >= plot_left {
            svg.text(
                x1 - 6.0,
                y + 17.0,
                &note,
                colour,
                r#" font-size="11" text-anchor="end""#,
            );
        } else {
            // No room beside the bar: the bar is long, the note goes inside it.
            svg.text(
                x1 + 6.0,
                y + 17.0,
                &note,
                "#ffffff",
                r#" font-size="11" font-weight="600""#,
            );
        }
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(2.2), 2.5);
        assert_eq!(nice(120.0), 200.0);
        assert_eq!(nice(0.004), 0.005);
        assert_eq!(axis_max(5075.0), 6000.0);
        assert!((axis_max(0.0087) - 0.01).abs() < 1e-15);
        assert_eq!(axis_max(0.0), 1.0);
    }

    #[test]
    fn bars_carry_their_numbers() {
        let svg = bars(
            &[Bar {
                label: "chat <m>".into(),
                title: "chat <m>".into(),
                value: 2.0,
                shown: "$2.00".into(),
                data: "2000000000000000".into(),
            }],
            COST,
            400.0,
            120.0,
            "Cost by model",
        );
        assert!(
            svg.contains(r#"data-key="chat &lt;m&gt;" data-value="2000000000000000""#),
            "{svg}"
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
