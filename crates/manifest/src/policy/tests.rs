use super::*;

fn cap(text: &str) -> Capability {
    text.parse().unwrap()
}

#[test]
fn the_most_specific_rule_wins() {
    let policy: Policy = toml::from_str(
        r#"
        [extensions."*"]
        net = "prompt"
        clock = "allow"
        [extensions.scraper]
        net = "deny"
        "net:api.example.com:443" = "allow"
        "#,
    )
    .unwrap();
    let rule = |ext: &str, c: &str| policy.rule_for(ext, &cap(c)).map(|(r, _)| r);
    assert_eq!(
        rule("scraper", "net:api.example.com:443"),
        Some(Rule::Allow)
    );
    assert_eq!(
        rule("scraper", "net:evil.example.com:443"),
        Some(Rule::Deny)
    );
    assert_eq!(rule("other", "net:api.example.com:443"), Some(Rule::Prompt));
    assert_eq!(rule("scraper", "clock"), Some(Rule::Allow));
    assert_eq!(rule("scraper", "random"), None);
    let (_, key) = policy.rule_for("scraper", &cap("net:x.org:80")).unwrap();
    assert_eq!(key, "[extensions.\"scraper\"] \"net\"");
}

#[test]
fn a_bad_policy_names_its_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    assert_eq!(Policy::load(&path).unwrap(), Policy::default());
    std::fs::write(&path, "[extensions.a]\nnet = \"maybe\"\n").unwrap();
    let message = Policy::load(&path).unwrap_err().to_string();
    assert!(message.contains("policy.toml: 2:7"), "{message}");
    assert!(message.contains("allow"), "{message}");
}

#[test]
fn grants_are_kept_per_version_and_the_newest_earlier_one_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = GrantStore::new(dir.path().join("grants.json"));
    let v = |s: &str| semver::Version::parse(s).unwrap();
    assert_eq!(store.lookup("a", &v("1.0.0")).unwrap(), Recorded::default());
    let grants = |g: &[&str]| VersionGrants {
        granted: g.iter().map(|s| s.to_string()).collect(),
        denied: Vec::new(),
    };
    store.record("a", &v("1.0.0"), grants(&["clock"])).unwrap();
    store
        .record("a", &v("1.5.0"), grants(&["clock", "random"]))
        .unwrap();
    store
        .record("b", &v("9.0.0"), grants(&["net:x:1"]))
        .unwrap();
    let Recorded { this, earlier } = store.lookup("a", &v("2.0.0")).unwrap();
    assert_eq!(this, None);
    assert_eq!(earlier, Some((v("1.5.0"), grants(&["clock", "random"]))));
    let Recorded { this, earlier } = store.lookup("a", &v("1.0.0")).unwrap();
    assert_eq!(this, Some(grants(&["clock"])));
    assert_eq!(earlier, None);
}
