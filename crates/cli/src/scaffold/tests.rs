use super::*;

fn plan(name: &str, kind: NewKind) -> anyhow::Result<Plan> {
    Plan::new(
        name,
        kind,
        NewLang::Rust,
        PathBuf::from("/opt/symphony/sdk"),
    )
}

#[test]
fn names_follow_the_manifest_rule_then_the_crate_rules() {
    let p = plan("word-count2", NewKind::Operator).unwrap();
    assert_eq!(
        (p.crate_name.as_str(), p.type_name.as_str()),
        ("word_count2", "WordCount2")
    );
    assert_eq!(
        p.component(),
        "target/wasm32-wasip2/release/word_count2.wasm"
    );
    assert_eq!(
        plan("operator", NewKind::Operator).unwrap().type_name,
        "OperatorExtension"
    );
    assert_eq!(
        plan("none", NewKind::Addon).unwrap().type_name,
        "NoneExtension"
    );

    for (bad, why) in [
        ("Shout", "contains 'S'"),
        ("-x", "starts with '-'"),
        ("", "the name is empty"),
        ("a\"b", "contains '\"'"),
        ("2fast", "cannot start with a digit"),
        ("fn", "Rust keyword"),
        ("serde-json", "dependency"),
        ("test", "built-in crate"),
    ] {
        let err = format!("{:#}", plan(bad, NewKind::Operator).unwrap_err());
        assert!(err.contains(why), "{bad:?}: {err}");
    }
}

#[test]
fn every_kind_renders_files_that_parse_with_nothing_left_to_fill() {
    for kind in [NewKind::Operator, NewKind::Instrument, NewKind::Addon] {
        let p = plan("my-ext", kind).unwrap();
        let files = p.files().unwrap();
        for (path, text) in &files {
            assert!(
                !has_placeholder(text),
                "{kind:?} {path}: placeholder left in\n{text}"
            );
        }
        let file = |name: &str| &files.iter().find(|(p, _)| *p == name).unwrap().1;

        let m = Manifest::parse(file(MANIFEST_FILE), "/x/my-ext/symphony.toml").unwrap();
        assert_eq!((m.name.as_str(), m.kind), ("my-ext", kind.manifest_kind()));
        assert_eq!(
            m.component,
            Path::new("/x/my-ext/target/wasm32-wasip2/release/my_ext.wasm")
        );
        assert!(m.capabilities.items().is_empty());

        let cargo: toml::Table = toml::from_str(file("Cargo.toml")).unwrap();
        assert_eq!(cargo["package"]["name"].as_str(), Some("my-ext"));
        assert!(cargo.contains_key("workspace"), "a workspace of its own");
        assert_eq!(
            cargo["dependencies"]["symphony-sdk"]["path"].as_str(),
            Some("/opt/symphony/sdk")
        );
        assert_eq!(cargo["lib"]["crate-type"][0].as_str(), Some("cdylib"));
        assert!(file("src/lib.rs").contains("pub struct MyExt"));

        let workflow = files.iter().find(|(p, _)| *p == "workflow.json");
        assert_eq!(workflow.is_some(), kind != NewKind::Addon);
        if let Some((_, text)) = workflow {
            let w = symphony_host::workflow::Workflow::from_json(text, "workflow.json").unwrap();
            assert_eq!(w.nodes[0].extension, "my-ext");
            for key in w.nodes[0].config.keys() {
                assert!(
                    m.config.keys.contains_key(key),
                    "{kind:?}: config {key} undeclared"
                );
            }
        }
    }
}

/// Whether `text` still holds a `__PLACEHOLDER__` (Python's `__init__`
/// is not one).
fn has_placeholder(text: &str) -> bool {
    text.match_indices("__").any(|(at, _)| {
        let rest = &text[at + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        name.len() > 2 && name.ends_with("__")
    })
}

#[test]
fn every_language_renders_sources_a_build_table_and_a_component_under_build() {
    for lang in [NewLang::Python, NewLang::Js, NewLang::C] {
        for kind in [NewKind::Operator, NewKind::Instrument, NewKind::Addon] {
            let p = Plan::new("my-ext", kind, lang, PathBuf::from("/opt/sdk")).unwrap();
            let files = p.files().unwrap();
            for (path, text) in &files {
                assert!(!has_placeholder(text), "{lang:?} {kind:?} {path}:\n{text}");
            }
            let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
            assert!(!paths.contains(&"Cargo.toml"), "{lang:?}: {paths:?}");
            let file = |name: &str| &files.iter().find(|(p, _)| *p == name).unwrap().1;
            let m = Manifest::parse(file(MANIFEST_FILE), "/x/my-ext/symphony.toml").unwrap();
            assert_eq!(m.build.language, lang.language());
            assert_eq!(m.component, Path::new("/x/my-ext/build/my_ext.wasm"));
            for source in &m.build.sources {
                let relative = source.strip_prefix("/x/my-ext").unwrap();
                assert!(
                    paths.contains(&relative.to_str().unwrap()),
                    "{lang:?}: {paths:?}"
                );
            }
            assert!(file(".gitignore").contains("/build"));
            assert!(p.next_steps(None).contains("symphony ext build"));
        }
    }
    assert!(has_placeholder("a __NAME__ b"));
    assert!(!has_placeholder("def __init__(self):"));
}

#[test]
fn toml_strings_escape_quotes_backslashes_and_controls() {
    assert_eq!(toml_string(r#"C:\sdk "x""#), r#""C:\\sdk \"x\"""#);
    assert_eq!(toml_string("a\nb"), r#""a\u000Ab""#);
}

#[test]
fn the_sdk_must_be_the_symphony_sdk() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    assert!(find_sdk(None, home).unwrap().join("src/lib.rs").is_file());
    let err = format!(
        "{:#}",
        find_sdk(Some(Path::new("/nonexistent")), home).unwrap_err()
    );
    assert!(
        err.contains("--sdk, /nonexistent, has no readable Cargo.toml"),
        "{err}"
    );
    let host = Path::new(env!("CARGO_MANIFEST_DIR"));
    let err = format!("{:#}", find_sdk(Some(host), home).unwrap_err());
    assert!(err.contains("is not the Symphony SDK"), "{err}");
}
