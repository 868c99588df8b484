//! Subjects and subscription patterns, as NATS users know them.
//!
//! A subject is dot-separated non-empty tokens (`exec.42.node`). A pattern
//! may use `*` for exactly one token and `>` as its last token for one or
//! more trailing tokens.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_nats_rules() {
        let table = [
            ("a.b", "a.b", true),
            ("a.*", "a.b", true),
            ("a.*", "a", false),
            ("a.*.c", "a.b.c", true),
            ("a.>", "a.b.c", true),
            ("a.>", "a", false),
            (">", "a", true),
            ("a.b", "a.b.c", false),
            ("a.*", "a.", false),
            ("a.>", "a.", false),
        ];
        for (pattern, subject, expected) in table {
            assert_eq!(
                subject_matches(pattern, subject),
                expected,
                "{pattern} vs {subject}"
            );
        }
    }

    #[test]
    fn malformed_subjects_and_patterns_say_what_is_wrong() {
        assert!(validate_subject("exec.42.done").is_ok());
        assert!(validate_pattern("exec.*.>").is_ok());
        let table = [
            (validate_subject("a..b"), "token 2 is empty"),
            (validate_subject("a.*"), "wildcards are for subscriptions"),
            (validate_pattern("a.>.b"), "'>' must be the last token"),
            (validate_pattern("a.b*"), "must be whole tokens"),
            (validate_subject("a b"), "contains whitespace"),
            (validate_subject(""), "subject is empty"),
        ];
        for (result, expected) in table {
            let message = result.unwrap_err();
            assert!(message.contains(expected), "{message} lacks {expected}");
        }
    }
}
