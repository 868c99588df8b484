//! Subjects and subscription patterns, as NATS users know them.
//!
//! A subject is dot-separated non-empty tokens (`exec.42.node`). A pattern
//! may use `*` for exactly one token and `>` as its last token for one or
//! more trailing tokens.

/// The first token of every reply inbox, with its dot.
pub const INBOX: &str = "_inbox.";

/// The reply inbox `number` of `endpoint`: `_inbox.<endpoint>.<number>`,
/// built without allocating when it is short enough to store inline (it is
/// made for every request).
pub fn inbox(endpoint: &str, number: u64) -> smol_str::SmolStr {
    let mut digits = itoa::Buffer::new();
    let mut inbox = smol_str::SmolStrBuilder::new();
    inbox.push_str(INBOX);
    inbox.push_str(endpoint);
    inbox.push('.');
    inbox.push_str(digits.format(number));
    inbox.finish()
}

/// Whether `subject` matches the subscription `pattern`.
///
/// ```
/// use symphony_protocol::subject_matches;
///
/// assert!(subject_matches("exec.*.node", "exec.42.node"));
/// assert!(subject_matches("exec.>", "exec.42.node.done"));
/// assert!(!subject_matches("exec.>", "exec"));
/// assert!(!subject_matches("exec.*", "exec.42.node"));
/// ```
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut pattern = pattern.split('.');
    let mut subject = subject.split('.');
    loop {
        match (pattern.next(), subject.next()) {
            (Some(">"), Some(s)) => return !s.is_empty(),
            (Some("*"), Some(s)) if !s.is_empty() => {}
            (Some(p), Some(s)) if p == s && !s.is_empty() => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether every subject `inner` matches is also matched by `outer`: a
/// subscription to `inner` stays within a grant of `outer`.
///
/// ```
/// use symphony_protocol::pattern_within;
///
/// assert!(pattern_within("metrics.cpu", "metrics.>"));
/// assert!(pattern_within("metrics.*.load", "metrics.>"));
/// assert!(pattern_within("metrics.*", "metrics.*"));
/// assert!(!pattern_within("metrics.>", "metrics.*"));
/// assert!(!pattern_within(">", "metrics.>"));
/// ```
pub fn pattern_within(inner: &str, outer: &str) -> bool {
    let mut inner = inner.split('.');
    let mut outer = outer.split('.');
    loop {
        match (inner.next(), outer.next()) {
            // `>` covers one or more tokens; whatever `inner` has left is
            // at least one token (or `>`, also one or more).
            (Some(_), Some(">")) => return true,
            // `*` covers any one token, including `inner`'s `*`.
            (Some(i), Some("*")) if i != ">" => {}
            (Some(i), Some(o)) if i == o && i != "*" && i != ">" => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Checks a subject to publish on: non-empty tokens, no wildcards, no
/// whitespace.
pub fn validate_subject(subject: &str) -> Result<(), String> {
    check(subject, false)
}

/// Checks a subscription pattern: like a subject, but `*` may stand for a
/// token and `>` may be the last token.
pub fn validate_pattern(pattern: &str) -> Result<(), String> {
    check(pattern, true)
}

fn check(text: &str, wildcards: bool) -> Result<(), String> {
    if plain_subject(text.as_bytes()) {
        return Ok(());
    }
    check_tokens(text, wildcards)
}

/// The full check, token by token, saying what is wrong.
fn check_tokens(text: &str, wildcards: bool) -> Result<(), String> {
    if text.is_empty() {
        return Err("subject is empty".into());
    }
    let mut tokens = text.split('.').enumerate().peekable();
    while let Some((i, token)) = tokens.next() {
        let at = i + 1;
        if token.is_empty() {
            return Err(format!("'{text}': token {at} is empty"));
        }
        if token.chars().any(char::is_whitespace) {
            return Err(format!("'{text}': token {at} contains whitespace"));
        }
        let wild = matches!(token, "*" | ">");
        if !wild && (token.contains('*') || token.contains('>')) {
            return Err(format!(
                "'{text}': wildcards must be whole tokens (token {at})"
            ));
        }
        if wild && !wildcards {
            return Err(format!(
                "'{text}': wildcards are for subscriptions, not subjects"
            ));
        }
        if token == ">" && tokens.peek().is_some() {
            return Err(format!("'{text}': '>' must be the last token"));
        }
    }
    Ok(())
}

/// Whether `text` is a subject of printable ASCII without wildcards whose
/// tokens are all non-empty: the common case, accepted in one pass over its
/// bytes (every message's subject is checked, on the server for each
/// frame). Anything else, valid or not, is left to the full check.
fn plain_subject(text: &[u8]) -> bool {
    // As if after a dot: a leading dot is an empty first token.
    let mut after_dot = true;
    for &byte in text {
        match byte {
            b'.' if after_dot => return false,
            b'.' => after_dot = true,
            b'*' | b'>' => return false,
            0x21..=0x7e => after_dot = false,
            _ => return false,
        }
    }
    !after_dot
}

#[cfg(test)]
mod tests;
