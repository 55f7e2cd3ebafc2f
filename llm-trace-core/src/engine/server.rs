//! `server.address` and `server.port` from a client's endpoint URL.

use std::sync::{Arc, OnceLock, RwLock};

use super::sync;

/// The host and port of an endpoint URL such as `https://api.mistral.ai/v1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerAddress {
    /// Host name or IP address, without brackets for IPv6.
    pub(crate) host: String,
    /// The explicit port, else the scheme's default (`http` 80, `https` 443), else
    /// `default_port`.
    pub(crate) port: u16,
}

impl ServerAddress {
    /// Parses the authority of an endpoint URL; `None` when there is no host.
    ///
    /// Credentials in the URL (`user:pass@`) are dropped: they never reach a span.
    pub(crate) fn parse(endpoint: &str, default_port: u16) -> Option<ServerAddress> {
        let (scheme, rest) = match endpoint.split_once("://") {
            Some((scheme, rest)) => (Some(scheme), rest),
            None => (None, endpoint),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return None;
        }
        let port = match port {
            Some(port) => port.parse().ok()?,
            None => match scheme.map(str::to_ascii_lowercase).as_deref() {
                Some("http") => 80,
                Some("https") => 443,
                _ => default_port,
            },
        };
        Some(ServerAddress {
            host: host.to_owned(),
            port,
        })
    }
}

/// The host and port of an endpoint URL (for settings validation), or `None` when it has
/// no valid host and port.
pub fn server_address(endpoint: &str, default_port: u16) -> Option<(String, u16)> {
    ServerAddress::parse(endpoint, default_port).map(|address| (address.host, address.port))
}

/// How many endpoints [`server_attributes`] remembers.
const CACHE_SIZE: usize = 8;

type Cache = RwLock<Vec<(Box<str>, Option<(Arc<str>, u16)>)>>;

/// The host (shared) and port of `endpoint`, parsed once per endpoint: a process calls
/// the same few endpoints over and over.
pub(crate) fn server_attributes(endpoint: &str, default_port: u16) -> Option<(Arc<str>, u16)> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    {
        let entries = sync::read(cache);
        if let Some((_, parsed)) = entries.iter().find(|(known, _)| &**known == endpoint) {
            return parsed.clone();
        }
    }
    let parsed = ServerAddress::parse(endpoint, default_port)
        .map(|address| (Arc::<str>::from(address.host), address.port));
    let mut entries = sync::write(cache);
    if entries.len() >= CACHE_SIZE {
        entries.remove(0);
    }
    entries.push((endpoint.into(), parsed.clone()));
    parsed
}

#[cfg(test)]
mod tests {
    use super::ServerAddress;

    fn parse(url: &str) -> Option<(String, u16)> {
        ServerAddress::parse(url, 443).map(|s| (s.host, s.port))
    }

    #[test]
    fn parses_common_endpoints() {
        assert_eq!(
            parse("https://api.mistral.ai/v1"),
            Some(("api.mistral.ai".into(), 443))
        );
        assert_eq!(parse("http://localhost/v1"), Some(("localhost".into(), 80)));
        assert_eq!(parse("http://[::1]:9000/v1"), Some(("::1".into(), 9000)));
        assert_eq!(
            parse("https://u:secret@host.example:8443"),
            Some(("host.example".into(), 8443))
        );
        assert_eq!(
            parse("api.mistral.ai"),
            Some(("api.mistral.ai".into(), 443))
        );
        assert_eq!(parse("http://host:notaport/"), None);
        assert_eq!(parse("https:///v1"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn cached_parses_agree_with_fresh_ones() {
        for round in 0..2 {
            for n in 0..12u16 {
                let endpoint = format!("http://host-{n}.example:{}/v1", 8000 + n);
                let cached = super::server_attributes(&endpoint, 443).unwrap();
                assert_eq!(&*cached.0, format!("host-{n}.example"), "round {round}");
                assert_eq!(cached.1, 8000 + n);
            }
        }
        assert_eq!(super::server_attributes("no host://", 443), None);
    }
}
