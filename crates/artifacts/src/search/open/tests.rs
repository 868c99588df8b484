use super::is_index_file;

#[test]
fn only_tantivy_files_and_our_marker_count_as_index_files() {
    assert!(is_index_file("meta.json"));
    assert!(is_index_file(".managed.json"));
    assert!(is_index_file(".symphony-uncommitted"));
    assert!(is_index_file("0123456789abcdef0123456789abcdef.idx"));
    assert!(is_index_file("0123456789abcdef0123456789abcdef.12.del"));
    assert!(!is_index_file("notes.txt"));
    assert!(!is_index_file(".tantivy-writer.lock"));
    assert!(!is_index_file("0123456789abcdef0123456789abcdef"));
    assert!(!is_index_file("0123456789abcdef0123456789abcdeg.idx"));
}

#[test]
fn the_writer_indexes_with_a_thread_per_spare_core_from_one_to_four() {
    let threads: Vec<usize> = [1, 2, 3, 5, 16].map(super::threads_for).to_vec();
    assert_eq!(threads, [1, 1, 2, 4, 4]);
}
