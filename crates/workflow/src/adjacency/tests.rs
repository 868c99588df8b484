use super::*;

#[test]
fn grouped_lists_keep_their_order_and_empty_nodes_stay_empty() {
    let lists = Adjacency::group(4, [(2, 'a'), (0, 'b'), (2, 'c'), (3, 'd')].into_iter());
    assert_eq!(lists.of(0), ['b']);
    assert!(lists.of(1).is_empty());
    assert_eq!(lists.of(2), ['a', 'c']);
    assert_eq!(lists.of(3), ['d']);
}

#[test]
fn short_and_long_ids_are_found_and_told_apart() {
    let long = "a-node-id-longer-than-fifteen-bytes";
    let ids = ["", "a", "a\0", "fifteen-bytes-x", "sixteen-bytes-xx", long];
    let mut index = IdIndex::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(index.insert(id, i), None, "{id:?}");
    }
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(index.get(id), Some(i), "{id:?}");
    }
    assert_eq!(index.insert("a", 9), Some(1), "the first index is kept");
    assert_eq!(index.get("a"), Some(1));
    for missing in ["b", "a\0\0", &long[..20], "fifteen-bytes-"] {
        assert_eq!(index.get(missing), None, "{missing:?}");
    }
}

#[test]
fn words_hold_each_byte_in_place() {
    for n in 0..=8 {
        let bytes: Vec<u8> = (1..=n as u8).collect();
        let mut expected = [0u8; 8];
        expected[..n].copy_from_slice(&bytes);
        assert_eq!(word(&bytes), u64::from_le_bytes(expected), "{n} bytes");
    }
}

proptest::proptest! {
    /// The index agrees with a plain map of strings.
    #[test]
    fn lookups_agree_with_a_string_map(
        ids in proptest::collection::vec("[a\\x00-]{0,20}", 0..40),
        probes in proptest::collection::vec("[a\\x00-]{0,20}", 0..40),
    ) {
        let mut index = IdIndex::with_capacity(ids.len());
        let mut plain = std::collections::HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            proptest::prop_assert_eq!(index.insert(id, i), plain.get(id.as_str()).copied());
            plain.entry(id.as_str()).or_insert(i);
        }
        for id in ids.iter().chain(&probes) {
            proptest::prop_assert_eq!(index.get(id), plain.get(id.as_str()).copied());
        }
    }
}
