use super::*;

#[test]
fn the_seeds_load_instantiate_and_fail() {
    let instantiated = {
        let mut outcome = Outcome::default();
        outcome.feature(&["instantiated"]);
        outcome.features[0]
    };
    let (mut loaded, mut made) = (0, 0);
    for (name, input) in TemplateTarget.seeds() {
        let doc = input.split(|&b| b == SEPARATOR).next().unwrap_or_default();
        loaded += usize::from(Template::from_json(&String::from_utf8_lossy(doc), ORIGIN).is_ok());
        let outcome = run(&input);
        assert!(outcome.accepted + outcome.rejected >= 1, "{name}");
        made += usize::from(outcome.features.contains(&instantiated));
    }
    assert_eq!(loaded, 6);
    assert!(made >= 4, "{made}");
}
