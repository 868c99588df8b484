//! Tier round trips over real directories.

use super::*;

pub(crate) fn id_of(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `len` pseudo-random bytes (xorshift), poorly compressible.
pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn store(dir: &Path) -> TierStore {
    TierStore::local(dir.join("warm"), dir.join("cold")).unwrap()
}

#[test]
fn archive_then_restore_returns_identical_bytes_in_both_tiers() {
    let dir = tempfile::tempdir().unwrap();
    let tiers = store(dir.path());
    let small = b"a small artifact".repeat(100);
    // Larger than two upload parts, so the cold copy goes multipart.
    let mut large = noise((2 * PART_SIZE) + 12_345, 7);
    large.extend(std::iter::repeat_n(b'z', 1 << 20));
    for (bytes, tier) in [
        (&small, Tier::Warm),
        (&small, Tier::Cold),
        (&large, Tier::Warm),
        (&large, Tier::Cold),
        (&Vec::new(), Tier::Cold),
        (&Vec::new(), Tier::Warm),
    ] {
        let id = id_of(bytes);
        let src = dir.path().join("src");
        std::fs::write(&src, bytes).unwrap();
        let receipt = tiers.archive(&id, &src, tier).unwrap();
        assert_eq!(receipt.bytes, bytes.len() as u64);
        assert_eq!(receipt.sha256, id);
        assert!(tiers.contains(&id, tier).unwrap());
        let out = dir.path().join("restored").join("out");
        assert_eq!(tiers.restore(&id, &out).unwrap(), tier);
        assert!(
            std::fs::read(&out).unwrap() == *bytes,
            "{tier} {}",
            bytes.len()
        );
        tiers.remove(&id, tier).unwrap();
        assert!(!tiers.contains(&id, tier).unwrap());
        tiers.remove(&id, tier).unwrap();
    }
}

#[test]
fn the_cold_tier_works_from_inside_an_async_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let tiers = store(dir.path());
    let bytes = b"archived, then read by async code".repeat(10);
    let id = id_of(&bytes);
    let src = dir.path().join("src");
    std::fs::write(&src, &bytes).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        tiers.archive(&id, &src, Tier::Cold).unwrap();
        assert!(tiers.contains(&id, Tier::Cold).unwrap());
        let out = dir.path().join("out");
        assert_eq!(tiers.restore(&id, &out).unwrap(), Tier::Cold);
        assert_eq!(std::fs::read(&out).unwrap(), bytes);
        tiers.remove(&id, Tier::Cold).unwrap();
        // Dropped here too, as an async host drops its store.
        drop(tiers);
    });
}

#[test]
fn warm_copies_are_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let tiers = store(dir.path());
    let bytes = b"compressible ".repeat(10_000);
    let src = dir.path().join("src");
    std::fs::write(&src, &bytes).unwrap();
    let receipt = tiers.archive(&id_of(&bytes), &src, Tier::Warm).unwrap();
    assert!(receipt.stored_bytes * 10 < receipt.bytes, "{receipt:?}");
}

#[test]
fn a_damaged_warm_copy_fails_to_restore() {
    let dir = tempfile::tempdir().unwrap();
    let tiers = store(dir.path());
    let bytes = noise(100_000, 5);
    let id = id_of(&bytes);
    let src = dir.path().join("src");
    std::fs::write(&src, &bytes).unwrap();
    tiers.archive(&id, &src, Tier::Warm).unwrap();
    let warm = tiers.warm_path(&id);
    let mut stored = std::fs::read(&warm).unwrap();
    let middle = stored.len() / 2;
    stored[middle] ^= 0x55;
    std::fs::write(&warm, stored).unwrap();
    let out = dir.path().join("out");
    let e = tiers.restore(&id, &out).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
    assert!(!out.exists());
}

#[test]
fn misuse_is_refused_with_names() {
    let dir = tempfile::tempdir().unwrap();
    let tiers = store(dir.path());
    let id = "ab".repeat(32);
    let e = tiers.restore(&id, &dir.path().join("x")).unwrap_err();
    assert!(matches!(e, StaleError::NotInTier { .. }), "{e}");
    assert!(e.to_string().contains(&id));
    let src = dir.path().join("src");
    std::fs::write(&src, b"x").unwrap();
    let e = tiers.archive(&id, &src, Tier::Hot).unwrap_err();
    assert!(matches!(e, StaleError::BadTier { .. }), "{e}");
    let e = tiers
        .archive("../etc/passwd", &src, Tier::Warm)
        .unwrap_err();
    assert!(matches!(e, StaleError::BadId(_)), "{e}");
    let e = tiers
        .archive(&id, &dir.path().join("missing"), Tier::Warm)
        .unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
    assert!(!dir.path().join("x").exists());
}

#[test]
fn a_local_cold_config_opens_a_working_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = ColdConfig::Local {
        path: dir.path().join("cold"),
    };
    let tiers = TierStore::from_config(dir.path().join("warm"), &config).unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, b"cold bytes").unwrap();
    let id = id_of(b"cold bytes");
    tiers.archive(&id, &src, Tier::Cold).unwrap();
    assert!(dir.path().join("cold").join("objects").join(&id).is_file());
}

#[test]
fn s3_config_without_the_feature_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = ColdConfig::S3 {
        bucket: "b".into(),
        endpoint: None,
        region: None,
    };
    if cfg!(not(feature = "s3")) {
        let e = TierStore::from_config(dir.path(), &config).unwrap_err();
        assert!(e.to_string().contains("`s3` feature"), "{e}");
    }
}
