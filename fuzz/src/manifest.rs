//! The `manifest` target: [`Manifest::parse`] on arbitrary text (see
//! [`fuzz`]).

mod seeds;

use std::path::Path;

use seeds::{DICTIONARY, LINES, SEEDS, VALUES};
use serde_json::{Map, Value};
use symphony_manifest::{
    Capabilities, Capability, Limits, Manifest, ManifestError, ManifestLimits,
};

use crate::engine::{Outcome, Rng, Target, text};

/// The name the text is parsed under; relative paths in it resolve
/// against its directory, `.`.
const PATH: &str = "symphony.toml";

/// The `manifest` target, for the smoke fuzzer.
#[derive(Debug, Clone, Copy)]
pub struct ManifestTarget;

impl Target for ManifestTarget {
    fn name(&self) -> &'static str {
        "manifest"
    }

    fn seeds(&self) -> Vec<(&'static str, Vec<u8>)> {
        SEEDS
            .iter()
            .map(|(name, text)| (*name, text.as_bytes().to_vec()))
            .collect()
    }

    fn run(&self, data: &[u8]) -> Outcome {
        run(data)
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        DICTIONARY
    }

    fn mutate(&self, rng: &mut Rng, data: &mut Vec<u8>) -> bool {
        text::mutate_lines(rng, data, LINES, VALUES)
    }

    fn max_input(&self) -> usize {
        4 << 10
    }
}

/// The fuzz target: reads `data` (as lossy UTF-8) as a `symphony.toml`
/// with [`Manifest::parse`], twice, and checks the result.
///
/// Both reads must agree. A manifest that reads must hold together: its
/// name passes [`Manifest::check_name`], every capability in
/// [`Capabilities::items`] survives its text form (`to_string` then
/// `parse`) and is covered by the set it came from, the set rebuilt with
/// [`Capabilities::from_items`] lists the same items, the limits applied
/// to [`Limits::default`] keep every default that was not given, and the
/// config schema asks for exactly its required keys and fills in exactly
/// its defaults. A manifest that does not read must say why with at least
/// one problem, each pointing inside the text (a line that exists, a
/// column within it or just past its end) with a one-line message, in
/// file order. A panic is a bug.
pub fn fuzz(data: &[u8]) {
    run(data);
}

fn run(data: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(data);
    let mut outcome = Outcome::default();
    let first = Manifest::parse(&text, PATH);
    let again = Manifest::parse(&text, PATH);
    match (&first, &again) {
        (Ok(a), Ok(b)) => assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "two reads of one text differ"
        ),
        (Err(a), Err(b)) => assert_eq!(a.problems(), b.problems(), "two reads differ"),
        _ => panic!("one read succeeds and the other fails: {first:?} / {again:?}"),
    }
    match first {
        Ok(manifest) => {
            outcome.accepted += 1;
            check_manifest(&manifest, &mut outcome);
        }
        Err(e) => {
            outcome.rejected += 1;
            check_problems(&text, &e, &mut outcome);
        }
    }
    outcome
}

fn check_manifest(m: &Manifest, outcome: &mut Outcome) {
    outcome.feature(&["kind", m.kind.as_str()]);
    if let Err(why) = Manifest::check_name(&m.name) {
        panic!("the manifest's name {:?} is invalid: {why}", m.name);
    }
    assert_eq!(
        m.version
            .to_string()
            .parse::<semver::Version>()
            .ok()
            .as_ref(),
        Some(&m.version),
        "the version does not survive its text form"
    );
    assert_eq!(m.dir, Path::new("."), "the directory of {PATH}");
    assert!(
        !m.component.as_os_str().is_empty(),
        "an empty component path"
    );
    for name in m.dependencies.keys() {
        if let Err(why) = Manifest::check_name(name) {
            panic!("dependency name {name:?} is invalid: {why}");
        }
        outcome.feature(&["dependency"]);
    }
    check_capabilities(&m.capabilities, outcome);
    check_limits(&m.limits, outcome);
    check_config(m, outcome);
}

fn check_capabilities(caps: &Capabilities, outcome: &mut Outcome) {
    let items = caps.items();
    for cap in &items {
        let text = cap.to_string();
        outcome.feature(&["capability", text.split(':').next().unwrap_or("")]);
        match text.parse::<Capability>() {
            Ok(back) => assert_eq!(&back, cap, "capability {text:?} changes in its text form"),
            Err(e) => panic!("capability {cap:?} does not parse back from {text:?}: {e}"),
        }
        assert!(
            caps.covers(cap),
            "the capabilities do not cover their own item {text:?}"
        );
        assert!(!cap.describe().is_empty());
    }
    assert!(caps.missing_from(caps).is_empty(), "{caps:?} misses itself");
    assert_eq!(
        Capabilities::from_items(items.clone()).items(),
        items,
        "from_items(items()) lists other items"
    );
    assert_eq!(caps.is_empty(), items.is_empty());
}

fn check_limits(limits: &ManifestLimits, outcome: &mut Outcome) {
    let base = Limits::default();
    let applied = limits.apply(base);
    let kept = |given: bool, name: &str, same: bool| {
        assert!(
            given || same,
            "limits: {name} was not given but differs from the default"
        );
    };
    kept(
        limits.memory.is_some(),
        "memory",
        applied.memory == base.memory,
    );
    kept(limits.fuel.is_some(), "fuel", applied.fuel == base.fuel);
    kept(
        limits.deadline.is_some(),
        "deadline",
        applied.deadline == base.deadline,
    );
    kept(
        limits.max_instances.is_some(),
        "max-instances",
        applied.max_instances == base.max_instances,
    );
    kept(
        limits.log_rate.is_some(),
        "log-rate",
        applied.log.lines_per_second == base.log.lines_per_second,
    );
    kept(
        limits.log_burst.is_some(),
        "log-burst",
        applied.log.burst == base.log.burst,
    );
    kept(
        limits.log_line.is_some(),
        "log-line",
        applied.log.line_bytes == base.log.line_bytes,
    );
    assert_eq!(limits.memory.unwrap_or(base.memory), applied.memory);
    assert_eq!(limits.fuel.unwrap_or(base.fuel), applied.fuel);
    assert!(limits.fuel != Some(0) && limits.max_instances != Some(0));
    assert!(limits.memory != Some(0) && limits.deadline.is_none_or(|d| !d.is_zero()));
    for (name, given) in [
        ("memory", limits.memory.is_some()),
        ("fuel", limits.fuel.is_some()),
        ("deadline", limits.deadline.is_some()),
        ("max-instances", limits.max_instances.is_some()),
        (
            "log",
            limits.log_rate.is_some() || limits.log_burst.is_some(),
        ),
    ] {
        if given {
            outcome.feature(&["limit", name]);
        }
    }
}

/// The schema checks an empty config, and one of just its defaults, the
/// same way: every required key missing, every default filled in.
fn check_config(m: &Manifest, outcome: &mut Outcome) {
    let schema = &m.config;
    let mut defaults = Map::new();
    let mut required = Vec::new();
    for (name, key) in &schema.keys {
        let p = &key.parameter;
        outcome.feature(&[
            "config",
            p.kind.name(),
            if p.required { "required" } else { "" },
            if key.secret { "secret" } else { "" },
        ]);
        if p.required {
            assert!(
                p.default.is_none(),
                "config '{name}' is required with a default"
            );
            required.push(name.clone());
        }
        if let Some(default) = &p.default {
            defaults.insert(name.clone(), default.clone());
        }
    }
    let empty = schema.check(&Map::new());
    match &empty {
        Ok(filled) => {
            assert!(
                required.is_empty(),
                "required keys {required:?} not asked for"
            );
            assert_eq!(filled, &defaults, "the defaults filled in");
        }
        Err(problems) => {
            let named: Vec<String> = required
                .iter()
                .map(|name| format!("config '{name}': "))
                .collect();
            assert_eq!(problems.len(), required.len(), "{problems:?}");
            for (problem, prefix) in problems.iter().zip(&named) {
                assert!(problem.starts_with(prefix), "{problem:?}");
            }
        }
    }
    assert_eq!(
        schema.check(&defaults),
        empty,
        "giving the defaults differs from giving nothing"
    );
    let redacted = schema.redact(&defaults);
    for (name, key) in &schema.keys {
        if key.secret && defaults.contains_key(name) {
            assert_eq!(redacted[name], Value::from("***"), "secret '{name}' shows");
        }
    }
}

fn check_problems(text: &str, e: &ManifestError, outcome: &mut Outcome) {
    let ManifestError::Invalid { problems } = e else {
        panic!("parsing text gave {e:?}");
    };
    assert!(!problems.is_empty(), "an invalid manifest with no problems");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut last = (0, 0);
    for p in problems {
        outcome.error("manifest", &p.message);
        assert_eq!(p.path, Path::new(PATH), "{p}");
        assert!(
            (1..=lines.len()).contains(&p.line),
            "{p}: line {} of a {}-line text",
            p.line,
            lines.len()
        );
        let width = lines[p.line - 1].chars().count();
        assert!(
            (1..=width + 1).contains(&p.column),
            "{p}: column {} of a {width}-character line",
            p.column
        );
        assert!(!p.message.is_empty(), "{p}: an empty message");
        assert!(!p.message.contains('\n'), "{p}: a message must be one line");
        assert!(
            (p.line, p.column) >= last,
            "problems out of file order: {e}"
        );
        last = (p.line, p.column);
    }
    assert_eq!(e.to_string().lines().count(), problems.len(), "{e}");
    outcome.feature(&["problems", &problems.len().min(8).to_string()]);
}

#[cfg(test)]
mod tests;
