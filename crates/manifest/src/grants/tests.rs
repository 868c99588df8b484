use super::*;

#[test]
fn only_names_a_net_grant_names_may_be_looked_up() {
    let grants = Grants::none()
        .net("api.example.com:443")
        .net("*.example.org:*")
        .net("127.0.0.1:*");
    assert!(grants.may_resolve("api.example.com"));
    assert!(grants.may_resolve("cdn.example.org"));
    assert!(!grants.may_resolve("example.org"));
    assert!(!grants.may_resolve("evil.example.net"));
    assert!(!Grants::none().may_resolve("localhost"));
}
