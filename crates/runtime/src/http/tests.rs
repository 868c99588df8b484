use super::*;

#[test]
fn only_granted_hosts_pass() {
    let grants = Grants::none().http("*.example.org").http("127.0.0.1");
    let check = |uri: &str| refusal(&grants, &uri.parse().unwrap());
    assert_eq!(check("https://api.example.org/v1?q=1"), None);
    assert_eq!(check("http://127.0.0.1:8080/x"), None);
    assert_eq!(check("http://API.Example.org/"), None);
    let refused = check("https://example.org/").unwrap();
    assert_eq!(refused.capability, "http:example.org");
    assert!(
        refused
            .detail
            .contains("no http grant allows host 'example.org'")
    );
    let refused = check("http://user@127.0.0.1/").unwrap();
    assert!(refused.detail.contains("user info"), "{refused:?}");
    assert!(check("http://[::1]:80/").is_some());
    assert!(check("/relative").is_some());
    // A net grant is no http grant.
    let net_only = Grants::none().net("127.0.0.1:*");
    assert!(refusal(&net_only, &"http://127.0.0.1/".parse().unwrap()).is_some());
}
