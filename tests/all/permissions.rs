//! Extensions loaded from manifests get what they ask for only when the
//! person running the host (explicit grants, the policy, a prompt) says
//! so; every answer is audited, and updates ask only about what is new.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::json;
use symphony_host::{
    Error,
    extension::{
        AuditQuery, CallError, DecidedBy, Decision, ExtError, ExtensionSetup, LoadError, Manifest,
        PermissionRequest,
    },
};
use symphony_tests::{TestHost, bare_host, components_dir, fixture, host};

/// A directory holding one manifest for the hostile fixture.
fn hostile_manifest(dir: &Path, version: &str, capabilities: &str) -> PathBuf {
    let path = dir.join("symphony.toml");
    std::fs::write(
        &path,
        format!(
            "[extension]\nname = \"hostile\"\nversion = \"{version}\"\nkind = \"operator\"\n\
             component = {:?}\n\n[capabilities]\n{capabilities}\n",
            fixture("hostile")
        ),
    )
    .unwrap();
    path
}

fn call(host: &TestHost, input: serde_json::Value) -> Result<String, CallError> {
    symphony_tests::call(&host.operator("hostile").unwrap(), input)
}

fn is_denied(result: Result<String, CallError>) -> bool {
    matches!(
        result,
        Err(CallError::Guest {
            error: ExtError::Denied(_),
            ..
        })
    )
}

#[test]
fn the_examples_load_from_their_manifests_and_ask_for_nothing() {
    let host = host();
    let mut names: Vec<String> = host.extensions().into_iter().map(|e| e.name).collect();
    names.sort();
    let examples = [
        "c-checksum",
        "js-progress",
        "js-slugify",
        "json-transform",
        "mock-llm",
        "py-title-model",
        "py-word-stats",
        "status-panel",
    ];
    assert_eq!(names, examples);
    for manifest in examples {
        let manifest =
            Manifest::from_file(components_dir().join(manifest).join("symphony.toml")).unwrap();
        assert!(manifest.capabilities.is_empty(), "{}", manifest.name);
    }
    let decisions = host.audit().query(&AuditQuery::default()).unwrap();
    assert!(decisions.is_empty(), "{decisions:?}");
}

#[test]
fn without_a_prompt_nothing_new_is_granted_and_the_hint_says_how() {
    let host = bare_host();
    let dir = tempfile::tempdir().unwrap();
    let manifest = Manifest::from_file(hostile_manifest(
        dir.path(),
        "1.0.0",
        "bus = { publish = [\"news.*\"] }",
    ))
    .unwrap();
    let loaded = host
        .load_manifest(&manifest, &ExtensionSetup::default())
        .unwrap();
    assert_eq!(loaded.denied.len(), 1);
    assert_eq!(loaded.denied[0].by, DecidedBy::NoPrompt);
    assert!(
        loaded.denied[0]
            .reason
            .contains("--grant hostile:publish:news.*"),
        "{}",
        loaded.denied[0].reason
    );
    assert!(is_denied(call(
        &host,
        json!({"mode": "publish", "subject": "news.today"})
    )));
    let audit = host
        .audit()
        .query(&AuditQuery {
            capability: Some("publish:news.*".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].decision, audit[0].by),
        (Decision::Denied, DecidedBy::NoPrompt)
    );
}

#[test]
fn an_explicit_grant_or_a_policy_rule_allows_and_a_policy_deny_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_manifest(dir.path(), "1.0.0", "bus = { publish = [\"news.*\"] }");
    let manifest = Manifest::from_file(&path).unwrap();

    let host = bare_host();
    let setup = ExtensionSetup {
        grants: vec![("hostile".into(), "publish:news.*".parse().unwrap())],
        prompt: None,
    };
    assert!(
        host.load_manifest(&manifest, &setup)
            .unwrap()
            .denied
            .is_empty()
    );
    call(&host, json!({"mode": "publish", "subject": "news.today"})).unwrap();

    let host = bare_host();
    std::fs::write(
        host.home().join("policy.toml"),
        "[extensions.hostile]\npublish = \"allow\"\n",
    )
    .unwrap();
    let loaded = host
        .load_manifest(&manifest, &ExtensionSetup::default())
        .unwrap();
    assert!(loaded.denied.is_empty());
    call(&host, json!({"mode": "publish", "subject": "news.today"})).unwrap();

    // A deny rule beats even an earlier grant of the same version.
    std::fs::write(
        host.home().join("policy.toml"),
        "[extensions.\"*\"]\npublish = \"deny\"\n",
    )
    .unwrap();
    let again = symphony_host::Host::builder()
        .home(host.home())
        .build()
        .unwrap();
    let loaded = again
        .load_manifest(&manifest, &ExtensionSetup::default())
        .unwrap();
    assert_eq!(loaded.denied[0].by, DecidedBy::Policy);
}

#[test]
fn an_update_asks_only_about_what_it_newly_wants() {
    let host = bare_host();
    let v1 = tempfile::tempdir().unwrap();
    let v2 = tempfile::tempdir().unwrap();
    let asked: Mutex<Vec<PermissionRequest>> = Mutex::new(Vec::new());
    let yes = |request: &PermissionRequest| {
        asked.lock().unwrap().push(request.clone());
        true
    };
    let setup = ExtensionSetup {
        grants: Vec::new(),
        prompt: Some(&yes),
    };
    let first = Manifest::from_file(hostile_manifest(
        v1.path(),
        "1.0.0",
        "bus = { publish = [\"news.*\"] }\nclock = true",
    ))
    .unwrap();
    host.load_manifest(&first, &setup).unwrap();
    assert_eq!(asked.lock().unwrap().len(), 2);
    host.shutdown();

    let host = symphony_host::Host::builder()
        .home(host.home())
        .build()
        .unwrap();
    asked.lock().unwrap().clear();
    let second = Manifest::from_file(hostile_manifest(
        v2.path(),
        "2.0.0",
        "bus = { publish = [\"news.*\"] }\nclock = true\nnet = [\"api.example.com:443\"]",
    ))
    .unwrap();
    let loaded = host.load_manifest(&second, &setup).unwrap();
    let asked = asked.lock().unwrap();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].capability.to_string(), "net:api.example.com:443");
    assert_eq!(
        asked[0].question(),
        "hostile 2.0.0 (an update from 1.0.0) now also wants to open network connections to \
         api.example.com:443"
    );
    let (from, new) = loaded.update.unwrap();
    assert_eq!(from.to_string(), "1.0.0");
    assert_eq!(new.len(), 1);
    let carried = host
        .audit()
        .query(&AuditQuery {
            extension: Some("hostile".into()),
            ..AuditQuery::default()
        })
        .unwrap()
        .into_iter()
        .filter(|r| r.version.as_deref() == Some("2.0.0") && r.by == DecidedBy::EarlierGrant)
        .count();
    assert_eq!(carried, 2);
}

#[test]
fn file_grants_keep_the_guest_inside_them() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("notes.txt"), "hello").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        data.path().join("link.txt"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = Manifest::from_file(hostile_manifest(
        dir.path(),
        "1.0.0",
        &format!(
            "fs = [{{ path = {:?}, guest = \"/data\", access = \"read\" }}]",
            data.path()
        ),
    ))
    .unwrap();
    let host = bare_host();
    let setup = ExtensionSetup {
        grants: vec![(
            "hostile".into(),
            format!("fs:read:{}", data.path().display())
                .parse()
                .unwrap(),
        )],
        prompt: None,
    };
    let loaded = host.load_manifest(&manifest, &setup).unwrap();
    assert!(
        loaded.denied.is_empty(),
        "{:?} {:?}",
        loaded.denied,
        manifest.capabilities
    );
    let read = |path: &str| call(&host, json!({"mode": "read", "path": path}));
    assert_eq!(read("/data/notes.txt").unwrap(), "\"hello\"");
    let secret = outside.path().join("secret.txt").display().to_string();
    for escape in [
        "/data/../secret.txt".to_string(),
        format!("/data/../../../../{secret}"),
        secret.clone(),
        "/data/link.txt".to_string(),
    ] {
        let result = read(&escape);
        assert!(
            !format!("{result:?}").contains("top secret"),
            "{escape} escaped: {result:?}"
        );
        assert!(result.is_err(), "{escape}: {result:?}");
    }
    let write = call(
        &host,
        json!({"mode": "write", "path": "/data/new.txt", "content": "x"}),
    );
    assert!(write.is_err(), "a read grant allowed a write: {write:?}");
    assert!(!data.path().join("new.txt").exists());
}

#[test]
fn dependency_problems_fail_the_extensions_they_concern_and_no_other() {
    let root = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("symphony.toml"),
            format!(
                "[extension]\nname = \"{name}\"\nversion = \"1.0.0\"\nkind = \"operator\"\n\
                 component = {:?}\n{body}",
                fixture("hostile")
            ),
        )
        .unwrap();
    };
    write("a", "[dependencies]\nb = \"^2\"\n");
    write("b", "");
    write("c", "[dependencies]\nmissing = \"^1\"\n");
    let host = bare_host();
    let report = host
        .load_extensions(&[root.path().to_path_buf()], &ExtensionSetup::default())
        .unwrap();
    let mut reasons: Vec<(&str, &str)> = report
        .not_loaded
        .iter()
        .map(|f| (f.name.as_str(), f.reason.as_str()))
        .collect();
    reasons.sort_unstable();
    let [("a", a), ("c", c)] = reasons[..] else {
        panic!("{reasons:?}");
    };
    assert!(a.contains("b: a 1.0.0 needs ^2; found 1.0.0"), "{a}");
    assert!(c.contains("no extension named missing"), "{c}");
    let loaded: Vec<String> = host.extensions().into_iter().map(|e| e.name).collect();
    assert_eq!(loaded, ["b"]);
}

#[test]
fn a_component_that_is_not_what_its_manifest_says_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("symphony.toml"),
        format!(
            "[extension]\nname = \"liar\"\nversion = \"1.0.0\"\nkind = \"instrument\"\n\
             component = {:?}\n",
            fixture("hostile")
        ),
    )
    .unwrap();
    let host = bare_host();
    let report = host
        .load_extensions(&[dir.path().to_path_buf()], &ExtensionSetup::default())
        .unwrap();
    let [failure] = &report.not_loaded[..] else {
        panic!("{report:?}");
    };
    assert_eq!(failure.name, "liar");
    assert!(
        failure.reason.contains("manifest says it is an instrument"),
        "{}",
        failure.reason
    );
    // Loaded on its own, the error says the same, typed.
    let manifest =
        symphony_host::extension::Manifest::from_file(dir.path().join("symphony.toml")).unwrap();
    let err = host
        .load_manifest(&manifest, &ExtensionSetup::default())
        .unwrap_err();
    assert!(
        matches!(err, Error::Load(LoadError::WorldMismatch { .. })),
        "{err}"
    );
}

#[test]
fn a_malformed_manifest_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("symphony.toml"),
        "[extension]\nname = \"x\"\nversion = \"1.x\"\nkind = \"operator\"\ncomponent = \"x.wasm\"\n",
    )
    .unwrap();
    let host = bare_host();
    let report = host
        .load_extensions(&[dir.path().to_path_buf()], &ExtensionSetup::default())
        .unwrap();
    let [failure] = &report.not_loaded[..] else {
        panic!("{report:?}");
    };
    assert_eq!(failure.name, "x");
    let err = &failure.reason;
    assert!(err.contains("symphony.toml:3:11"), "{err}");
    assert!(err.contains("semver"), "{err}");
    // `discover` still reports every problem at once, as an error.
    let err = symphony_host::extension::discover(&[dir.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("symphony.toml:3:11"), "{err}");
}
