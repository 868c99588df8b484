//! Picking parameter values for a template from the input's tail: for each
//! declared parameter, in name order, one byte says what to give (nothing,
//! its default, an allowed value, a value of its type near its bounds, a
//! wrong type, text full of JSON and brace characters, a deep value, or a
//! misspelt name), and the bytes after it shape the value.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};
use symphony_workflow::{ParamType, Parameter, Template};

/// The values picked, and whether each is sure to be read as given (the
/// right type, an integer as an integer), so the reference substitution
/// can use them as they are.
pub(super) struct Picked {
    /// The values to instantiate with.
    pub(super) given: BTreeMap<String, Value>,
    /// Names given that the template does not declare.
    pub(super) unknown: Vec<String>,
    /// Whether every value given is of its parameter's type.
    pub(super) well_typed: bool,
}

/// The input's tail, read a byte at a time; 0 once it runs out.
pub(super) struct Tail<'a> {
    bytes: &'a [u8],
}

impl<'a> Tail<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Tail { bytes }
    }

    /// The next byte, if any.
    pub(super) fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

    fn byte(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }
}

/// Picks a value (or none) for each of `template`'s parameters.
pub(super) fn pick(template: &Template, tail: &mut Tail<'_>) -> Picked {
    let mut picked = Picked {
        given: BTreeMap::new(),
        unknown: Vec::new(),
        well_typed: true,
    };
    for (name, param) in template.parameters() {
        // Without bytes left: what makes instantiation most likely to work.
        let choice = tail
            .next()
            .unwrap_or(if param.default.is_some() { 0 } else { 2 });
        let value = match choice % 8 {
            0 => continue,
            1 => param.default.clone().unwrap_or_else(|| typical(param)),
            2 => param
                .allowed
                .as_ref()
                .filter(|allowed| !allowed.is_empty())
                .map(|allowed| allowed[usize::from(tail.byte()) % allowed.len()].clone())
                .unwrap_or_else(|| typical(param)),
            3 => near_bounds(param, tail),
            4 => {
                picked.well_typed = false;
                wrong_type(param.kind)
            }
            5 if param.kind == ParamType::String || param.kind == ParamType::Any => {
                Value::String(awkward_text(tail))
            }
            6 => {
                let misspelt = if tail.byte().is_multiple_of(2) {
                    format!("{name}x")
                } else {
                    "zz-unknown".to_string()
                };
                if !template.parameters().contains_key(&misspelt) {
                    picked.unknown.push(misspelt.clone());
                    picked.given.insert(misspelt, Value::from(1));
                }
                continue;
            }
            7 => deep(param.kind, tail.byte() % 6),
            _ => typical(param),
        };
        let value = coerce(param.kind, value);
        picked.well_typed &= fits(param.kind, &value);
        picked.given.insert(name.clone(), value);
    }
    picked
}

/// `NAME=VALUE` arguments giving `given` as `symphony template
/// instantiate -p` takes them: strings as they are, anything else as JSON;
/// with `mangle` set, one argument broken or repeated.
pub(super) fn args(
    template: &Template,
    given: &BTreeMap<String, Value>,
    mangle: u8,
) -> Vec<String> {
    let mut args: Vec<String> = given
        .iter()
        .map(|(name, value)| {
            let kind = template.parameters().get(name).map(|p| p.kind);
            match (kind, value) {
                (Some(ParamType::String), Value::String(s)) => format!("{name}={s}"),
                _ => format!("{name}={value}"),
            }
        })
        .collect();
    match mangle % 4 {
        1 if !args.is_empty() => args.push(args[0].clone()),
        2 => args.push("no-equals-sign".into()),
        3 => args.push(" b = true ".into()),
        _ => {}
    }
    args
}

/// An integral float for an integer parameter, as the host takes it.
fn coerce(kind: ParamType, value: Value) -> Value {
    match (kind, value.as_f64()) {
        (ParamType::Integer, Some(f)) if !value.is_i64() && !value.is_u64() => {
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                Value::from(f as i64)
            } else {
                value
            }
        }
        _ => value,
    }
}

fn fits(kind: ParamType, value: &Value) -> bool {
    match kind {
        ParamType::String => value.is_string(),
        ParamType::Number => value.is_number(),
        ParamType::Integer => value.is_i64() || value.is_u64(),
        ParamType::Bool => value.is_boolean(),
        ParamType::List => value.is_array(),
        ParamType::Object => value.is_object(),
        _ => true,
    }
}

/// A plain value of the parameter's type within its bounds where it can.
fn typical(param: &Parameter) -> Value {
    let low = param.min.as_ref().and_then(Number::as_f64).unwrap_or(0.0);
    let count = low.clamp(0.0, 64.0).ceil() as usize;
    match param.kind {
        ParamType::String => Value::String("a".repeat(count.max(1))),
        ParamType::Number => Value::from(param.min.clone().unwrap_or_else(|| Number::from(1))),
        ParamType::Integer => Value::from(low.ceil().clamp(-1e15, 1e15) as i64),
        ParamType::Bool => Value::Bool(true),
        ParamType::List => Value::Array(vec![Value::from("x"); count]),
        ParamType::Object => Value::Object(Map::new()),
        _ => Value::from("any"),
    }
}

/// A value of the parameter's type at, just inside or just outside a
/// bound (its value, length or item count).
fn near_bounds(param: &Parameter, tail: &mut Tail<'_>) -> Value {
    let b = tail.byte();
    let bound = if b & 1 == 0 { &param.min } else { &param.max };
    let base = bound
        .as_ref()
        .and_then(Number::as_f64)
        .unwrap_or(f64::from(b % 5));
    let n = base + f64::from(b >> 1 & 3) - 1.0;
    let count = n.clamp(0.0, 200.0) as usize;
    match param.kind {
        ParamType::Number if b & 8 != 0 => Value::from(n + 0.5),
        ParamType::Number | ParamType::Integer => Value::from(n.clamp(-1e18, 1e18) as i64),
        ParamType::String => Value::String("é".repeat(count)),
        ParamType::List => Value::Array((0..count).map(|i| Value::from(format!("t{i}"))).collect()),
        ParamType::Bool => Value::Bool(b & 2 != 0),
        ParamType::Object => Value::Object(
            (0..count.min(4))
                .map(|i| (format!("k{i}"), Value::from(i)))
                .collect(),
        ),
        _ => Value::from(n),
    }
}

fn wrong_type(kind: ParamType) -> Value {
    match kind {
        ParamType::String => Value::from(5),
        ParamType::Number | ParamType::Integer => Value::from("5"),
        ParamType::Bool => Value::from(0),
        ParamType::List => Value::Object(Map::new()),
        ParamType::Object => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// Text with the characters substitution must carry through: quotes,
/// backslashes, braces, control characters, non-ASCII, and placeholders.
fn awkward_text(tail: &mut Tail<'_>) -> String {
    const PIECES: &[&str] = &[
        "\"", "\\", "{{", "}}", "{{a}}", "\n", "\u{0}", "é", "\u{2028}", "\\u007b", "x", " ", "$.a",
    ];
    let len = usize::from(tail.byte() % 8);
    (0..len)
        .map(|_| PIECES[usize::from(tail.byte()) % PIECES.len()])
        .collect()
}

/// A value nested `depth` levels (lists for lists, objects for objects).
fn deep(kind: ParamType, depth: u8) -> Value {
    let mut value = Value::from("leaf");
    for i in 0..depth {
        value = match kind {
            ParamType::Object => {
                let mut map = Map::new();
                map.insert(format!("k{i}"), value);
                Value::Object(map)
            }
            _ => Value::Array(vec![value, Value::Null]),
        };
    }
    match kind {
        ParamType::List | ParamType::Any | ParamType::Object => value,
        _ => Value::Array(vec![value]),
    }
}
