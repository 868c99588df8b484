//! The cleaner over a real temporary directory acting as the artifact store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::*;
use crate::stale::throttle::tests::FakeClock;
use crate::stale::tiers::tests::{id_of, noise};
use crate::stale::{DAY_MS, ThrottlePolicy};

const NOW: i64 = 1_000 * DAY_MS;

/// A shelf over `<root>/objects/ab/<62 hex>` with facts kept in memory.
pub(crate) struct TestShelf {
    /// The objects directory.
    objects: PathBuf,
    /// Facts by id, updated by `set_placement`.
    facts: Mutex<BTreeMap<String, ArtifactFacts>>,
    /// Facts of trashed artifacts, by id, so undo can bring them back.
    trashed: Mutex<BTreeMap<String, ArtifactFacts>>,
    /// Every placement recorded, in order.
    placements: Mutex<Vec<(String, Placement)>>,
}

impl TestShelf {
    pub(crate) fn new(root: &Path) -> Self {
        TestShelf {
            objects: root.join("objects"),
            facts: Mutex::default(),
            trashed: Mutex::default(),
            placements: Mutex::default(),
        }
    }

    /// Stores `bytes` as a hot object with `facts` (id and size filled in).
    pub(crate) fn add(&self, bytes: &[u8], facts: ArtifactFacts) -> String {
        let id = id_of(bytes);
        let path = self.object_path(&id);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let facts = ArtifactFacts {
            id: id.clone(),
            size: bytes.len() as u64,
            ..facts
        };
        self.facts.lock().unwrap().insert(id.clone(), facts);
        id
    }

    pub(crate) fn placements(&self) -> Vec<(String, Placement)> {
        self.placements.lock().unwrap().clone()
    }
}

impl Shelf for TestShelf {
    fn facts(&self) -> Result<Vec<ArtifactFacts>, StaleError> {
        Ok(self.facts.lock().unwrap().values().cloned().collect())
    }

    fn object_path(&self, id: &str) -> PathBuf {
        self.objects.join(&id[..2]).join(&id[2..])
    }

    fn set_placement(&self, id: &str, placement: Placement) -> Result<(), StaleError> {
        let mut facts = self.facts.lock().unwrap();
        let mut trashed = self.trashed.lock().unwrap();
        match placement {
            Placement::Tier(tier) => {
                let mut f = facts.remove(id).or_else(|| trashed.remove(id)).unwrap();
                f.tier = tier;
                facts.insert(id.to_owned(), f);
            }
            Placement::Trashed { .. } => {
                let f = facts.remove(id).unwrap();
                trashed.insert(id.to_owned(), f);
            }
            Placement::Deleted => {
                trashed.remove(id).unwrap();
            }
        }
        self.placements
            .lock()
            .unwrap()
            .push((id.to_owned(), placement));
        Ok(())
    }
}

/// A hash of every file's relative path and content under `root`.
fn tree_hash(root: &Path) -> String {
    fn walk(dir: &Path, root: &Path, hasher: &mut Sha256) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            hasher.update(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .as_bytes(),
            );
            if path.is_dir() {
                walk(&path, root, hasher);
            } else {
                hasher.update(std::fs::read(&path).unwrap());
            }
        }
    }
    let mut hasher = Sha256::new();
    walk(root, root, &mut hasher);
    format!("{:x}", hasher.finalize())
}

fn base(created_days_ago: i64, accesses: u64) -> ArtifactFacts {
    ArtifactFacts {
        id: String::new(),
        size: 0,
        created_ms: NOW - created_days_ago * DAY_MS,
        access_count: accesses,
        ..crate::stale::score::tests::facts(0)
    }
}

fn policy() -> RetentionPolicy {
    RetentionPolicy {
        max_age_days: Some(90),
        min_access_count: Some(1),
        archive_after_days: Some(10),
        cold_after_days: Some(60),
        trash_days: 7,
        ..RetentionPolicy::default()
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    shelf: TestShelf,
    tiers: TierStore,
    trash: Trash,
    /// Old and never read: deleted.
    stale: String,
    /// Old and never read, but pinned: kept hot.
    pinned: String,
    /// Idle 20 days: warm. Several MiB.
    idle: String,
    /// Idle 70 days, read often: cold.
    cold: String,
    /// Fresh: kept.
    fresh: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let shelf = TestShelf::new(dir.path());
    let stale = shelf.add(b"stale", base(100, 0));
    let pinned = shelf.add(
        b"pinned",
        ArtifactFacts {
            pinned: true,
            ..base(100, 0)
        },
    );
    let idle = shelf.add(&noise(3 << 20, 3), base(20, 1));
    let cold = shelf.add(b"cold", base(70, 5));
    let fresh = shelf.add(b"fresh", base(1, 0));
    let tiers = TierStore::local(dir.path().join("warm"), dir.path().join("cold")).unwrap();
    let trash = Trash::open(dir.path().join("trash"), 7).unwrap();
    Fixture {
        dir,
        shelf,
        tiers,
        trash,
        stale,
        pinned,
        idle,
        cold,
        fresh,
    }
}

fn run(fx: &Fixture, options: &CleanOptions) -> CleanReport {
    clean(&fx.shelf, &policy(), &fx.tiers, &fx.trash, options).unwrap()
}

#[test]
fn dry_run_changes_nothing() {
    let fx = fixture();
    let before = tree_hash(fx.dir.path());
    let options = CleanOptions {
        dry_run: true,
        ..CleanOptions::at(NOW)
    };
    let report = run(&fx, &options);
    assert_eq!(tree_hash(fx.dir.path()), before);
    assert!(fx.shelf.placements().is_empty());
    assert!(report.dry_run && report.errors.is_empty());
    assert_eq!(report.deleted, std::slice::from_ref(&fx.stale));
    assert_eq!(report.archived.len(), 2);
    assert_eq!(report.decisions.len(), 5);
}

#[test]
fn clean_archives_trashes_and_undo_restores() {
    let fx = fixture();
    let idle_bytes = std::fs::read(fx.shelf.object_path(&fx.idle)).unwrap();
    let report = run(&fx, &CleanOptions::at(NOW));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.deleted, std::slice::from_ref(&fx.stale));
    let mut archived = report.archived.clone();
    archived.sort();
    let mut expected = vec![(fx.idle.clone(), Tier::Warm), (fx.cold.clone(), Tier::Cold)];
    expected.sort();
    assert_eq!(archived, expected);
    assert_eq!(report.bytes_freed, 5 + 4 + idle_bytes.len() as u64);

    // Archived: hot file gone, tier copy present; kept ones untouched.
    assert!(!fx.shelf.object_path(&fx.idle).exists());
    assert!(fx.tiers.contains(&fx.idle, Tier::Warm).unwrap());
    assert!(fx.tiers.contains(&fx.cold, Tier::Cold).unwrap());
    assert!(fx.shelf.object_path(&fx.pinned).exists());
    assert!(fx.shelf.object_path(&fx.fresh).exists());
    assert!(fx.trash.contains(&fx.stale));
    assert!(
        fx.shelf
            .placements()
            .contains(&(fx.stale.clone(), Placement::Trashed { at_ms: NOW }))
    );

    // The archived bytes come back identical.
    let out = fx.dir.path().join("restored");
    fx.tiers.restore(&fx.idle, &out).unwrap();
    assert!(std::fs::read(&out).unwrap() == idle_bytes);

    // Undo within the window brings the trashed file back hot.
    undo_delete(&fx.shelf, &fx.trash, &fx.stale, NOW + DAY_MS).unwrap();
    assert_eq!(
        std::fs::read(fx.shelf.object_path(&fx.stale)).unwrap(),
        b"stale"
    );
    assert_eq!(
        fx.shelf.placements().last(),
        Some(&(fx.stale.clone(), Placement::Tier(Tier::Hot)))
    );
}

#[test]
fn warm_artifacts_go_cold_and_deleting_a_tiered_one_trashes_a_hot_copy() {
    let fx = fixture();
    run(&fx, &CleanOptions::at(NOW));
    // Forty days later the warm one is idle 60+ days: cold.
    let later = NOW + 45 * DAY_MS;
    let report = run(&fx, &CleanOptions::at(later));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.archived.contains(&(fx.idle.clone(), Tier::Cold)));
    assert!(!fx.tiers.contains(&fx.idle, Tier::Warm).unwrap());
    assert!(fx.tiers.contains(&fx.idle, Tier::Cold).unwrap());
    // The trashed one's window closed: purged and recorded as deleted.
    assert_eq!(report.purged, std::slice::from_ref(&fx.stale));
    assert!(!fx.trash.contains(&fx.stale));
    assert!(
        fx.shelf
            .placements()
            .contains(&(fx.stale.clone(), Placement::Deleted))
    );

    // Much later the cold one (created 70 days before NOW, read 5 times) is
    // still kept; one never read and old in cold is trashed as a hot file.
    let strict = RetentionPolicy {
        min_access_count: Some(10),
        ..policy()
    };
    let report = clean(
        &fx.shelf,
        &strict,
        &fx.tiers,
        &fx.trash,
        &CleanOptions::at(later),
    )
    .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.deleted.contains(&fx.cold));
    assert!(!fx.tiers.contains(&fx.cold, Tier::Cold).unwrap());
    undo_delete(&fx.shelf, &fx.trash, &fx.cold, later).unwrap();
    assert_eq!(
        std::fs::read(fx.shelf.object_path(&fx.cold)).unwrap(),
        b"cold"
    );
}

#[test]
fn a_failed_archive_keeps_the_hot_file() {
    let fx = fixture();
    // A file where the warm shard directory should be makes the copy fail.
    std::fs::write(
        fx.dir.path().join("warm").join(&fx.idle[..2]),
        b"in the way",
    )
    .unwrap();
    let report = run(&fx, &CleanOptions::at(NOW));
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].id, fx.idle);
    assert!(report.errors[0].error.to_string().contains("warm"));
    assert!(fx.shelf.object_path(&fx.idle).exists());
    assert!(!fx.shelf.placements().iter().any(|(id, _)| *id == fx.idle));
    // The others still went ahead.
    assert_eq!(report.deleted, std::slice::from_ref(&fx.stale));
}

#[test]
fn throttle_sleeps_between_operations() {
    let fx = fixture();
    let clock = Arc::new(FakeClock::default());
    let throttled = RetentionPolicy {
        throttle: ThrottlePolicy {
            max_bytes_per_sec: None,
            max_ops_per_sec: Some(1.0),
        },
        ..policy()
    };
    let options = CleanOptions {
        clock: clock.clone(),
        ..CleanOptions::at(NOW)
    };
    let report = clean(&fx.shelf, &throttled, &fx.tiers, &fx.trash, &options).unwrap();
    // Three operations at one a second: the first is free, two wait a second.
    let sleeps = clock.state.lock().unwrap().1.clone();
    assert_eq!(sleeps, [Duration::from_secs(1), Duration::from_secs(1)]);
    assert_eq!(report.throttled, Duration::from_secs(2));
}
