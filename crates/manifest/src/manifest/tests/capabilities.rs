//! Capabilities: items, their text form, and what one set lacks.

use std::path::PathBuf;

use proptest::prelude::*;

use super::*;
use crate::{ArtifactAccess, FsAccess};

#[test]
fn capabilities_items_and_what_is_missing() {
    let m = Manifest::parse(FULL, "/ext/jt/symphony.toml").unwrap();
    let items = m.capabilities.items();
    let shown: Vec<String> = items.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "fs:read:/ext/jt/data",
            "fs:read-write:/tmp/out",
            "net:api.example.com:443",
            "net:127.0.0.1:*",
            "http:api.example.com",
            "http:*.example.org",
            "publish:metrics.>",
            "subscribe:exec.*.done",
            "artifacts:read",
            "model:mock-llm",
            "env:LANG",
            "clock",
            "random",
        ]
    );
    let described: Vec<String> = items.iter().map(Capability::describe).collect();
    assert_eq!(described[0], "read files under /ext/jt/data");
    assert_eq!(described[1], "read and write files under /tmp/out");
    assert_eq!(
        described[3],
        "open network connections to 127.0.0.1 on any port"
    );
    assert_eq!(described[6], "publish bus messages on metrics.>");

    let round = Capabilities::from_items(items.clone());
    assert_eq!(round.items(), items);
    assert!(m.capabilities.missing_from(&m.capabilities).is_empty());
    assert_eq!(m.capabilities.missing_from(&Capabilities::default()), items);

    let granted = Capabilities::from_items([
        Capability::Fs {
            path: "/ext".into(),
            access: FsAccess::ReadWrite,
        },
        Capability::Fs {
            path: "/tmp/out".into(),
            access: FsAccess::Read,
        },
        Capability::Net("*.example.com:*".into()),
        Capability::Publish(">".into()),
        Capability::Artifacts(ArtifactAccess::ReadWrite),
        Capability::Model("*".into()),
        Capability::Clock,
    ]);
    let missing: Vec<String> = m
        .capabilities
        .missing_from(&granted)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        missing,
        [
            "fs:read-write:/tmp/out",
            "net:127.0.0.1:*",
            "http:api.example.com",
            "http:*.example.org",
            "subscribe:exec.*.done",
            "env:LANG",
            "random",
        ]
    );
}

#[test]
fn capability_text_is_checked() {
    for bad in [
        "",
        "fs:/a",
        "fs:write:/a",
        "fs:read:",
        "net:a.com",
        "http:a.com:80",
        "publish:a..b",
        "subscribe:",
        "artifacts:all",
        "model:GPT",
        "env:A-B",
        "clock:yes",
        "files:/a",
    ] {
        assert!(bad.parse::<Capability>().is_err(), "{bad}");
    }
    let path: Capability = "fs:read-write:/a:b/c".parse().unwrap();
    assert_eq!(
        path,
        Capability::Fs {
            path: PathBuf::from("/a:b/c"),
            access: FsAccess::ReadWrite
        }
    );
    assert_eq!(
        "model:GPT".parse::<Capability>().unwrap_err().to_string(),
        "invalid capability 'model:GPT': contains 'G' (use lowercase letters, digits and '-')"
    );
}

fn capability() -> impl Strategy<Value = Capability> {
    let host = "(\\*\\.)?[a-z0-9_-]{1,8}(\\.[a-z0-9-]{1,8}){0,2}";
    let subject = "([a-z0-9]{1,5}|\\*)(\\.([a-z0-9]{1,5}|\\*)){0,3}(\\.>)?";
    prop_oneof![
        ("/[^\u{0}]{0,20}", any::<bool>()).prop_map(|(path, rw)| Capability::Fs {
            path: path.into(),
            access: if rw {
                FsAccess::ReadWrite
            } else {
                FsAccess::Read
            },
        }),
        (
            host,
            prop_oneof![Just("*".to_string()), (1u16..).prop_map(|p| p.to_string())]
        )
            .prop_map(|(h, p)| Capability::Net(format!("{h}:{p}"))),
        "\\[::[0-9a-f]{1,4}\\]:[1-9][0-9]{0,3}".prop_map(Capability::Net),
        host.prop_map(Capability::Http),
        subject.prop_map(Capability::Publish),
        subject.prop_map(Capability::Subscribe),
        prop_oneof![
            Just(ArtifactAccess::None),
            Just(ArtifactAccess::Read),
            Just(ArtifactAccess::ReadWrite)
        ]
        .prop_map(Capability::Artifacts),
        "[a-z0-9][a-z0-9-]{0,20}|\\*".prop_map(Capability::Model),
        "[A-Za-z_][A-Za-z0-9_]{0,10}".prop_map(Capability::Env),
        Just(Capability::Clock),
        Just(Capability::Random),
    ]
}

proptest! {
    #[test]
    fn capability_text_round_trips(cap in capability()) {
        let text = cap.to_string();
        let back: Capability = text.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(back, cap);
    }

}
