//! The search behind [`super::resolve`].
//!
//! Names are decided one at a time, requirers before what they require (a
//! rank computed once over every candidate's dependencies), each taking the
//! highest version that fits the requirements placed on it so far. A choice
//! is checked at once: its dependencies must exist, fit what is already
//! chosen, leave each undecided dependency a version that fits, and close no
//! cycle. Versions that can never be part of a solution are set aside first.
//!
//! The first path is run on its own, carried on past failures, so that when
//! nothing resolves its problems can all be reported with their chains; only
//! if it fails does the backtracking search run, within its step budget.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use semver::Version;

use super::{
    Candidate, Chain, ExtensionKind, NameVersion, Requirement, Resolution, ResolveNote,
    ResolveProblem,
};

/// Resolves `roots` (every name when `None`) within `max_steps`.
pub(super) fn solve(
    cands: &[Candidate],
    roots: Option<&[Requirement]>,
    max_steps: usize,
) -> Result<Resolution, Vec<ResolveProblem>> {
    let ix = Index::new(cands, roots.unwrap_or_default(), roots.is_none());
    let mut state = ix.start();
    let problems = ix.first_descent(&mut state);
    if problems.is_empty() {
        return Ok(ix.resolution(&state));
    }
    if ix.missing_roots().next().is_some() {
        return Err(problems);
    }
    let mut state = ix.start();
    let mut steps = 0;
    match ix.search(&mut state, &mut steps, max_steps) {
        Outcome::Found => Ok(ix.resolution(&state)),
        Outcome::Failed => Err(problems),
        Outcome::GaveUp => {
            let gave_up = ResolveProblem::GaveUp { steps };
            Err(std::iter::once(gave_up).chain(problems).collect())
        }
    }
}

/// A requirement edge: `from` a candidate (its `ix`th dependency) or, when
/// `None`, from the roots (the `ix`th root requirement).
#[derive(Debug, Clone, Copy)]
struct Edge {
    from: Option<usize>,
    ix: usize,
}

/// How a search ended.
enum Outcome {
    Found,
    Failed,
    GaveUp,
}

/// The candidates by name, with every requirement's name looked up once.
struct Index<'a> {
    cands: &'a [Candidate],
    roots: &'a [Requirement],
    /// Whether every name is a root.
    all: bool,
    /// Names sorted, so an id order is a name order.
    names: Vec<&'a str>,
    /// Per name id, its candidates, highest version first (ties: input order).
    by_name: Vec<Vec<usize>>,
    /// Per candidate, its name id.
    name_of: Vec<usize>,
    /// Per candidate, per dependency: the name id, or `None` if none found.
    deps: Vec<Vec<Option<usize>>>,
    /// Per root requirement: the name id, or `None` if none found.
    root_names: Vec<Option<usize>>,
    /// Per name id, when to decide it: requirers before what they require.
    rank: Vec<usize>,
    /// Per candidate, whether it could be in some solution at all.
    viable: Vec<bool>,
}

/// A partial choice: what is chosen and the requirements that places.
struct State {
    /// Per name id, the chosen candidate.
    chosen: Vec<Option<usize>>,
    /// Per name id, the requirements placed on it by roots and chosen ones.
    incoming: Vec<Vec<Edge>>,
    /// Per name id, how many roots and requirements demand a decision on it.
    demanded: Vec<usize>,
    /// Per name id, whether the first descent found nothing that fits.
    failed: Vec<bool>,
}

/// A just-chosen candidate's own problems.
#[derive(Default)]
struct Check {
    /// Its required dependencies that were not found.
    missing: Vec<usize>,
    /// Whether a dependency, chosen or not, has no version left that fits.
    clash: bool,
    /// A circle through it, as candidates from it back to it.
    cycle: Option<Vec<usize>>,
}

impl Check {
    fn ok(&self) -> bool {
        self.missing.is_empty() && !self.clash && self.cycle.is_none()
    }
}

impl<'a> Index<'a> {
    fn new(cands: &'a [Candidate], roots: &'a [Requirement], all: bool) -> Self {
        let names: BTreeSet<&str> = cands.iter().map(|c| c.name.as_str()).collect();
        let names: Vec<&str> = names.into_iter().collect();
        let id = |name: &str| names.binary_search(&name).ok();
        let name_of: Vec<usize> = cands.iter().filter_map(|c| id(&c.name)).collect();
        let mut by_name = vec![Vec::new(); names.len()];
        for (c, &n) in name_of.iter().enumerate() {
            by_name[n].push(c);
        }
        for list in &mut by_name {
            list.sort_by(|&a, &b| cands[b].version.cmp(&cands[a].version).then(a.cmp(&b)));
        }
        let deps = (cands.iter())
            .map(|c| c.dependencies.iter().map(|d| id(&d.name)).collect())
            .collect();
        let root_names = roots.iter().map(|r| id(&r.name)).collect();
        let mut ix = Index {
            cands,
            roots,
            all,
            names,
            by_name,
            name_of,
            deps,
            root_names,
            rank: Vec::new(),
            viable: Vec::new(),
        };
        ix.rank = ix.ranks();
        ix.viable = ix.viable();
        ix
    }

    /// Ranks names so that, cycles aside, a name that may require another
    /// comes before it (Kahn's algorithm; ties by name; a cycle is broken at
    /// the name fewest others still point to).
    fn ranks(&self) -> Vec<usize> {
        let n = self.names.len();
        let mut out: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        for (c, deps) in self.deps.iter().enumerate() {
            let from = self.name_of[c];
            out[from].extend(deps.iter().flatten().filter(|&&d| d != from));
        }
        let mut indegree = vec![0usize; n];
        for &d in out.iter().flatten() {
            indegree[d] += 1;
        }
        let mut left: BTreeSet<usize> = (0..n).collect();
        let mut rank = vec![0; n];
        for r in 0..n {
            let Some(next) = left.iter().copied().min_by_key(|&m| (indegree[m], m)) else {
                break;
            };
            left.remove(&next);
            rank[next] = r;
            for &d in &out[next] {
                indegree[d] = indegree[d].saturating_sub(1);
            }
        }
        rank
    }

    /// Sets aside, until nothing changes, each candidate with a dependency
    /// that is missing or that no candidate still viable fits.
    fn viable(&self) -> Vec<bool> {
        let mut viable = vec![true; self.cands.len()];
        let mut changed = true;
        while changed {
            changed = false;
            for c in 0..self.cands.len() {
                let reqs = self.deps[c].iter().zip(&self.cands[c].dependencies);
                let mut dead = reqs.map(|(d, r)| match *d {
                    Some(d) => !self.by_name[d]
                        .iter()
                        .any(|&x| viable[x] && r.allows(&self.cands[x])),
                    None => !r.optional,
                });
                if viable[c] && dead.any(|dead| dead) {
                    viable[c] = false;
                    changed = true;
                }
            }
        }
        viable
    }

    fn req(&self, e: Edge) -> &'a Requirement {
        match e.from {
            Some(c) => &self.cands[c].dependencies[e.ix],
            None => &self.roots[e.ix],
        }
    }

    /// Required roots naming an extension not found.
    fn missing_roots(&self) -> impl Iterator<Item = Edge> + '_ {
        (self.root_names.iter().zip(self.roots).enumerate())
            .filter(|(_, (n, r))| n.is_none() && !r.optional)
            .map(|(ix, _)| Edge { from: None, ix })
    }

    fn start(&self) -> State {
        let n = self.names.len();
        let mut state = State {
            chosen: vec![None; n],
            incoming: vec![Vec::new(); n],
            demanded: vec![usize::from(self.all); n],
            failed: vec![false; n],
        };
        for (ix, name) in self.root_names.iter().enumerate() {
            if let Some(name) = *name {
                state.incoming[name].push(Edge { from: None, ix });
                state.demanded[name] += 1;
            }
        }
        state
    }

    fn choose(&self, st: &mut State, c: usize) {
        st.chosen[self.name_of[c]] = Some(c);
        for (ix, dep) in self.deps[c].iter().enumerate() {
            if let Some(d) = *dep {
                st.incoming[d].push(Edge { from: Some(c), ix });
                st.demanded[d] += 1;
            }
        }
    }

    /// Undoes the last [`Index::choose`], which was of `c`.
    fn unchoose(&self, st: &mut State, c: usize) {
        st.chosen[self.name_of[c]] = None;
        for dep in self.deps[c].iter().rev() {
            if let Some(d) = *dep {
                st.incoming[d].pop();
                st.demanded[d] -= 1;
            }
        }
    }

    /// The next name to decide: demanded, undecided, lowest rank.
    fn next(&self, st: &State) -> Option<usize> {
        (0..self.names.len())
            .filter(|&n| st.demanded[n] > 0 && st.chosen[n].is_none() && !st.failed[n])
            .min_by_key(|&n| self.rank[n])
    }

    /// Whether `c` fits every requirement placed on its name so far.
    fn fits(&self, st: &State, c: usize) -> bool {
        let cand = &self.cands[c];
        st.incoming[self.name_of[c]]
            .iter()
            .all(|&e| self.req(e).allows(cand))
    }

    /// `c`'s own problems, `c` having just been chosen.
    fn check(&self, st: &State, c: usize) -> Check {
        let mut check = Check::default();
        let reqs = &self.cands[c].dependencies;
        for (ix, (dep, req)) in self.deps[c].iter().zip(reqs).enumerate() {
            match dep.map(|d| (d, st.chosen[d])) {
                None if !req.optional => check.missing.push(ix),
                Some((_, Some(x))) if !req.allows(&self.cands[x]) => check.clash = true,
                Some((d, None)) => {
                    let open = |&x: &usize| self.viable[x] && self.fits(st, x);
                    check.clash |= !self.by_name[d].iter().any(open);
                }
                _ => {}
            }
        }
        check.cycle = self.cycle_through(st, c);
        check
    }

    /// A circle of chosen candidates from `c` back to it, if any (depth
    /// first; the stack is the path walked).
    fn cycle_through(&self, st: &State, c: usize) -> Option<Vec<usize>> {
        let mut seen = vec![false; self.cands.len()];
        let mut stack = vec![(c, 0usize)];
        while let Some(top) = stack.last_mut() {
            let (x, i) = *top;
            top.1 += 1;
            let Some(dep) = self.deps[x].get(i) else {
                stack.pop();
                continue;
            };
            let Some(y) = dep.and_then(|d| st.chosen[d]) else {
                continue;
            };
            if y == c {
                return Some(stack.iter().map(|&(x, _)| x).chain([c]).collect());
            }
            if !std::mem::replace(&mut seen[y], true) {
                stack.push((y, 0));
            }
        }
        None
    }

    /// Backtracking search: each demanded name in rank order gets the highest
    /// viable version that fits and passes its checks, the next one down when
    /// what follows fails. One step per version looked at.
    fn search(&self, st: &mut State, steps: &mut usize, max: usize) -> Outcome {
        let Some(n) = self.next(st) else {
            return Outcome::Found;
        };
        for &c in &self.by_name[n] {
            if *steps >= max {
                return Outcome::GaveUp;
            }
            *steps += 1;
            if !self.viable[c] || !self.fits(st, c) {
                continue;
            }
            self.choose(st, c);
            if self.check(st, c).ok() {
                match self.search(st, steps, max) {
                    Outcome::Failed => {}
                    done => return done,
                }
            }
            self.unchoose(st, c);
        }
        Outcome::Failed
    }

    /// The search's first path, carried on past failures to find them all:
    /// a name nothing fits is left out, and when no version that fits is
    /// viable and passes its checks, the highest is chosen anyway.
    fn first_descent(&self, st: &mut State) -> Vec<ResolveProblem> {
        let (mut missing, mut cycles) = (Vec::new(), Vec::new());
        while let Some(n) = self.next(st) {
            let fitting = self.by_name[n]
                .iter()
                .copied()
                .filter(|&c| self.fits(st, c));
            let fitting: Vec<usize> = fitting.collect();
            let Some(&highest) = fitting.first() else {
                st.failed[n] = true;
                continue;
            };
            let passing = fitting.into_iter().filter(|&c| self.viable[c]).find(|&c| {
                self.choose(st, c);
                let ok = self.check(st, c).ok();
                if !ok {
                    self.unchoose(st, c);
                }
                ok
            });
            if passing.is_none() {
                self.choose(st, highest);
                let check = self.check(st, highest);
                let edge = |ix| Edge {
                    from: Some(highest),
                    ix,
                };
                missing.extend(check.missing.into_iter().map(edge));
                cycles.extend(check.cycle);
            }
        }
        let paths = self.paths(st);
        let mut problems: Vec<ResolveProblem> = (self.missing_roots().chain(missing))
            .map(|e| ResolveProblem::Missing {
                chain: self.chain(&paths, e),
            })
            .collect();
        problems.extend(cycles.iter().map(|cycle| self.cycle_problem(cycle)));
        let mut decided: Vec<usize> = (0..self.names.len())
            .filter(|&n| st.demanded[n] > 0)
            .collect();
        decided.sort_by_key(|&n| self.rank[n]);
        for n in decided {
            if st.chosen[n].is_some_and(|c| self.fits(st, c)) || st.incoming[n].is_empty() {
                continue;
            }
            let mut found: Vec<(Version, ExtensionKind)> = (self.by_name[n].iter())
                .map(|&c| (self.cands[c].version.clone(), self.cands[c].kind))
                .collect();
            found.sort();
            found.dedup();
            problems.push(ResolveProblem::Conflict {
                name: self.names[n].to_owned(),
                requirements: st.incoming[n]
                    .iter()
                    .map(|&e| self.chain(&paths, e))
                    .collect(),
                found,
            });
        }
        problems
    }

    /// A circle as a problem, turned to start at its first name.
    fn cycle_problem(&self, cycle: &[usize]) -> ResolveProblem {
        let ring = &cycle[..cycle.len().saturating_sub(1)];
        let start = (0..ring.len())
            .min_by_key(|&i| self.name_of[ring[i]])
            .unwrap_or(0);
        let cycle = (ring.iter().cycle().skip(start).take(ring.len() + 1))
            .map(|&c| self.name_version(c))
            .collect();
        ResolveProblem::Cycle { cycle }
    }

    fn name_version(&self, c: usize) -> NameVersion {
        let cand = &self.cands[c];
        NameVersion {
            name: cand.name.clone(),
            version: cand.version.clone(),
        }
    }

    /// For each chosen candidate, the shortest walk of chosen candidates to it
    /// from a root (for [`super::Roots::All`], one nothing else chosen
    /// requires), breadth first; one reachable only round a cycle starts a
    /// walk of its own.
    fn paths(&self, st: &State) -> BTreeMap<usize, Vec<usize>> {
        let top = |n: usize| match self.all {
            true => st.incoming[n].iter().all(|e| e.from == st.chosen[n]),
            false => st.incoming[n].iter().any(|e| e.from.is_none()),
        };
        let chosen = |n: usize| st.chosen[n];
        let tops = (0..self.names.len()).filter(|&n| top(n)).filter_map(chosen);
        let rest = (0..self.names.len()).filter_map(chosen);
        let mut paths: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for start in tops.chain(rest) {
            if paths.contains_key(&start) {
                continue;
            }
            paths.insert(start, vec![start]);
            let mut queue = VecDeque::from([start]);
            while let Some(c) = queue.pop_front() {
                for &d in self.deps[c].iter().flatten() {
                    let Some(y) = st.chosen[d].filter(|y| !paths.contains_key(y)) else {
                        continue;
                    };
                    let mut path = paths.get(&c).cloned().unwrap_or_default();
                    path.push(y);
                    paths.insert(y, path);
                    queue.push_back(y);
                }
            }
        }
        paths
    }

    fn chain(&self, paths: &BTreeMap<usize, Vec<usize>>, e: Edge) -> Chain {
        let path = match e.from {
            Some(c) => paths.get(&c).map_or_else(|| vec![c], Clone::clone),
            None => Vec::new(),
        };
        Chain {
            path: path.into_iter().map(|c| self.name_version(c)).collect(),
            requirement: self.req(e).clone(),
        }
    }

    /// The chosen candidates, ordered dependencies first, with notes.
    fn resolution(&self, st: &State) -> Resolution {
        let chosen: Vec<usize> = st.chosen.iter().flatten().copied().collect();
        let mut waiting: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for &c in &chosen {
            let n = self.name_of[c];
            let deps = self.deps[c].iter().flatten();
            let deps = deps.filter(|&&d| d != n && st.chosen[d].is_some());
            waiting.insert(n, deps.copied().collect());
        }
        // Kahn's algorithm over names: a name loads once its dependencies have.
        let mut ready: BTreeSet<usize> = (waiting.iter())
            .filter(|(_, deps)| deps.is_empty())
            .map(|(&n, _)| n)
            .collect();
        let mut load_order = Vec::with_capacity(chosen.len());
        while let Some(n) = ready.pop_first() {
            load_order.extend(st.chosen[n]);
            waiting.remove(&n);
            for (&m, deps) in &mut waiting {
                if deps.remove(&n) && deps.is_empty() {
                    ready.insert(m);
                }
            }
        }
        let paths = self.paths(st);
        let root_edges = (self.root_names.iter().enumerate())
            .filter(|(_, n)| n.is_none())
            .map(|(ix, _)| Edge { from: None, ix });
        let dep_edges = load_order.iter().flat_map(|&c| {
            (self.deps[c].iter().enumerate())
                .filter(|(_, d)| d.is_none())
                .map(move |(ix, _)| Edge { from: Some(c), ix })
        });
        let notes = (root_edges.chain(dep_edges))
            .filter(|&e| self.req(e).optional)
            .map(|e| ResolveNote::OptionalAbsent {
                chain: self.chain(&paths, e),
            })
            .collect();
        Resolution {
            chosen: chosen
                .iter()
                .map(|&c| (self.cands[c].name.clone(), c))
                .collect(),
            load_order,
            notes,
        }
    }
}
