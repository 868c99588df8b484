//! JMESPath expressions in workflows (`when` on edges and branch cases,
//! `over` on maps), compiled behind a guard.

use jmespath::Expression;

/// Longer expressions are refused: nobody writes one by hand, and the
/// parser's work grows with them.
const MAX_LEN: usize = 4096;

/// The parser recurses once per nested bracket, negation or reference, so
/// a hostile expression could exhaust the stack; deeper ones are refused.
const MAX_NESTING: usize = 64;

/// Compiles `text`, refusing expressions too long or too deeply nested to
/// parse safely.
pub(crate) fn compile(text: &str) -> Result<Expression<'static>, String> {
    if text.len() > MAX_LEN {
        return Err(format!(
            "the expression is {} bytes long; at most {MAX_LEN} are allowed",
            text.len()
        ));
    }
    let (mut depth, mut deepest, mut prefixes) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            // Prefix operators nest without brackets: `!!!!a`, `&&&a`.
            '!' | '&' | '-' => prefixes += 1,
            c if c.is_whitespace() => continue,
            _ => prefixes = 0,
        }
        deepest = deepest.max(depth + prefixes);
    }
    if deepest > MAX_NESTING {
        return Err(format!(
            "the expression nests {deepest} levels deep; at most {MAX_NESTING} are allowed"
        ));
    }
    jmespath::compile(text).map_err(|e| e.to_string())
}

/// Evaluates `text` over `value`.
pub(crate) fn search(text: &str, value: &serde_json::Value) -> Result<jmespath::Rcvar, String> {
    compile(text)?.search(value).map_err(|e| e.to_string())
}

/// Whether `text` is truthy over `value` (not false, null, or empty).
pub(crate) fn holds(text: &str, value: &serde_json::Value) -> Result<bool, String> {
    Ok(search(text, value)?.is_truthy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_expressions_are_refused_before_parsing() {
        assert!(compile("sentiment.label == 'negative'").is_ok());
        let deep = "!".repeat(200_000) + "a";
        assert!(compile(&deep).unwrap_err().contains("bytes long"));
        let nested = "(".repeat(100) + "a" + &")".repeat(100);
        assert!(compile(&nested).unwrap_err().contains("nests 100 levels"));
        let negations = "!".repeat(100) + "a";
        assert!(compile(&negations).unwrap_err().contains("nests"));
        assert!(compile("a[?b == `1`] | [0]").is_ok());
        assert!(compile("score > `").is_err());
    }
}
