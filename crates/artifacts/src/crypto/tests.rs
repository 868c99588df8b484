use super::*;

fn seal(key: &ArtifactKey, data: &[u8]) -> Vec<u8> {
    let mut sealer = Sealer::new(Vec::new(), key).unwrap();
    sealer.write_all(data).unwrap();
    sealer.finish().unwrap()
}

fn open(key: &ArtifactKey, sealed: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Opener::new(sealed, key, "test")?.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn sizes_across_chunk_boundaries_round_trip_and_predict_their_length() {
    let key = ArtifactKey::generate().unwrap();
    for len in [
        0,
        1,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        3 * CHUNK_SIZE,
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let sealed = seal(&key, &data);
        assert_eq!(open(&key, &sealed).unwrap(), data, "length {len}");
        assert_eq!(plaintext_len(sealed.len() as u64), Some(len as u64));
    }
}

#[test]
fn the_same_content_seals_differently_each_time() {
    let key = ArtifactKey::generate().unwrap();
    assert_ne!(seal(&key, b"same"), seal(&key, b"same"));
}

#[test]
fn keys_parse_from_hex_and_files_and_reject_junk() {
    let hex = "00".repeat(31) + "ff";
    assert_eq!(ArtifactKey::from_hex(&hex, "t").unwrap().0[31], 0xff);
    assert!(ArtifactKey::from_hex("abc", "t").is_err());
    assert!(ArtifactKey::from_hex(&"zz".repeat(32), "t").is_err());
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::write(&raw, [7u8; 32]).unwrap();
    assert_eq!(ArtifactKey::from_file(&raw).unwrap().0, [7; 32]);
    let text = dir.path().join("hex");
    std::fs::write(&text, format!("{hex}\n")).unwrap();
    assert_eq!(ArtifactKey::from_file(&text).unwrap().0[31], 0xff);
    std::fs::write(&text, "short").unwrap();
    let err = ArtifactKey::from_file(&text).unwrap_err().to_string();
    assert!(err.contains("64 hex digits"), "{err}");
    assert_eq!(
        format!("{:?}", ArtifactKey::from_bytes([1; 32])),
        "ArtifactKey(<redacted>)"
    );
}
