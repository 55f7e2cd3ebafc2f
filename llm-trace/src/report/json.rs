//! `usage.json`: the report's [`Usage`] as pretty-printed JSON, and the same text made
//! safe to embed in the HTML page's `<script type="application/json">` block.

use super::model::Usage;

/// The report as JSON.
pub(crate) fn render(usage: &Usage) -> String {
    let mut text = serde_json::to_string_pretty(usage).unwrap_or_else(|error| {
        format!("{{\"error\": \"the report could not be serialised: {error}\"}}")
    });
    text.push('\n');
    text
}

/// JSON that cannot close or confuse the `<script>` element around it: `<`, `>` and `&`
/// (which JSON has only inside strings) become `\u003c`, `\u003e` and `\u0026`, the same
/// string to any JSON parser.
pub(crate) fn embeddable(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_json_cannot_close_its_script_and_parses_the_same() {
        let json = r#"{"function": "</script><b>&amp;"}"#;
        let embedded = super::embeddable(json);
        assert!(
            !embedded.contains('<') && !embedded.contains('&'),
            "{embedded}"
        );
        let a: serde_json::Value = serde_json::from_str(json).unwrap();
        let b: serde_json::Value = serde_json::from_str(&embedded).unwrap();
        assert_eq!(a, b);
    }
}
