//! Bounding text without splitting a character.

/// The longest prefix of `text` that is at most `max_bytes` long and ends at a character
/// boundary, and whether anything was cut.
///
/// ```
/// use llm_trace_core::text::truncate;
/// assert_eq!(truncate("Édouard", 1), ("", true)); // "É" is two bytes: never half of it
/// assert_eq!(truncate("Édouard", 3), ("Éd", true));
/// assert_eq!(truncate("Monet", 5), ("Monet", false));
/// ```
pub fn truncate(text: &str, max_bytes: usize) -> (&str, bool) {
    if text.len() <= max_bytes {
        return (text, false);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// [`truncate`] on an owned string, in place.
pub fn truncate_owned(mut text: String, max_bytes: usize) -> (String, bool) {
    let (kept, cut) = truncate(&text, max_bytes);
    let len = kept.len();
    text.truncate(len);
    (text, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_character_boundaries() {
        assert_eq!(truncate("éé", 3), ("é", true));
        assert_eq!(truncate("日本語", 4), ("日", true));
        assert_eq!(truncate("", 0), ("", false));
        assert_eq!(truncate("a", 0), ("", true));
        assert_eq!(truncate_owned("日本語".into(), 6), ("日本".into(), true));
    }
}
