use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use super::*;

/// Runs `name`'s smoke mode for a second with a fixed seed: no crash, more
/// runs than seeds, and both the accepting and the rejecting paths taken.
fn smoke_for_a_second(name: &str) -> SmokeReport {
    let target = target(name).unwrap_or_else(|| panic!("no target {name}"));
    let report = smoke(target, Duration::from_secs(1), 0x5eed);
    assert!(
        report.runs > target.seeds().len() as u64,
        "{name}: only the seeds ran: {report:?}"
    );
    assert!(report.accepted > 0, "{name}: nothing accepted: {report:?}");
    assert!(report.rejected > 0, "{name}: nothing rejected: {report:?}");
    assert!(report.features > 1, "{name}: {report:?}");
    report
}

macro_rules! smoke_tests {
    ($($test:ident => $name:literal,)*) => {$(
        #[test]
        fn $test() {
            smoke_for_a_second($name);
        }
    )*};
}

smoke_tests! {
    frame_decoder_smoke_runs_for_a_second_without_a_crash => "frame_decoder",
    manifest_smoke_runs_for_a_second_without_a_crash => "manifest",
    workflow_smoke_runs_for_a_second_without_a_crash => "workflow",
    template_smoke_runs_for_a_second_without_a_crash => "template",
    artifacts_smoke_runs_for_a_second_without_a_crash => "artifacts",
}

#[test]
fn every_target_is_listed_once() {
    let names: HashSet<&str> = TARGETS.iter().map(|t| t.name()).collect();
    assert_eq!(names.len(), TARGETS.len());
    for name in names {
        assert_eq!(target(name).map(|t| t.name()), Some(name));
    }
    assert!(target("no-such-target").is_none());
}

#[test]
fn mutations_stay_bounded_and_replay() {
    for target in TARGETS {
        let corpus: Vec<Vec<u8>> = target.seeds().into_iter().map(|(_, b)| b).collect();
        let (mut a, mut b) = (Rng::new(1), Rng::new(1));
        for _ in 0..500 {
            let input = engine::mutant(*target, &mut a, &corpus);
            assert!(input.len() <= target.max_input(), "{}", target.name());
            assert_eq!(
                input,
                engine::mutant(*target, &mut b, &corpus),
                "{}: a mutation does not replay",
                target.name()
            );
        }
    }
}

/// The seed files libFuzzer starts from are the in-code corpora. Set
/// `SYMPHONY_FUZZ_BLESS=1` to (re)write them.
#[test]
fn corpus_files_match_the_seed_corpus() {
    let bless = std::env::var_os("SYMPHONY_FUZZ_BLESS").is_some();
    for target in TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target.name());
        if bless {
            fs::create_dir_all(&dir).unwrap();
        }
        let mut names = HashSet::new();
        for (name, bytes) in target.seeds() {
            // fuzz/.gitignore keeps only `seed-*` files tracked.
            assert!(name.starts_with("seed-"), "{}: {name}", target.name());
            assert!(names.insert(name), "{}: {name} twice", target.name());
            assert!(
                bytes.len() <= target.max_input(),
                "{}: {name}",
                target.name()
            );
            let path = dir.join(name);
            if bless {
                fs::write(&path, &bytes).unwrap();
            } else {
                assert!(
                    fs::read(&path).ok().as_ref() == Some(&bytes),
                    "{} is missing or stale: rerun with SYMPHONY_FUZZ_BLESS=1",
                    path.display()
                );
            }
        }
    }
}
