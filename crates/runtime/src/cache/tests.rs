use super::*;

#[test]
fn header_check_names_what_the_bytes_are() {
    let path = Path::new("x.wasm");
    let core = [0, b'a', b's', b'm', 1, 0, 0, 0];
    let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0];
    assert!(check_header(&component, path).is_ok());
    let msg = |b: &[u8]| check_header(b, path).unwrap_err().to_string();
    assert!(msg(&core).contains("core WebAssembly module"));
    assert!(msg(b"hello world").contains("magic bytes"));
    assert!(msg(b"").contains("only 0 bytes"));
}

#[test]
fn sha256_hex_matches_a_known_digest() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
