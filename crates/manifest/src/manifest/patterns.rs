//! The patterns capabilities are written in: `net` (`host:port`), `http`
//! (a host) and bus subjects; checking them, matching them, and whether
//! one pattern covers everything another does.

/// Whether the `net` pattern `pattern` (`host:port`, see
/// [`Capabilities::net`](super::Capabilities::net)) allows a connection to
/// `host` on `port`. Host names compare without regard to case; a pattern
/// that does not parse allows nothing.
///
/// ```
/// use symphony_manifest::net_allows;
///
/// assert!(net_allows("api.example.com:443", "API.example.com", 443));
/// assert!(net_allows("127.0.0.1:*", "127.0.0.1", 8080));
/// assert!(net_allows("*.example.org:443", "a.b.example.org", 443));
/// assert!(!net_allows("*.example.org:443", "example.org", 443));
/// assert!(!net_allows("api.example.com:443", "api.example.com", 80));
/// ```
pub fn net_allows(pattern: &str, host: &str, port: u16) -> bool {
    let Ok((pattern_host, pattern_port)) = split_net(pattern) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    pattern_port.is_none_or(|p| p == port) && host_matches(pattern_host, host)
}

/// Whether the `http` pattern `pattern` (a host, optionally starting with
/// a `*.` label for any subdomain) allows requests to `host`.
///
/// ```
/// use symphony_manifest::http_allows;
///
/// assert!(http_allows("api.example.com", "api.example.com"));
/// assert!(http_allows("*.example.org", "cdn.example.org"));
/// assert!(!http_allows("*.example.org", "example.org"));
/// ```
pub fn http_allows(pattern: &str, host: &str) -> bool {
    check_host(pattern).is_ok() && host_matches(pattern, host)
}

/// Checks a `net` pattern: `host:port`, where host is a name, an IPv4
/// address or an IPv6 one in brackets, optionally starting with `*.`, and
/// port is 1 to 65535 or `*`.
pub(super) fn check_net(pattern: &str) -> Result<(), String> {
    split_net(pattern).map(drop)
}

/// The host and port (`None` for `*`) of a `net` pattern.
fn split_net(pattern: &str) -> Result<(&str, Option<u16>), String> {
    if pattern.contains("://") {
        return Err(format!(
            "'{pattern}' is not host:port: leave out the scheme"
        ));
    }
    let (host, port) = if let Some(rest) = pattern.strip_prefix('[') {
        let (ip, rest) = rest
            .split_once(']')
            .ok_or("an IPv6 address must end with ']'")?;
        let port = rest
            .strip_prefix(':')
            .ok_or("expected ':' and a port after ']'")?;
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("'{ip}' is not an IPv6 address"));
        }
        (ip, port)
    } else {
        let (host, port) = pattern
            .rsplit_once(':')
            .ok_or("expected host:port, e.g. api.example.com:443 or 127.0.0.1:*")?;
        if host.contains(':') {
            return Err("write an IPv6 address in brackets, e.g. [::1]:443".into());
        }
        check_host(host)?;
        (host, port)
    };
    let port = match port {
        "*" => None,
        digits => match digits.parse::<u16>() {
            Ok(p @ 1..) if digits.bytes().all(|b| b.is_ascii_digit()) => Some(p),
            _ => {
                return Err(format!(
                    "port '{digits}' must be a number from 1 to 65535, or '*' for any"
                ));
            }
        },
    };
    Ok((host, port))
}

/// Checks a host pattern: dot-separated labels of letters, digits, `-`
/// and `_`, the first of which may be `*` alone (any subdomain).
pub(super) fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host.contains("://") || host.contains('/') {
        return Err(format!(
            "'{host}' is not a host name: leave out the scheme and path"
        ));
    }
    let name = match host.strip_prefix("*.") {
        Some(rest) => rest,
        None if host == "*" => {
            return Err("'*' alone is not allowed: name the host, or use *.domain".into());
        }
        None => host,
    };
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("'{host}' has an empty label"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            let hint = if bad == '*' {
                " ('*' may only be the whole first label, as in *.example.com)"
            } else {
                ""
            };
            return Err(format!("'{host}' contains '{bad}'{hint}"));
        }
    }
    Ok(())
}

/// Whether host pattern `pattern` matches `host`: equal ignoring case, or
/// `*.domain` and `host` a subdomain of `domain` at any depth.
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            let Some(cut) = host.len().checked_sub(domain.len() + 1) else {
                return false;
            };
            cut > 0
                && host.is_char_boundary(cut)
                && host[cut..].starts_with('.')
                && host[cut + 1..].eq_ignore_ascii_case(domain)
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

/// Whether host pattern `granted` matches every host `asked` does.
pub(super) fn host_covers(granted: &str, asked: &str) -> bool {
    match (granted.strip_prefix("*."), asked.strip_prefix("*.")) {
        (Some(g), Some(a)) => a.eq_ignore_ascii_case(g) || host_matches(granted, a),
        (_, None) => host_matches(granted, asked),
        (None, Some(_)) => false,
    }
}

/// Whether `net` pattern `granted` allows every connection `asked` does.
pub(super) fn net_covers(granted: &str, asked: &str) -> bool {
    match (split_net(granted), split_net(asked)) {
        (Ok((g_host, g_port)), Ok((a_host, a_port))) => {
            let port = match (g_port, a_port) {
                (None, _) => true,
                (Some(g), Some(a)) => g == a,
                (Some(_), None) => false,
            };
            port && host_covers(g_host, a_host)
        }
        _ => false,
    }
}

/// Whether bus subject pattern `granted` matches every subject `asked`
/// does (`*` one token, `>` one or more at the end).
pub(super) fn subject_covers(granted: &str, asked: &str) -> bool {
    let mut asked_tokens = asked.split('.');
    for g in granted.split('.') {
        let Some(a) = asked_tokens.next() else {
            return false;
        };
        match g {
            ">" => return true,
            "*" if a != ">" => {}
            literal if literal == a => {}
            _ => return false,
        }
    }
    asked_tokens.next().is_none()
}

#[cfg(test)]
mod tests;
