//! Structure-aware mutation of JSON documents: a value is parsed, one of
//! its nodes replaced, removed, copied, renamed or grown, and the result
//! written back, so mutants stay documents that get past the parser.

use serde_json::{Map, Value};

use super::Rng;

/// One step from a value to one inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A field of an object.
    Key(String),
    /// An element of an array.
    Index(usize),
}

/// Most nodes a mutation chooses among; the rest of a huge document is
/// left alone.
const MAX_NODES: usize = 4096;

/// Mutates the JSON document in `data` with [`mutate_value`], written back
/// compact or indented; `false` (and `data` untouched) when it is not
/// JSON.
pub fn mutate_text(rng: &mut Rng, data: &mut Vec<u8>, words: &[&str]) -> bool {
    let Ok(mut value) = serde_json::from_slice::<Value>(data) else {
        return false;
    };
    mutate_value(rng, &mut value, words);
    let written = if rng.one_in(2) {
        serde_json::to_vec_pretty(&value)
    } else {
        serde_json::to_vec(&value)
    };
    match written {
        Ok(bytes) => {
            *data = bytes;
            true
        }
        Err(_) => false,
    }
}

/// One structural mutation of `value`, using `words` for keys and strings.
pub fn mutate_value(rng: &mut Rng, value: &mut Value, words: &[&str]) {
    let all = paths(value);
    let path = rng.pick(&all).cloned().unwrap_or_default();
    match rng.below(9) {
        0 | 1 => {
            let new = interesting(rng, words);
            set(value, &path, new);
        }
        2 => remove(value, &path),
        3 => {
            // Copy another node (maybe an ancestor) over this one.
            let from = rng.pick(&all).cloned().unwrap_or_default();
            if let Some(copy) = get(value, &from).cloned() {
                set(value, &path, copy);
            }
        }
        4 => grow(rng, value, &path, words),
        5 => rename(rng, value, &path, words),
        6 => {
            if let Some(node) = get_mut(value, &path) {
                tweak(rng, node, words);
            }
        }
        7 => {
            // Wrap the node in an array, or take the first element out of one.
            if let Some(node) = get_mut(value, &path) {
                *node = match node.take() {
                    Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
                    other => Value::Array(vec![other]),
                };
            }
        }
        _ => {
            // Swap two elements of an array, or two values of an object.
            if let Some(Value::Array(items)) = get_mut(value, &path)
                && items.len() > 1
            {
                let (a, b) = (rng.below(items.len()), rng.below(items.len()));
                items.swap(a, b);
            } else if let Some(Value::Object(map)) = get_mut(value, &path)
                && map.len() > 1
            {
                let keys: Vec<String> = map.keys().cloned().collect();
                let (a, b) = (rng.below(keys.len()), rng.below(keys.len()));
                let va = map.get(&keys[a]).cloned().unwrap_or_default();
                let vb = map.insert(keys[b].clone(), va).unwrap_or_default();
                map.insert(keys[a].clone(), vb);
            }
        }
    }
}

/// The paths of `value`'s nodes, itself first, up to 4096 of them.
pub fn paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        if out.len() >= MAX_NODES {
            return;
        }
        out.push(path.clone());
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(item, path, out);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    path.push(Step::Key(key.clone()));
                    walk(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// The node at `path`.
pub fn get<'v>(value: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(value, |node, step| match step {
        Step::Key(key) => node.get(key.as_str()),
        Step::Index(i) => node.get(*i),
    })
}

/// The node at `path`, to change.
pub fn get_mut<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |node, step| match step {
        Step::Key(key) => node.get_mut(key.as_str()),
        Step::Index(i) => node.get_mut(*i),
    })
}

fn set(value: &mut Value, path: &[Step], new: Value) {
    if let Some(node) = get_mut(value, path) {
        *node = new;
    }
}

fn remove(value: &mut Value, path: &[Step]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    match (get_mut(value, parent), last) {
        (Some(Value::Object(map)), Step::Key(key)) => {
            map.remove(key);
        }
        (Some(Value::Array(items)), Step::Index(i)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

/// Adds an element to an array (a copy of one, or something new) or a
/// field to an object.
fn grow(rng: &mut Rng, value: &mut Value, path: &[Step], words: &[&str]) {
    let new = interesting(rng, words);
    match get_mut(value, path) {
        Some(Value::Array(items)) => {
            let item = match rng.pick(items) {
                Some(existing) if rng.one_in(2) => existing.clone(),
                _ => new,
            };
            let at = rng.below(items.len() + 1);
            items.insert(at, item);
        }
        Some(Value::Object(map)) => {
            let key = word(rng, words);
            map.insert(key, new);
        }
        _ => {}
    }
}

/// Moves an object field to another key.
fn rename(rng: &mut Rng, value: &mut Value, path: &[Step], words: &[&str]) {
    let Some((Step::Key(key), parent)) = path.split_last() else {
        return;
    };
    if let Some(Value::Object(map)) = get_mut(value, parent)
        && let Some(moved) = map.remove(key)
    {
        let new = if rng.one_in(4) {
            format!("{key}{}", word(rng, words))
        } else {
            word(rng, words)
        };
        map.insert(new, moved);
    }
}

/// A small change that keeps the node's type where it can.
fn tweak(rng: &mut Rng, node: &mut Value, words: &[&str]) {
    match node {
        Value::String(s) => match rng.below(4) {
            0 => *s = word(rng, words),
            1 => s.push_str(&word(rng, words)),
            2 => {
                let cut = s.char_indices().map(|(i, _)| i).nth(rng.below(s.len() + 1));
                s.truncate(cut.unwrap_or(s.len()));
            }
            _ => *s = s.repeat(2),
        },
        Value::Number(_) => *node = number(rng),
        Value::Bool(b) => *b = !*b,
        Value::Array(items) => items.truncate(rng.below(items.len() + 1)),
        Value::Object(map) => {
            let keep = rng.below(map.len() + 1);
            *map = std::mem::take(map).into_iter().take(keep).collect();
        }
        Value::Null => *node = interesting(rng, words),
    }
}

fn word(rng: &mut Rng, words: &[&str]) -> String {
    rng.pick(words)
        .map_or_else(|| "x".to_string(), |w| w.to_string())
}

fn number(rng: &mut Rng) -> Value {
    match rng.below(11) {
        // Any finite double, all 17 digits of it.
        10 => Value::from(f64::from_bits(rng.next_u64()).clamp(-1e300, 1e300)),
        0 => Value::from(0),
        1 => Value::from(-1),
        2 => Value::from(1),
        3 => Value::from(u64::MAX),
        4 => Value::from(i64::MIN),
        5 => Value::from(1.5),
        6 => Value::from(1e300),
        7 => Value::from(3.0),
        8 => Value::from(rng.below(100)),
        _ => Value::from(rng.next_u64() as i64),
    }
}

/// A value worth trying anywhere: scalars at their edges, a word, empty
/// and small containers.
pub fn interesting(rng: &mut Rng, words: &[&str]) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 | 3 => number(rng),
        4 => Value::String(String::new()),
        5..=7 => Value::String(word(rng, words)),
        8 => Value::Array(Vec::new()),
        9 => Value::Object(Map::new()),
        10 => Value::Array(vec![Value::String(word(rng, words))]),
        _ => {
            let mut map = Map::new();
            map.insert(word(rng, words), Value::String(word(rng, words)));
            Value::Object(map)
        }
    }
}

#[cfg(test)]
mod tests;
