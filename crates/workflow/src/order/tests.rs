use proptest::prelude::*;

use super::*;

fn by_prefix_then_id(a: &str, b: &str) -> std::cmp::Ordering {
    prefix(a).cmp(&prefix(b)).then_with(|| a.cmp(b))
}

#[test]
fn prefixes_order_ids_as_their_bytes_do() {
    let pairs = [
        ("a", "a\0"),
        ("a", "ab"),
        ("n000009", "n000010"),
        ("n10", "n9"),
        ("same-sixteen-byt", "same-sixteen-byte"),
        ("same-sixteen-bytes-a", "same-sixteen-bytes-b"),
        ("zé", "zz"),
        ("", "\0"),
    ];
    for (a, b) in pairs {
        assert_eq!(by_prefix_then_id(a, b), a.cmp(b), "{a:?} vs {b:?}");
        assert_eq!(by_prefix_then_id(b, a), b.cmp(a), "{b:?} vs {a:?}");
    }
}

proptest! {
    #[test]
    fn sorting_by_prefix_sorts_by_id(mut ids in prop::collection::vec("[a\\x00-c]{0,20}", 0..60)) {
        let mut expected = ids.clone();
        expected.sort();
        ids.sort_by(|a, b| by_prefix_then_id(a, b));
        prop_assert_eq!(ids, expected);
    }
}
