//! `mock-llm`: a deterministic, offline text model.
//!
//! It stands in for a real model adapter in workflows and tests: given text it
//! returns an extractive summary, the top keywords and a lexicon sentiment,
//! always the same for the same input and configuration.
//!
//! Input: a JSON string, or an object with a `text` (or `prompt`) field.
//! Output: `{"model", "summary", "keywords", "sentiment", "tokens"}`, each
//! task present only when enabled.
//!
//! Configuration (all optional):
//! `{"summary_sentences": 2, "keywords": 5, "tasks": ["summary", "keywords", "sentiment"]}`.

mod sentiment;
mod summary;
mod text;

use serde::Deserialize;
use serde_json::{Value, json};
use symphony_sdk::{ExtError, Health, HealthStatus, Instrument, register_instrument};

/// What the model does on each call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Sentences in the summary (1 to 20).
    summary_sentences: usize,
    /// Keywords to return (0 to 50).
    keywords: usize,
    /// Which of `summary`, `keywords`, `sentiment` to run.
    tasks: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            summary_sentences: 2,
            keywords: 5,
            tasks: vec!["summary".into(), "keywords".into(), "sentiment".into()],
        }
    }
}

impl Config {
    fn parse(text: &str) -> Result<Config, ExtError> {
        let config: Config = serde_json::from_str(text)
            .map_err(|e| ExtError::InvalidConfig(format!("mock-llm config: {e}")))?;
        if !(1..=20).contains(&config.summary_sentences) {
            return Err(ExtError::InvalidConfig(format!(
                "mock-llm config: summary_sentences must be 1 to 20, got {}",
                config.summary_sentences
            )));
        }
        if config.keywords > 50 {
            return Err(ExtError::InvalidConfig(format!(
                "mock-llm config: keywords must be 0 to 50, got {}",
                config.keywords
            )));
        }
        if let Some(task) = config
            .tasks
            .iter()
            .find(|t| !matches!(t.as_str(), "summary" | "keywords" | "sentiment"))
        {
            return Err(ExtError::InvalidConfig(format!(
                "mock-llm config: unknown task '{task}' (expected summary, keywords or sentiment)"
            )));
        }
        Ok(config)
    }

    fn runs(&self, task: &str) -> bool {
        self.tasks.iter().any(|t| t == task)
    }
}

/// The model: its current configuration and how many calls it has served.
#[derive(Debug, Default)]
pub struct MockLlm {
    config: Config,
    calls: u64,
}

fn input_text(input: &str) -> Result<String, ExtError> {
    let value: Value = serde_json::from_str(input)
        .map_err(|e| ExtError::InvalidInput(format!("mock-llm input is not JSON: {e}")))?;
    match value {
        Value::String(s) => Ok(s),
        Value::Object(ref map) => match map.get("text").or_else(|| map.get("prompt")) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(ExtError::InvalidInput(format!(
                "mock-llm input: 'text' must be a string, got {other}"
            ))),
            None => Err(ExtError::InvalidInput(
                "mock-llm input: expected a string or an object with a 'text' field".into(),
            )),
        },
        other => Err(ExtError::InvalidInput(format!(
            "mock-llm input: expected a string or an object with a 'text' field, got {other}"
        ))),
    }
}

impl Instrument for MockLlm {
    fn configure(&mut self, config: &str) -> Result<(), ExtError> {
        self.config = Config::parse(config)?;
        Ok(())
    }

    fn invoke(&mut self, input: &str) -> Result<String, ExtError> {
        let text = input_text(input)?;
        self.calls += 1;
        let mut out = json!({
            "model": "mock-llm",
            "tokens": text::words(&text).count(),
        });
        if self.config.runs("summary") {
            let sentences = summary::summarise(&text, self.config.summary_sentences);
            out["summary"] = Value::String(sentences.join(" "));
        }
        if self.config.runs("keywords") {
            out["keywords"] = json!(summary::keywords(&text, self.config.keywords));
        }
        if self.config.runs("sentiment") {
            out["sentiment"] = json!(sentiment::analyse(&text));
        }
        Ok(out.to_string())
    }

    fn health_check(&self) -> Health {
        Health {
            status: HealthStatus::Healthy,
            detail: Some(format!(
                "offline lexicon model: {} sentiment words, {} calls served",
                sentiment::lexicon_size(),
                self.calls
            )),
        }
    }
}

register_instrument!(MockLlm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_runs_every_task_by_default() {
        let mut llm = MockLlm::default();
        let out = llm
            .invoke(r#"{"text": "The new build is fast. Fast builds are great. I like lunch."}"#)
            .unwrap();
        let out: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            out["keywords"],
            json!(["build", "fast", "great", "like", "lunch"])
        );
        assert_eq!(out["sentiment"]["label"], "positive");
        assert!(out["summary"].as_str().unwrap().contains("Fast builds"));
        assert_eq!(out["tokens"], 12);
    }

    #[test]
    fn configure_limits_the_tasks_and_rejects_bad_values() {
        let mut llm = MockLlm::default();
        llm.configure(r#"{"tasks": ["keywords"], "keywords": 1}"#)
            .unwrap();
        let out: Value =
            serde_json::from_str(&llm.invoke(r#""alpha beta alpha""#).unwrap()).unwrap();
        assert_eq!(out["keywords"], json!(["alpha"]));
        assert!(out.get("summary").is_none());

        let err = llm.configure(r#"{"summary_sentences": 0}"#).unwrap_err();
        assert!(matches!(err, ExtError::InvalidConfig(m) if m.contains("summary_sentences")));
        let err = llm.configure(r#"{"temperature": 1}"#).unwrap_err();
        assert!(matches!(err, ExtError::InvalidConfig(m) if m.contains("temperature")));
    }

    #[test]
    fn input_must_carry_text() {
        let mut llm = MockLlm::default();
        for bad in ["42", "{}", "not json", r#"{"text": 3}"#] {
            assert!(
                matches!(llm.invoke(bad), Err(ExtError::InvalidInput(_))),
                "{bad}"
            );
        }
    }
}
