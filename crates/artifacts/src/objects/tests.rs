use super::*;
use std::io::Write;

#[test]
fn ids_must_be_64_lowercase_hex_digits() {
    assert!(check_id(&"a".repeat(64)).is_ok());
    for bad in [
        "",
        "../etc/passwd",
        &"A".repeat(64),
        &"a".repeat(63),
        &"g".repeat(64),
    ] {
        assert!(
            matches!(check_id(bad), Err(ArtifactError::BadId(_))),
            "{bad}"
        );
    }
}

#[test]
fn commit_places_the_object_in_its_shard_and_a_second_commit_dedups() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::open(dir.path()).unwrap();
    let id = "ab".repeat(32);
    let mut temp = objects.create_temp().unwrap();
    temp.file().write_all(b"x").unwrap();
    assert!(temp.commit(&objects, &id).unwrap());
    let path = dir.path().join("objects").join("ab").join(&id[2..]);
    assert_eq!(fs::read(&path).unwrap(), b"x");
    let mut temp = objects.create_temp().unwrap();
    temp.file().write_all(b"x").unwrap();
    assert!(!temp.commit(&objects, &id).unwrap());
    assert_eq!(objects.scan().unwrap(), vec![(id, 1)]);
    let leftovers: Vec<_> = fs::read_dir(dir.path().join("objects"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec!["ab"], "no temporary file is left behind");
}

#[test]
fn temporary_leftovers_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::open(dir.path()).unwrap();
    let temp = objects.create_temp().unwrap();
    let crashed = temp.path().to_path_buf();
    std::mem::forget(temp); // as if the process died mid-write
    let shard = dir.path().join("objects").join("cd");
    fs::create_dir_all(&shard).unwrap();
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for name in [".tmp-old", ".tmpAb12Cd"] {
        let file = File::create(shard.join(name)).unwrap();
        file.set_modified(hours_ago).unwrap();
    }
    fs::write(shard.join(".tmpFresh"), b"being written elsewhere").unwrap();
    let live_other = shard.join(format!(".tmp-1-{}-0", 42));
    fs::write(&live_other, b"pid 1 is alive").unwrap();
    assert!(crashed.exists());
    Objects::open(dir.path()).unwrap();
    assert!(!crashed.exists());
    assert!(!shard.join(".tmp-old").exists());
    assert!(!shard.join(".tmpAb12Cd").exists());
    assert!(
        shard.join(".tmpFresh").exists(),
        "a fresh unowned temp may be in use"
    );
    #[cfg(target_os = "linux")]
    assert!(live_other.exists(), "a live process's temp stays");
}
