use super::join;

#[test]
fn paths_join_as_the_guest_sees_them() {
    assert_eq!(join("/", "etc/passwd"), "/etc/passwd");
    assert_eq!(join("/data", "new.txt"), "/data/new.txt");
}
