//! `json-transform`: reshapes JSON with a spec of steps over JSONPath queries.
//!
//! The spec is the node's `spec` config value:
//!
//! ```json
//! {
//!   "require_input": ["$.summary"],
//!   "steps": [
//!     {"select": {"abstract": "$.summary", "topics": {"all": "$.keywords[*]"}}},
//!     {"map": {"path": "$.topics[*]", "op": "uppercase"}},
//!     {"filter": {"path": "$.scores", "where": "@ > 0.5"}},
//!     {"rename": {"abstract": "summary"}},
//!     {"drop": ["debug"]}
//!   ],
//!   "require_output": ["$.summary"]
//! }
//! ```
//!
//! Queries are RFC 9535 JSONPath (`serde_json_path`); a `select` field written
//! as a string must match at most one value (`null` when none), `{"all": ..}`
//! collects every match. `map` ops: uppercase, lowercase, trim, length,
//! string, number, round (`digits`), truncate (`max`). `filter` keeps the
//! elements of each matched array for which the `where` filter expression
//! holds (`@` is the element).

mod spec;

use serde_json::Value;
use spec::{Query, Spec};
use symphony_sdk::{ExtError, Operator, host, register_operator};

/// The operator: the spec it last parsed, reused while the config is unchanged.
#[derive(Debug, Default)]
pub struct JsonTransform {
    spec: Option<(String, Spec)>,
}

impl JsonTransform {
    /// The current spec, parsed again only when the node's config changed.
    fn spec(&mut self) -> Result<&Spec, ExtError> {
        let text = host::config("spec").ok_or_else(|| {
            ExtError::InvalidConfig(
                "json-transform needs a 'spec' in its config, e.g. {\"spec\": {\"steps\": [...]}}"
                    .into(),
            )
        })?;
        self.load(text)
    }

    fn load(&mut self, text: String) -> Result<&Spec, ExtError> {
        if self.spec.as_ref().is_none_or(|(cached, _)| *cached != text) {
            let spec = Spec::parse(&text)
                .map_err(|e| ExtError::InvalidConfig(format!("json-transform {e}")))?;
            self.spec = Some((text, spec));
        }
        Ok(&self.spec.as_ref().expect("just set").1)
    }
}

/// Parses `json` and checks that every query in `required` matches in it.
fn check(required: &[Query], json: &str, what: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| format!("json-transform {what} is not JSON: {e}"))?;
    match required.iter().find(|q| !q.matches(&value)) {
        Some(q) => Err(format!(
            "json-transform {what} has nothing at '{}'",
            q.text()
        )),
        None => Ok(value),
    }
}

impl Operator for JsonTransform {
    fn validate_input(&mut self, input: &str) -> Result<(), ExtError> {
        let spec = self.spec()?;
        check(&spec.require_input, input, "input").map_err(ExtError::InvalidInput)?;
        Ok(())
    }

    fn process(&mut self, input: &str) -> Result<String, ExtError> {
        let spec = self.spec()?;
        let value = check(&spec.require_input, input, "input").map_err(ExtError::InvalidInput)?;
        let out = spec
            .apply(value)
            .map_err(|e| ExtError::InvalidInput(format!("json-transform {e}")))?;
        Ok(out.to_string())
    }

    fn validate_output(&mut self, output: &str) -> Result<(), ExtError> {
        let spec = self.spec()?;
        check(&spec.require_output, output, "output").map_err(ExtError::Failed)?;
        Ok(())
    }
}

register_operator!(JsonTransform);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(spec: Value, input: Value) -> Result<Value, ExtError> {
        let mut op = JsonTransform::default();
        let spec = op.load(spec.to_string())?;
        spec.apply(input).map_err(ExtError::InvalidInput)
    }

    #[test]
    fn select_map_rename_and_drop_reshape_an_llm_answer() {
        let out = run(
            json!({"steps": [
                {"select": {"abstract": "$.summary", "topics": {"all": "$.keywords[*]"}, "mood": "$.sentiment.label", "missing": "$.nope"}},
                {"map": {"path": "$.topics[*]", "op": "uppercase"}},
                {"rename": {"abstract": "summary"}},
                {"drop": ["missing"]}
            ]}),
            json!({"summary": "Short.", "keywords": ["rust", "wasm"], "sentiment": {"label": "positive"}}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"summary": "Short.", "topics": ["RUST", "WASM"], "mood": "positive"})
        );
    }

    #[test]
    fn filter_keeps_matching_elements_of_nested_arrays() {
        let out = run(
            json!({"steps": [{"filter": {"path": "$.groups[*].items", "where": "@.score >= 0.5"}}]}),
            json!({"groups": [{"items": [{"score": 0.9}, {"score": 0.1}]}, {"items": [{"score": 0.5}]}]}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"groups": [{"items": [{"score": 0.9}]}, {"items": [{"score": 0.5}]}]})
        );
    }

    #[test]
    fn map_ops_convert_values_and_report_type_errors_with_the_path() {
        let out = run(
            json!({"steps": [
                {"map": {"path": "$.n", "op": "round", "digits": 1}},
                {"map": {"path": "$.s", "op": "number"}},
                {"map": {"path": "$.list", "op": "length"}},
                {"map": {"path": "$.t", "op": "truncate", "max": 3}}
            ]}),
            json!({"n": 2.345, "s": " 42 ", "list": [1, 2, 3], "t": "abcdef"}),
        )
        .unwrap();
        assert_eq!(out, json!({"n": 2.3, "s": 42, "list": 3, "t": "abc"}));

        let err = run(
            json!({"steps": [{"map": {"path": "$.n", "op": "uppercase"}}]}),
            json!({"n": 1}),
        )
        .unwrap_err();
        assert!(
            matches!(err, ExtError::InvalidInput(m) if m.contains("/n") && m.contains("expected a string"))
        );
    }

    #[test]
    fn ambiguous_single_select_says_how_to_collect_all() {
        let err = run(
            json!({"steps": [{"select": {"x": "$.a[*]"}}]}),
            json!({"a": [1, 2]}),
        )
        .unwrap_err();
        assert!(matches!(err, ExtError::InvalidInput(m) if m.contains("{\"all\"")));
    }

    #[test]
    fn bad_specs_name_the_step_and_the_problem() {
        let cases = [
            (
                json!({"steps": [{"map": {"path": "$.x", "op": "explode"}}]}),
                "steps[0].map: unknown op 'explode'",
            ),
            (
                json!({"steps": [{"select": {"x": "$[["}}]}),
                "steps[0].select.x: bad JSONPath",
            ),
            (
                json!({"steps": [{"filter": {"path": "$.x", "where": "@ >"}}]}),
                "steps[0].filter.where",
            ),
            (json!({"steps": [], "extra": 1}), "unknown field `extra`"),
            (
                json!({"steps": [{"map": {"path": "$.x", "op": "truncate"}}]}),
                "needs 'max'",
            ),
        ];
        for (spec, expected) in cases {
            let err = JsonTransform::default()
                .load(spec.to_string())
                .map(|_| ())
                .unwrap_err();
            assert!(
                matches!(&err, ExtError::InvalidConfig(m) if m.contains(expected)),
                "{err:?} lacks {expected}"
            );
        }
    }

    #[test]
    fn checks_parse_and_require_paths() {
        let mut op = JsonTransform::default();
        let spec = op
            .load(json!({"require_input": ["$.text"], "steps": []}).to_string())
            .unwrap();
        assert!(check(&spec.require_input, r#"{"text": "x"}"#, "input").is_ok());
        assert!(
            check(&spec.require_input, "{}", "input")
                .unwrap_err()
                .contains("nothing at '$.text'")
        );
        assert!(
            check(&spec.require_input, "nope", "input")
                .unwrap_err()
                .contains("not JSON")
        );
    }
}
