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

#[test]
fn a_run_compiles_each_expression_once_and_keeps_its_errors() {
    let compiled = Compiled::default();
    let value = serde_json::json!({"score": 3});
    assert_eq!(compiled.holds("score > `2`", &value), Ok(true));
    assert_eq!(compiled.holds("score > `5`", &value), Ok(false));
    assert_eq!(compiled.holds("score > `2`", &value), Ok(true));
    assert_eq!(compiled.0.borrow().len(), 2);
    assert!(compiled.search("score > `", &value).is_err());
}
