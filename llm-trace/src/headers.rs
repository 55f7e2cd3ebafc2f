//! OTLP headers: parsed, validated and masked in one place. Header values are often
//! secrets (API keys, bearer tokens): no message, log line or `Debug` output shows one.

/// Masks header values: `key=***`.
pub(crate) fn mask(text: &str) -> String {
    text.split(',')
        .map(|entry| match entry.split_once('=') {
            Some((key, _)) => format!("{}=***", key.trim()),
            None => "***".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Masks the values of parsed headers: `key=***,...`.
pub(crate) fn mask_pairs(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(key, _)| format!("{key}=***"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Decodes `%XX` escapes (OTLP header values are URL-encoded).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn valid_name(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn valid_value(value: &str) -> bool {
    !value.bytes().any(|b| b.is_ascii_control())
}

/// Parses `key1=value1,key2=value2` (values URL-decoded, names lower-cased); an error
/// never shows a value.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut headers = Vec::new();
    for (index, entry) in text.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!("entry {} is not key=value", index + 1));
        };
        let key = key.trim();
        if !valid_name(key) {
            return Err(format!(
                "entry {} has an invalid header name {key:?}",
                index + 1
            ));
        }
        let value = percent_decode(value.trim())
            .filter(|v| valid_value(v))
            .ok_or_else(|| format!("entry {} has an invalid value", index + 1))?;
        headers.push((key.to_ascii_lowercase(), value));
    }
    Ok(headers)
}

/// Checks headers given in code; an error never shows a value.
pub(crate) fn check(headers: &Vec<(String, String)>) -> Result<(), String> {
    for (key, value) in headers {
        if !valid_name(key) {
            return Err(format!("invalid header name {key:?}"));
        }
        if !valid_value(value) {
            return Err(format!("invalid value for header {key:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decodes_and_never_shows_values() {
        assert_eq!(
            parse("x-api-key=s%3Dcret, Tenant = acme").unwrap(),
            vec![
                ("x-api-key".to_owned(), "s=cret".to_owned()),
                ("tenant".to_owned(), "acme".to_owned())
            ]
        );
        for bad in [
            "x-api-key=secret-value,broken",
            "bad key=secret-value",
            "k=%zz",
            "k=a\u{7}secret-value",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(!error.contains("secret-value"), "{error}");
        }
        assert_eq!(mask("x-api-key=secret-value,broken"), "x-api-key=***,***");
        assert_eq!(
            mask_pairs(&[("authorization".into(), "Bearer sk-1".into())]),
            "authorization=***"
        );
        assert!(check(&vec![("a b".into(), "v".into())]).is_err());
        assert!(check(&vec![("a".into(), "v\n".into())])
            .unwrap_err()
            .contains("\"a\""));
    }
}
