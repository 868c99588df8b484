use super::same_interface;

#[test]
fn interfaces_match_across_patch_versions_only() {
    let ours = "symphony:extension/operator@0.1.1";
    assert!(same_interface("symphony:extension/operator@0.1.0", ours));
    assert!(same_interface("symphony:extension/operator@0.1.7", ours));
    assert!(!same_interface("symphony:extension/operator@0.2.0", ours));
    assert!(!same_interface("symphony:extension/addon@0.1.1", ours));
    assert!(!same_interface("symphony:extension/operator", ours));
}
