use super::*;

#[test]
fn net_patterns_are_checked() {
    for good in [
        "api.example.com:443",
        "127.0.0.1:*",
        "*.example.org:8080",
        "[::1]:443",
        "localhost:1",
        "x:65535",
    ] {
        assert_eq!(check_net(good), Ok(()), "{good}");
    }
    for (bad, why) in [
        ("api.example.com", "expected host:port"),
        (":443", "the host is empty"),
        (
            "api.example.com:0",
            "port '0' must be a number from 1 to 65535",
        ),
        ("api.example.com:65536", "port '65536'"),
        ("api.example.com:+1", "port '+1'"),
        ("api.example.com:", "port ''"),
        ("*:443", "'*' alone"),
        ("a.*.com:443", "may only be the whole first label"),
        ("::1:443", "in brackets"),
        ("[nope]:443", "not an IPv6 address"),
        ("[::1]443", "expected ':'"),
        ("a..b:1", "empty label"),
        ("https://a.com:443", "leave out the scheme"),
    ] {
        let err = check_net(bad).unwrap_err();
        assert!(err.contains(why), "{bad}: {err}");
    }
}

#[test]
fn net_allows_matches_host_and_port() {
    assert!(net_allows("[::1]:443", "::1", 443));
    assert!(net_allows("[::1]:443", "[::1]", 443));
    assert!(!net_allows("bad", "bad", 1));
    assert!(!net_allows("*.example.org:*", ".example.org", 1));
    assert!(!net_allows("*.example.org:*", "xexample.org", 1));
    assert!(net_allows("*.example.org:*", "é.example.org", 1));
    assert!(!net_allows("*.example.org:*", "é", 1));
    assert!(net_allows("*.Example.org:*", "a.example.ORG", 1));
}

#[test]
fn covering_rules() {
    assert!(host_covers("*.example.com", "api.example.com"));
    assert!(host_covers("*.example.com", "*.api.example.com"));
    assert!(host_covers("*.example.com", "*.example.com"));
    assert!(!host_covers("api.example.com", "*.example.com"));
    assert!(!host_covers("*.example.com", "example.com"));
    assert!(net_covers("a.com:*", "a.com:443"));
    assert!(!net_covers("a.com:443", "a.com:*"));
    assert!(!net_covers("a.com:443", "a.com:80"));
    assert!(subject_covers("metrics.>", "metrics.cpu.load"));
    assert!(subject_covers("metrics.>", "metrics.>"));
    assert!(subject_covers("metrics.*", "metrics.cpu"));
    assert!(subject_covers("metrics.*", "metrics.*"));
    assert!(!subject_covers("metrics.*", "metrics.>"));
    assert!(!subject_covers("metrics.*", "metrics.cpu.load"));
    assert!(!subject_covers("metrics.>", "metrics"));
    assert!(!subject_covers("a.b", "a.*"));
    assert!(subject_covers(">", "anything.at.all"));
}
