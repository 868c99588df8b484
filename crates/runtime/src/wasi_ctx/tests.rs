use super::*;

#[test]
fn address_patterns_match_by_value_and_port() {
    let allowed =
        |pattern: &str, addr: SocketAddr| crate::block_on(connect_allowed(pattern, addr)).unwrap();
    let v6: SocketAddr = "[::1]:443".parse().unwrap();
    assert!(allowed("[0:0::1]:443", v6));
    assert!(allowed("[::1]:*", v6));
    assert!(!allowed("[::1]:80", v6));
    let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    assert!(allowed("127.0.0.1:*", v4));
    assert!(!allowed("127.0.0.2:*", v4));
    assert!(!allowed("*.example.com:*", v4));
    assert!(allowed("localhost:8080", v4));
    assert!(!allowed("localhost:8081", v4));
}
