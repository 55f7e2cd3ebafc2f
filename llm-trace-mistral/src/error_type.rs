//! `error.type` from mistralai-client's `ApiError`, whose message is all it carries.
//!
//! For HTTP failures the async methods write `"{status}: {body}"` and the blocking ones
//! `"{body}: {status}"`, where `{status}` is reqwest's `"429 Too Many Requests"`;
//! `chat_stream` wraps its own error once more, as `"ApiError: {status}: {body}"`. Anything
//! else (connection refused, timeout, undecodable body) has no status.

/// The HTTP status code an `ApiError` message carries, if any.
///
/// ```
/// use llm_trace_mistral::error_type::http_status;
/// assert_eq!(http_status("429 Too Many Requests: {\"message\":\"slow down\"}"), Some(429));
/// assert_eq!(http_status("{\"message\":\"slow down\"}: 429 Too Many Requests"), Some(429));
/// assert_eq!(http_status("ApiError: 503 Service Unavailable: {}"), Some(503));
/// assert_eq!(http_status("error sending request for url (http://127.0.0.1:1/v1/chat/completions)"), None);
/// ```
pub fn http_status(message: &str) -> Option<u16> {
    let mut message = message;
    while let Some(inner) = message.strip_prefix("ApiError: ") {
        message = inner;
    }
    leading_status(message).or_else(|| {
        let (_, tail) = message.rsplit_once(": ")?;
        status_line(tail)
    })
}

/// `"429 Too Many Requests: ..."` (async form).
fn leading_status(message: &str) -> Option<u16> {
    let (head, _) = message.split_once(": ")?;
    status_line(head)
}

/// A reqwest status line: three digits, then nothing or a space and a reason phrase.
fn status_line(text: &str) -> Option<u16> {
    let digits = text.get(..3)?;
    let rest = &text[3..];
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // reqwest writes the reason phrase, or `<unknown status code>` for codes without one
    // (499, Cloudflare's 52x).
    let reason_ok = rest.is_empty()
        || rest == " <unknown status code>"
        || (rest.starts_with(' ')
            && rest[1..]
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '-' || c == '\''));
    let code: u16 = digits.parse().ok()?;
    (reason_ok && (100..=599).contains(&code)).then_some(code)
}

/// The `error.type` value for a status code: the code itself (a static string for the
/// common ones).
pub fn status_error_type(code: u16) -> std::borrow::Cow<'static, str> {
    use std::borrow::Cow;
    Cow::Borrowed(match code {
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        408 => "408",
        409 => "409",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => return Cow::Owned(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::http_status;

    #[test]
    fn finds_the_status_in_both_message_forms() {
        assert_eq!(http_status("503 Service Unavailable: "), Some(503));
        assert_eq!(http_status("503 Service Unavailable"), None, "no separator");
        assert_eq!(http_status(": 418 I'm a teapot"), Some(418));
        assert_eq!(
            http_status("{\"a\": 1}: 500 Internal Server Error"),
            Some(500)
        );
        assert_eq!(http_status("error decoding response body"), None);
        assert_eq!(http_status("body: 999 Nope"), None);
        assert_eq!(http_status("520 <unknown status code>: <html>"), Some(520));
        assert_eq!(http_status("<html>: 529 <unknown status code>"), Some(529));
        assert_eq!(http_status("value: 1234"), None);
        assert_eq!(http_status("résumé: 4"), None);
        assert_eq!(http_status(""), None);
    }
}
