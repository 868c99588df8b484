use std::collections::BTreeMap;

use proptest::prelude::*;
use semver::{Version, VersionReq};

use super::*;

/// `dep("mock-llm ^0.1")`; a trailing `?` makes it optional.
fn dep(spec: &str) -> Requirement {
    let (spec, optional) = match spec.strip_suffix('?') {
        Some(spec) => (spec, true),
        None => (spec, false),
    };
    let (name, req) = spec.split_once(' ').unwrap();
    let req = Requirement::new(name, VersionReq::parse(req).unwrap());
    if optional { req.optional() } else { req }
}

/// An operator from `"name version"` and its dependencies; source 0.
fn cand<S: AsRef<str>>(id: &str, deps: &[S]) -> Candidate {
    let (name, version) = id.split_once(' ').unwrap();
    Candidate {
        name: name.to_owned(),
        version: Version::parse(version).unwrap(),
        kind: ExtensionKind::Operator,
        dependencies: deps.iter().map(|d| dep(d.as_ref())).collect(),
        source: 0,
    }
}

/// Operators from `("name version", ["dep", ...])`, sources in order.
fn cands(list: &[(&str, &[&str])]) -> Vec<Candidate> {
    let each = |(source, (id, deps)): (usize, &(&str, &[&str]))| Candidate {
        source,
        ..cand(id, deps)
    };
    list.iter().enumerate().map(each).collect()
}

/// The load order as `name version`.
fn order(cands: &[Candidate], res: &Resolution) -> Vec<String> {
    let id = |&c: &usize| format!("{} {}", cands[c].name, cands[c].version);
    res.load_order.iter().map(id).collect()
}

fn err(cands: &[Candidate], roots: Roots) -> String {
    resolve(cands, roots).unwrap_err().to_string()
}

#[test]
fn highest_satisfying_versions_are_chosen() {
    let cs = cands(&[
        ("a 1.0.0", &[]),
        ("a 2.0.0", &[]),
        ("a 1.2.0", &[]),
        ("b 1.0.0", &["a ^1"]),
        ("b 0.9.0", &[]),
    ]);
    let res = resolve(&cs, Roots::names(["b"])).unwrap();
    assert_eq!(order(&cs, &res), ["a 1.2.0", "b 1.0.0"]);
    assert_eq!(res.chosen["a"], 2);
    // Everything found: b is decided first, as it requires a.
    let res = resolve(&cs, Roots::All).unwrap();
    assert_eq!(order(&cs, &res), ["a 1.2.0", "b 1.0.0"]);
    // Without requirers, each name is at its highest; pre-releases count.
    let cs = cands(&[("a 1.0.0", &[]), ("a 2.0.0", &[]), ("z 0.1.0-beta.1", &[])]);
    let res = resolve(&cs, Roots::All).unwrap();
    assert_eq!(order(&cs, &res), ["a 2.0.0", "z 0.1.0-beta.1"]);
}

#[test]
fn diamond_with_compatible_ranges_resolves_to_one_version() {
    let cs = cands(&[
        ("top 1.0.0", &["left ^1", "right ^1"]),
        ("left 1.0.0", &["base >=1.1"]),
        ("right 1.0.0", &["base <1.3"]),
        ("base 1.0.0", &[]),
        ("base 1.1.0", &[]),
        ("base 1.2.0", &[]),
        ("base 1.3.0", &[]),
    ]);
    let res = resolve(&cs, Roots::names(["top"])).unwrap();
    assert_eq!(
        order(&cs, &res),
        ["base 1.2.0", "left 1.0.0", "right 1.0.0", "top 1.0.0"]
    );
    assert!(res.notes.is_empty());
}

#[test]
fn backtracks_to_a_lower_version() {
    let cs = cands(&[
        ("top 1.0.0", &["a *", "b ^1"]),
        ("a 2.0.0", &["b ^2"]),
        ("a 1.0.0", &["b ^1"]),
        ("b 1.0.0", &[]),
        ("b 2.0.0", &[]),
    ]);
    let res = resolve(&cs, Roots::names(["top"])).unwrap();
    assert_eq!(order(&cs, &res), ["b 1.0.0", "a 1.0.0", "top 1.0.0"]);
}

#[test]
fn load_order_puts_dependencies_first_ties_by_name() {
    let cs = cands(&[
        ("app 1.0.0", &["zeta ^1", "alpha ^1", "mid ^1"]),
        ("mid 1.0.0", &["zeta ^1"]),
        ("zeta 1.0.0", &[]),
        ("alpha 1.0.0", &[]),
        ("lone 1.0.0", &[]),
    ]);
    let res = resolve(&cs, Roots::All).unwrap();
    assert_eq!(
        order(&cs, &res),
        [
            "alpha 1.0.0",
            "lone 1.0.0",
            "zeta 1.0.0",
            "mid 1.0.0",
            "app 1.0.0"
        ]
    );
}

#[test]
fn missing_names_the_chain() {
    let cs = cands(&[
        ("demo-op 1.0.0", &["json-transform ^0.2"]),
        ("json-transform 0.2.0", &["mock-llm ^0.1"]),
    ]);
    let want = "json-transform 0.2.0 needs mock-llm ^0.1, but no extension named mock-llm \
                was found (via demo-op 1.0.0 -> json-transform 0.2.0 -> mock-llm ^0.1)";
    assert_eq!(err(&cs, Roots::names(["demo-op"])), want);
    assert_eq!(err(&cs, Roots::All), want);
    let e = resolve(&cs, Roots::All).unwrap_err();
    let [ResolveProblem::Missing { chain }] = e.problems() else {
        panic!("{e:?}")
    };
    assert_eq!(chain.path.len(), 2);
    assert_eq!(chain.requirement, dep("mock-llm ^0.1"));
    // A root that is not there at all.
    let roots = Roots::Only(vec![dep("mock-llm ^0.1")]);
    assert_eq!(
        err(&cs, roots),
        "mock-llm ^0.1 was requested, but no extension named mock-llm was found"
    );
}

#[test]
fn conflict_names_every_requirement_and_the_versions_found() {
    let cs = cands(&[
        ("demo-op 1.0.0", &["json-transform ^0.2", "summarizer ^1"]),
        ("json-transform 0.2.0", &["mock-llm ^0.1"]),
        ("summarizer 1.0.0", &["mock-llm ^0.2"]),
        ("mock-llm 0.2.0", &[]),
        ("mock-llm 0.1.3", &[]),
    ]);
    assert_eq!(
        err(&cs, Roots::names(["demo-op"])),
        "mock-llm: json-transform 0.2.0 needs ^0.1, summarizer 1.0.0 needs ^0.2; \
         found 0.1.3, 0.2.0 (via demo-op 1.0.0 -> json-transform 0.2.0 -> mock-llm ^0.1; \
         demo-op 1.0.0 -> summarizer 1.0.0 -> mock-llm ^0.2)"
    );
    // A root's own range is a requirement too.
    let cs = cands(&[("a 1.0.0", &["b ^1"]), ("b 1.0.0", &[])]);
    let roots = Roots::Only(vec![dep("a *"), dep("b ^2")]);
    assert_eq!(
        err(&cs, roots),
        "b: requested ^2, a 1.0.0 needs ^1; found 1.0.0"
    );
}

#[test]
fn kinds_are_part_of_a_requirement() {
    let mut cs = cands(&[("op 1.0.0", &[]), ("llm 1.0.0", &[])]);
    cs[0].dependencies = vec![dep("llm ^1").of_kind(ExtensionKind::Instrument)];
    assert_eq!(
        err(&cs, Roots::All),
        "llm: op 1.0.0 needs ^1 (instrument); found 1.0.0 (operator)"
    );
    cs[1].kind = ExtensionKind::Instrument;
    assert!(resolve(&cs, Roots::All).is_ok());
}

#[test]
fn cycles_are_reported() {
    let cs = cands(&[("b 2.0.0", &["a ^1"]), ("a 1.0.0", &["b ^2"])]);
    let want = "dependency cycle: a 1.0.0 -> b 2.0.0 -> a 1.0.0";
    assert_eq!(err(&cs, Roots::All), want);
    assert_eq!(err(&cs, Roots::names(["b"])), want);
    // A lower version that breaks the cycle is taken instead.
    let cs = cands(&[
        ("b 2.0.0", &["a ^1"]),
        ("b 1.0.0", &[]),
        ("a 1.0.0", &["b *"]),
    ]);
    let res = resolve(&cs, Roots::All).unwrap();
    assert_eq!(order(&cs, &res), ["b 1.0.0", "a 1.0.0"]);
    let cs = cands(&[("a 1.0.0", &["a *"])]);
    assert_eq!(err(&cs, Roots::All), "dependency cycle: a 1.0.0 -> a 1.0.0");
}

#[test]
fn optional_absent_is_a_note() {
    let cs = cands(&[
        ("demo-op 1.0.0", &["json-transform ^0.2"]),
        ("json-transform 0.2.0", &["mock-llm ^0.1?"]),
    ]);
    let res = resolve(&cs, Roots::names(["demo-op"])).unwrap();
    assert_eq!(order(&cs, &res), ["json-transform 0.2.0", "demo-op 1.0.0"]);
    let notes: Vec<String> = res.notes.iter().map(ToString::to_string).collect();
    assert_eq!(
        notes,
        [
            "json-transform 0.2.0 can use mock-llm ^0.1 (optional), but no extension named \
          mock-llm was found (via demo-op 1.0.0 -> json-transform 0.2.0 -> mock-llm ^0.1 (optional))"
        ]
    );
    let res = resolve(&cs, Roots::Only(vec![dep("ghost ^1?")])).unwrap();
    assert!(res.chosen.is_empty());
    assert_eq!(res.notes.len(), 1);
}

#[test]
fn optional_present_out_of_range_is_a_conflict() {
    let cs = cands(&[("a 1.0.0", &["x ^1?"]), ("x 2.0.0", &[])]);
    assert_eq!(
        err(&cs, Roots::names(["a"])),
        "x: a 1.0.0 needs ^1 (optional); found 2.0.0"
    );
    // In range, it is chosen and loads first.
    let cs = cands(&[("a 1.0.0", &["x ^1?"]), ("x 1.5.0", &[])]);
    let res = resolve(&cs, Roots::names(["a"])).unwrap();
    assert_eq!(order(&cs, &res), ["x 1.5.0", "a 1.0.0"]);
}

#[test]
fn all_problems_are_listed_one_per_line() {
    let cs = cands(&[
        ("a 1.0.0", &["gone ^1", "c ^1"]),
        ("b 1.0.0", &["c ^2"]),
        ("c 1.0.0", &[]),
    ]);
    assert_eq!(
        err(&cs, Roots::All),
        "a 1.0.0 needs gone ^1, but no extension named gone was found\n\
         c: a 1.0.0 needs ^1, b 1.0.0 needs ^2; found 1.0.0"
    );
}

/// `pigeons` extensions that each need a `hole` to themselves, of `holes`:
/// pigeon `pI` at version `J.0.0` sits in hole `hJ`, which needs `=I.0.0`.
fn pigeonhole(pigeons: u64, holes: u64) -> Vec<Candidate> {
    let mut cs = Vec::new();
    for i in 1..=pigeons {
        for j in 1..=holes {
            cs.push(cand(&format!("p{i} {j}.0.0"), &[format!("h{j} ={i}.0.0")]));
            cs.push(cand::<&str>(&format!("h{j} {i}.0.0"), &[]));
        }
    }
    let all: Vec<String> = (1..=pigeons).map(|i| format!("p{i} *")).collect();
    cs.push(cand("top 1.0.0", &all));
    cs
}

#[test]
fn gives_up_after_its_budget_and_says_so() {
    let cs = pigeonhole(4, 3);
    let want = "h3: p1 3.0.0 needs =1.0.0, p4 3.0.0 needs =4.0.0; found 1.0.0, 2.0.0, \
                3.0.0, 4.0.0 (via top 1.0.0 -> p1 3.0.0 -> h3 =1.0.0; \
                top 1.0.0 -> p4 3.0.0 -> h3 =4.0.0)";
    let e = resolve_within(&cs, Roots::names(["top"]), 10).unwrap_err();
    assert_eq!(e.problems()[0], ResolveProblem::GaveUp { steps: 10 });
    assert_eq!(
        e.to_string(),
        format!("resolution gave up after 10 steps\n{want}")
    );
    // With room, the search rules every combination out.
    assert_eq!(err(&cs, Roots::names(["top"])), want);
    // A bigger one stops at the default budget rather than running on.
    let e = resolve(&pigeonhole(9, 8), Roots::All).unwrap_err();
    let steps = DEFAULT_RESOLVE_STEPS;
    assert_eq!(e.problems()[0], ResolveProblem::GaveUp { steps });
}

#[test]
fn versions_that_can_never_resolve_cost_no_search() {
    // Six names of three versions each before the dead end: without setting
    // `zz` aside up front, the search would try all 729 combinations.
    let ps = ["p1", "p2", "p3", "p4", "p5", "p6"];
    let versions = |p| ["1.0.0", "1.1.0", "1.2.0"].map(|v| cand::<&str>(&format!("{p} {v}"), &[]));
    let mut cs: Vec<Candidate> = ps.iter().flat_map(versions).collect();
    let top: Vec<String> = ps.iter().map(|p| format!("{p} *")).collect();
    cs.push(cand(
        "top 1.0.0",
        &[&top[..], &["zz ^1".to_owned()]].concat(),
    ));
    cs.push(cand("zz 1.0.0", &["gone ^1"]));
    let e = resolve_within(&cs, Roots::names(["top"]), 5).unwrap_err();
    assert_eq!(
        e.to_string(),
        "zz 1.0.0 needs gone ^1, but no extension named gone was found \
         (via top 1.0.0 -> zz 1.0.0 -> gone ^1)"
    );
}

#[test]
fn equal_versions_go_by_input_order_and_empty_roots_resolve_to_nothing() {
    let cs = cands(&[("a 1.0.0", &[]), ("a 1.0.0", &[])]);
    assert_eq!(resolve(&cs, Roots::All).unwrap().load_order, [0]);
    assert_eq!(
        resolve(&cs, Roots::Only(vec![])).unwrap(),
        Resolution::default()
    );
    assert_eq!(resolve(&[], Roots::All).unwrap(), Resolution::default());
}

// Random candidate sets, checked against the rules and against brute force.

const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "x"]; // no `x` is ever found
const REQS: [&str; 7] = ["*", "^0.1", "^1", ">=1.1", "<1", "=2.0.0", ">=0.2, <2"];

fn requirement() -> impl Strategy<Value = Requirement> {
    let kind = prop_oneof![
        6 => Just(None),
        1 => Just(Some(ExtensionKind::Operator)),
        1 => Just(Some(ExtensionKind::Instrument)),
    ];
    (0..NAMES.len(), 0..REQS.len(), any::<bool>(), kind).prop_map(|(n, r, optional, kind)| {
        let req = Requirement::new(NAMES[n], VersionReq::parse(REQS[r]).unwrap());
        Requirement {
            optional,
            kind,
            ..req
        }
    })
}

fn candidate() -> impl Strategy<Value = Candidate> {
    let version = (0u64..3, 0u64..3).prop_map(|(a, b)| Version::new(a, b, 0));
    let kind = prop_oneof![
        Just(ExtensionKind::Operator),
        Just(ExtensionKind::Instrument)
    ];
    let deps = prop::collection::vec(requirement(), 0..3);
    (0..NAMES.len() - 1, version, kind, deps).prop_map(|(n, version, kind, dependencies)| {
        Candidate {
            name: NAMES[n].into(),
            version,
            kind,
            dependencies,
            source: 0,
        }
    })
}

fn roots() -> impl Strategy<Value = Roots> {
    prop_oneof![
        Just(Roots::All),
        prop::collection::vec(requirement(), 0..3).prop_map(Roots::Only),
    ]
}

/// Whether `chosen` (name to index) meets every rule, cycles aside.
fn meets_requirements(cs: &[Candidate], roots: &Roots, chosen: &BTreeMap<String, usize>) -> bool {
    let holds = |r: &Requirement| match chosen.get(&r.name) {
        Some(&c) => r.allows(&cs[c]),
        None => r.optional && !cs.iter().any(|c| c.name == r.name),
    };
    let roots_hold = match roots {
        Roots::All => cs.iter().all(|c| chosen.contains_key(&c.name)),
        Roots::Only(reqs) => reqs.iter().all(holds),
    };
    roots_hold
        && chosen.iter().all(|(n, &c)| cs[c].name == *n)
        && chosen
            .values()
            .all(|&c| cs[c].dependencies.iter().all(holds))
}

fn acyclic(cs: &[Candidate], chosen: &BTreeMap<String, usize>) -> bool {
    // Repeatedly drop chosen ones whose chosen dependencies are all dropped.
    let mut left: Vec<usize> = chosen.values().copied().collect();
    loop {
        let before = left.len();
        let snapshot = left.clone();
        left.retain(|&c| {
            let deps = cs[c]
                .dependencies
                .iter()
                .filter_map(|d| chosen.get(&d.name));
            deps.into_iter().any(|d| snapshot.contains(d))
        });
        if left.is_empty() || left.len() == before {
            return left.is_empty();
        }
    }
}

/// Whether any choice of at most one version per name meets every rule.
fn solvable(cs: &[Candidate], roots: &Roots) -> bool {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in cs.iter().enumerate() {
        by_name.entry(&c.name).or_default().push(i);
    }
    let names: Vec<(&str, Vec<usize>)> = by_name.into_iter().collect();
    let mut picks = vec![0usize; names.len()]; // 0: none, k: the k-th version
    loop {
        let chosen: BTreeMap<String, usize> = (names.iter().zip(&picks))
            .filter(|(_, p)| **p > 0)
            .map(|((n, vs), p)| (n.to_string(), vs[p - 1]))
            .collect();
        if meets_requirements(cs, roots, &chosen) && acyclic(cs, &chosen) {
            return true;
        }
        let Some(i) = (0..names.len()).find(|&i| picks[i] < names[i].1.len()) else {
            return false;
        };
        picks[i] += 1;
        picks[..i].fill(0);
    }
}

fn check_resolution(cs: &[Candidate], roots: &Roots, res: &Resolution) {
    assert!(meets_requirements(cs, roots, &res.chosen), "{res:?}");
    let mut sorted = res.load_order.clone();
    sorted.sort();
    let mut chosen: Vec<usize> = res.chosen.values().copied().collect();
    chosen.sort();
    assert_eq!(sorted, chosen, "load order is the chosen set");
    for (pos, &c) in res.load_order.iter().enumerate() {
        for d in cs[c]
            .dependencies
            .iter()
            .filter_map(|d| res.chosen.get(&d.name))
        {
            let at = res.load_order.iter().position(|x| x == d);
            assert!(
                at.is_some_and(|at| at < pos),
                "{} loads after a dependent",
                cs[*d].name
            );
        }
    }
}

proptest! {
    #[test]
    fn resolutions_hold_and_failures_are_real(
        cs in prop::collection::vec(candidate(), 0..9),
        roots in roots(),
    ) {
        let cs: Vec<Candidate> =
            cs.into_iter().enumerate().map(|(source, c)| Candidate { source, ..c }).collect();
        let result = resolve(&cs, roots.clone());
        prop_assert_eq!(&result, &resolve(&cs, roots.clone()), "deterministic");
        match result {
            Ok(res) => check_resolution(&cs, &roots, &res),
            Err(e) => {
                prop_assert!(!e.problems().is_empty());
                let gave_up = e.problems().iter().any(|p| matches!(p, ResolveProblem::GaveUp { .. }));
                prop_assert!(!gave_up);
                prop_assert!(!solvable(&cs, &roots), "missed a solution: {}", e);
            }
        }
    }

    #[test]
    fn a_small_budget_is_reported_never_exceeded(
        cs in prop::collection::vec(candidate(), 0..9),
        roots in roots(),
        budget in 0usize..6,
    ) {
        match resolve_within(&cs, roots.clone(), budget) {
            Ok(res) => check_resolution(&cs, &roots, &res),
            Err(e) => {
                prop_assert!(!e.problems().is_empty());
                let gave_up = e.problems().iter().find_map(|p| match p {
                    ResolveProblem::GaveUp { steps } => Some(*steps),
                    _ => None,
                });
                match gave_up {
                    Some(steps) => prop_assert!(steps <= budget),
                    None => prop_assert!(!solvable(&cs, &roots), "missed a solution: {}", e),
                }
            }
        }
    }
}
