use super::*;

#[test]
fn every_setting_reads_from_toml() {
    let config = ArbitrationConfig::parse(
        r#"
aging_ms = 250
fairness_floor = 0.8
window_secs = 30
[slots]
capacity = 3
strategy = "round-robin"
[instances]
strategy = "fifo"
[extensions.mock-llm]
strategy = "fair-share"
[memory]
strategy = "fifo"
[tenants.alice]
weight = 2
budget = 10.5
budget_window_secs = 60
[log]
max_rows = 10
"#,
        "arbitration.toml",
    )
    .unwrap();
    assert_eq!(config.aging(), Duration::from_millis(250));
    assert_eq!(config.slot_capacity(), 3);
    assert_eq!(
        config.instance_strategy("mock-llm"),
        StrategyKind::FairShare
    );
    assert_eq!(config.instance_strategy("other"), StrategyKind::Fifo);
    assert_eq!(config.tenants["alice"].weight, Some(2.0));
    assert_eq!(config.max_rows(), 10);
}

#[test]
fn a_missing_file_is_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let config = ArbitrationConfig::load(&dir.path().join("arbitration.toml")).unwrap();
    assert_eq!(config, ArbitrationConfig::default());
    assert_eq!(config.instance_strategy("x"), StrategyKind::Priority);
}

#[test]
fn mistakes_are_named_with_their_place() {
    let err = ArbitrationConfig::parse("[slots]\nstrategy = \"lottery\"\n", "a.toml").unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("a.toml: line 2, column 12: unknown variant `lottery`"),
        "{message}"
    );
    let err = ArbitrationConfig::parse("[tenants.bob]\nweight = 0\n", "a.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "a.toml: tenants.bob.weight: must be more than 0, not 0"
    );
    let err =
        ArbitrationConfig::parse("[memory]\nstrategy = \"deadline\"\n", "a.toml").unwrap_err();
    assert!(err.to_string().contains("memory.strategy"), "{err}");
    let err = ArbitrationConfig::parse("slot = 1\n", "a.toml").unwrap_err();
    assert!(err.to_string().contains("unknown field `slot`"), "{err}");
}

#[test]
fn a_refusal_stays_on_one_line_whatever_the_file_quotes() {
    let err = ArbitrationConfig::parse("[tenants.\"a\\nb\"]\nweight = 0\n", "a.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "a.toml: tenants.a\\nb.weight: must be more than 0, not 0"
    );
    let err = ArbitrationConfig::parse("[tenants.x]\nbudget = 1e13\n", "a.toml").unwrap_err();
    assert!(err.to_string().contains("must be from 0 to 1e12"), "{err}");
}
