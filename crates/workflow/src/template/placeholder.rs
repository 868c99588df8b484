//! Finding `{{name}}` placeholders in a workflow's JSON and replacing them.
//!
//! Templates keep their workflow as JSON text: a library loads thousands,
//! and scanning and substituting the text is several times cheaper than
//! building a `Value` of each. Only when loading finds a problem is the
//! text parsed, to say where in the document the problem is.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::ops::Range;

use serde_json::Value;

use symphony_manifest::param::is_name;

/// A piece of a string: literal text or a placeholder's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece<'s> {
    Text(&'s str),
    Name(&'s str),
}

/// Splits `text` into literal text and placeholders; text between braces
/// that is not a parameter name stays literal.
pub(super) fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let inner = &rest[open + 2..];
        let name_at = inner.len() - inner.trim_start().len();
        let name_len = inner[name_at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(inner.len() - name_at);
        let name = &inner[name_at..name_at + name_len];
        let after = inner[name_at + name_len..].trim_start();
        if is_name(name) && after.starts_with("}}") {
            if open > 0 {
                pieces.push(Piece::Text(&rest[..open]));
            }
            pieces.push(Piece::Name(name));
            rest = &after[2..];
        } else {
            // Not a placeholder: keep one brace and look again after it, so
            // `{{{x}}}` reads as `{`, `{{x}}`, `}`.
            pieces.push(Piece::Text(&rest[..open + 1]));
            rest = &rest[open + 1..];
        }
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// The names of the placeholders in `text`, in order.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    let pieces = if text.contains("{{") {
        pieces(text)
    } else {
        Vec::new()
    };
    pieces.into_iter().filter_map(|piece| match piece {
        Piece::Name(name) => Some(name),
        Piece::Text(_) => None,
    })
}

/// Where placeholders occur in a value.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Each placeholder's name and the path of the string holding it.
    pub(super) uses: Vec<(String, String)>,
    /// Paths of object keys that look like they hold a placeholder.
    pub(super) in_keys: Vec<String>,
}

/// Finds the placeholders in `value`, whose path is `root`.
pub(super) fn find(value: &Value, root: &str) -> Found {
    let mut found = Found::default();
    let mut path = root.to_string();
    walk(value, &mut path, &mut found);
    found
}

fn walk(value: &Value, path: &mut String, found: &mut Found) {
    match value {
        Value::String(s) => {
            for name in placeholders(s) {
                found.uses.push((name.to_string(), path.clone()));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                walk(item, path, found);
                path.truncate(len);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                let len = path.len();
                push_key(path, key);
                if placeholders(key).next().is_some() {
                    found.in_keys.push(path.clone());
                }
                walk(item, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// `.key`, or `["odd key"]` for a key that is not a plain name.
fn push_key(path: &mut String, key: &str) {
    if is_name(key) {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::from(key).to_string());
        path.push(']');
    }
}

/// Calls `each` with the range of every string token (quotes included)
/// in the JSON `text` whose content holds `{{`, whether it is an object
/// key, and the content (unescaped). `text` is valid JSON; anything else is
/// read without panic.
fn strings_with_braces(text: &str, mut each: impl FnMut(Range<usize>, bool, &str)) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(quote) = memchr::memchr(b'"', &bytes[at..]) {
        let start = at + quote;
        let mut end = start + 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &bytes[end..]) {
                // An escape is two bytes (`\uXXXX` continues with hex digits).
                Some(i) if bytes[end + i] == b'\\' => end = (end + i + 2).min(bytes.len()),
                Some(i) => {
                    end += i + 1;
                    break;
                }
                None => {
                    end = bytes.len();
                    break;
                }
            }
        }
        // `{{` cannot occur outside a string in JSON, and inside one only
        // as written or with a brace escaped as `\u007b`: this test alone
        // skips most tokens.
        let token = &bytes[start..end];
        if memchr::memmem::find(token, b"{{").is_some()
            || memchr::memmem::find(token, b"\\u007").is_some()
        {
            let key = bytes[end..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':');
            if let Some(content) = decode(&text[start..end])
                && content.contains("{{")
            {
                each(start..end, key, &content);
            }
        }
        at = end;
    }
}

/// A string token's text without quotes and escapes.
fn decode(token: &str) -> Option<Cow<'_, str>> {
    if !token.contains('\\') {
        let inner = token.strip_prefix('"')?.strip_suffix('"')?;
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(token).ok().map(Cow::Owned)
}

/// The placeholders in the JSON `text`: each name, and whether it is in an
/// object key (where it is not substituted).
pub(super) fn names(text: &str) -> Vec<(String, bool)> {
    let mut names = Vec::new();
    strings_with_braces(text, |_, key, content| {
        names.extend(placeholders(content).map(|name| (name.to_string(), key)));
    });
    names
}

/// The JSON `text` with every placeholder outside object keys replaced
/// from `values`: a whole-string placeholder by the value itself, others
/// by its text (a string as it is, anything else as compact JSON). A name
/// missing from `values` is left as it was.
pub(super) fn substitute(text: &str, values: &BTreeMap<String, Value>) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut copied = 0;
    strings_with_braces(text, |range, key, content| {
        let pieces = pieces(content);
        if key || !pieces.iter().any(|p| matches!(p, Piece::Name(_))) {
            return;
        }
        out.push_str(&text[copied..range.start]);
        copied = range.end;
        if let [Piece::Name(name)] = pieces[..]
            && let Some(value) = values.get(name)
        {
            let _ = write!(out, "{value}");
            return;
        }
        let mut filled = String::with_capacity(content.len());
        for piece in pieces {
            match piece {
                Piece::Text(t) => filled.push_str(t),
                Piece::Name(name) => match values.get(name) {
                    Some(Value::String(v)) => filled.push_str(v),
                    Some(v) => {
                        let _ = write!(filled, "{v}");
                    }
                    None => {
                        let _ = write!(filled, "{{{{{name}}}}}");
                    }
                },
            }
        }
        let _ = write!(out, "{}", Value::String(filled));
    });
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests;
