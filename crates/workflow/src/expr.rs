//! JMESPath expressions in workflows (`when` on edges and branch cases,
//! `over` on maps), compiled behind a guard.

use std::cell::RefCell;
use std::collections::hash_map::Entry;

use jmespath::{Expression, Rcvar};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// Longer expressions are refused: nobody writes one by hand, and the
/// parser's work grows with them.
const MAX_LEN: usize = 4096;

/// The parser recurses once per nested bracket, negation or reference, so
/// a hostile expression could exhaust the stack; deeper ones are refused.
const MAX_NESTING: usize = 64;

/// Compiles `text`, refusing expressions too long or too deeply nested to
/// parse safely.
pub fn compile(text: &str) -> Result<Expression<'static>, String> {
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

/// Expressions compiled during one run, by their text. A run evaluates the
/// same few expressions for every map element; the plan cannot keep them
/// because an `Expression` holds non-`Send` reference counts.
#[derive(Default)]
pub struct Compiled<'a>(RefCell<FxHashMap<&'a str, Expression<'static>>>);

impl<'a> Compiled<'a> {
    /// Evaluates `text` over `value`, compiling it on first use.
    pub fn search(&self, text: &'a str, value: &Value) -> Result<Rcvar, String> {
        let mut cache = self.0.borrow_mut();
        let expression = match cache.entry(text) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(slot) => slot.insert(compile(text)?),
        };
        expression.search(value).map_err(|e| e.to_string())
    }

    /// Whether `text` is truthy over `value` (not false, null, or empty).
    pub fn holds(&self, text: &'a str, value: &Value) -> Result<bool, String> {
        Ok(self.search(text, value)?.is_truthy())
    }
}

#[cfg(test)]
mod tests;
