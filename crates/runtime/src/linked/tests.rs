use super::unlinked;

#[test]
fn imports_on_the_linked_track_link_and_others_are_named() {
    for linked in [
        "wasi:cli/environment@0.2.0",
        "wasi:cli/environment@0.2.6",
        "wasi:cli/environment@0.2.99",
        "wasi:http/types@0.2.9",
        "symphony:extension/host@0.1.0",
    ] {
        assert_eq!(unlinked(linked), None, "{linked}");
    }
    let newer = unlinked("wasi:cli/environment@0.3.0").unwrap();
    assert_eq!(newer.interface, "wasi:cli/environment");
    assert_eq!(newer.wanted, "0.3.0");
    assert_eq!(newer.have.as_deref(), Some("wasi:cli@0.2.12"));
    assert!(unlinked("wasi:cli/environment@0.2.0-rc-2023-11-10").is_some());
    assert!(unlinked("symphony:extension/host@0.2.0").is_some());
    let unknown = unlinked("acme:db/query@1.0.0").unwrap();
    assert_eq!(unknown.have, None);
    // An unversioned name is not for this check.
    assert_eq!(unlinked("wasi:cli/environment"), None);
}

#[test]
fn tracks_follow_the_component_models_version_rule() {
    use super::same_track;
    assert!(same_track("1.2.0", "1.9.3"));
    assert!(!same_track("2.0.0", "1.9.3"));
    assert!(same_track("0.1.0", "0.1.1"));
    assert!(!same_track("0.2.0", "0.1.1"));
    assert!(!same_track("0.0.1", "0.0.2"));
    assert!(same_track("0.0.2", "0.0.2"));
    assert!(!same_track("0.2.0-rc-1", "0.2.0"));
    assert!(same_track("", ""), "unversioned names match each other");
    assert!(!same_track("", "0.1.0"));
}
