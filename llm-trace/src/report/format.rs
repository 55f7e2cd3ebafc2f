//! Numbers for people: money to three significant digits (from exact femto-dollars),
//! counts with thousands separators, durations in the unit that reads best.

use super::model::FEMTO_PER_USD;

/// An amount of femto-dollars as `$0.0000038`, `$0.0123`, `$12.34` or `$1,234`.
pub(crate) fn money(femto: u128) -> String {
    if femto == 0 {
        return "$0".to_owned();
    }
    if femto >= FEMTO_PER_USD {
        let cents = (femto + FEMTO_PER_USD / 200) / (FEMTO_PER_USD / 100);
        let (dollars, cents) = (cents / 100, cents % 100);
        return if dollars >= 1000 {
            format!("${}", thousands(dollars))
        } else {
            format!("${dollars}.{cents:02}")
        };
    }
    // Three significant digits, rounded half up, printed exactly.
    let digits = femto.ilog10() + 1;
    let rounded = if digits > 3 {
        let scale = 10u128.pow(digits - 3);
        (femto + scale / 2) / scale * scale
    } else {
        femto
    };
    if rounded >= FEMTO_PER_USD {
        return "$1.00".to_owned();
    }
    let fraction = format!("{rounded:015}");
    format!("$0.{}", fraction.trim_end_matches('0'))
}

/// A count with thousands separators: `12,345`.
pub(crate) fn thousands(value: impl Into<u128>) -> String {
    let digits = value.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A count, short: `950`, `12.3k`, `4.5M`.
pub(crate) fn compact(value: f64) -> String {
    let value = value.max(0.0);
    if value >= 1e9 {
        format!("{}G", short_number(value / 1e9))
    } else if value >= 1e6 {
        format!("{}M", short_number(value / 1e6))
    } else if value >= 1e3 {
        format!("{}k", short_number(value / 1e3))
    } else {
        short_number(value)
    }
}

/// Up to three significant digits, no trailing zeros: `250`, `1.25`, `0.5`.
pub(crate) fn short_number(value: f64) -> String {
    let text = if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A duration in milliseconds as `850 µs`, `4.2 ms`, `412 ms`, `1.23 s` or `2 min 5 s`.
pub(crate) fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let seconds = (ms / 1000.0).round() as u64;
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

/// An axis label for a time in milliseconds: `0`, `0.5 ms`, `250 ms`, `1.25 s`.
pub(crate) fn tick(ms: f64) -> String {
    if ms <= 0.0 {
        "0".to_owned()
    } else if ms < 1000.0 {
        format!("{} ms", short_number(ms))
    } else {
        format!("{} s", short_number(ms / 1000.0))
    }
}

/// Text safe inside HTML and SVG, in elements and in quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `text`, `…` marking a cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// A function path's last two segments (`crate::module::f` → `module::f`).
pub(crate) fn short_function(path: &str) -> &str {
    let mut cuts = path.match_indices("::").map(|(i, _)| i).collect::<Vec<_>>();
    if cuts.len() < 2 {
        return path;
    }
    cuts.pop();
    let cut = cuts[cuts.len() - 1];
    &path[cut + 2..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_well_at_every_size() {
        assert_eq!(money(0), "$0");
        assert_eq!(money(3_800_000_000), "$0.0000038");
        assert_eq!(money(3_849_000_000), "$0.00000385");
        assert_eq!(money(12_345_000_000_000), "$0.0123");
        assert_eq!(money(999_600_000_000_000), "$1.00");
        assert_eq!(money(12_345_000_000_000_000), "$12.35");
        assert_eq!(money(1_234_567 * FEMTO_PER_USD), "$1,234,567");
        assert_eq!(money(7), "$0.000000000000007");
    }

    #[test]
    fn counts_and_durations() {
        assert_eq!(thousands(1_234_567u64), "1,234,567");
        assert_eq!(thousands(999u64), "999");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(12_345.0), "12.3k");
        assert_eq!(compact(2_000_000.0), "2M");
        assert_eq!(compact(0.5), "0.5");
        assert_eq!(duration(0.85), "850 µs");
        assert_eq!(duration(4.24), "4.2 ms");
        assert_eq!(duration(412.3), "412 ms");
        assert_eq!(duration(1234.0), "1.23 s");
        assert_eq!(duration(125_000.0), "2 min 5 s");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.5), "0.5 ms");
        assert_eq!(tick(250.0), "250 ms");
        assert_eq!(tick(1250.0), "1.25 s");
    }

    #[test]
    fn text_is_escaped_and_shortened() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
        assert_eq!(short_function("app::chat::reply"), "chat::reply");
        assert_eq!(short_function("reply"), "reply");
        assert_eq!(short_function("chat::reply"), "chat::reply");
    }
}
