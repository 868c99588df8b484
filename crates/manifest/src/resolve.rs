//! Dependency resolution: one version per needed extension, chosen before
//! anything loads.
//!
//! Discovery may find several versions of an extension. [`resolve`] picks one
//! per name so that every requirement holds, preferring the highest versions
//! of the extensions nearest the roots, and orders them dependencies first.
//! It is a backtracking search over versions, highest first, bounded by a
//! step budget. When nothing fits, the problems reported are those of the
//! search's first descent (the highest versions that pass their own checks),
//! each with the requirement edges walked from a root to it.

use std::collections::BTreeMap;
use std::fmt;

use semver::{Version, VersionReq};

use crate::ExtensionKind;

mod solver;

/// Steps [`resolve`] may take, one per candidate version tried, before it
/// gives up with [`ResolveProblem::GaveUp`].
pub const DEFAULT_RESOLVE_STEPS: usize = 100_000;

/// One extension version found on disk, as the resolver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The extension's name, e.g. `json-transform`.
    pub name: String,
    /// Its version, e.g. `0.2.0`.
    pub version: Version,
    /// The kind it exports; a requirement may ask for one.
    pub kind: ExtensionKind,
    /// What it needs from other extensions.
    pub dependencies: Vec<Requirement>,
    /// The caller's own id for it (say, an index into its manifests); the
    /// resolver only carries it.
    pub source: usize,
}

/// A need for an extension: a name, a version range and maybe a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The extension needed, e.g. `mock-llm`.
    pub name: String,
    /// The versions that will do, e.g. `^0.1`. Pre-releases match only a
    /// range that names one (semver's rule).
    pub req: VersionReq,
    /// The kind it must export, if that matters.
    pub kind: Option<ExtensionKind>,
    /// Whether it may be absent (then it is a [`ResolveNote`]). If any version
    /// of it is found, it is chosen like a required one and must fit.
    pub optional: bool,
}

impl Requirement {
    /// A required dependency on `name` at `req`, of any kind.
    pub fn new(name: impl Into<String>, req: VersionReq) -> Self {
        Requirement {
            name: name.into(),
            req,
            kind: None,
            optional: false,
        }
    }

    /// The same requirement, marked optional.
    pub fn optional(self) -> Self {
        Requirement {
            optional: true,
            ..self
        }
    }

    /// The same requirement, asking for `kind`.
    pub fn of_kind(self, kind: ExtensionKind) -> Self {
        Requirement {
            kind: Some(kind),
            ..self
        }
    }

    /// Whether `candidate` fits the range and kind (its name is not checked).
    pub fn allows(&self, candidate: &Candidate) -> bool {
        self.req.matches(&candidate.version) && self.kind.is_none_or(|k| k == candidate.kind)
    }

    /// `^0.1`, `^0.1 (optional instrument)`: the range and its qualifiers.
    fn range(&self) -> String {
        let kind = self.kind.map(ExtensionKind::as_str);
        let quals: Vec<&str> = [self.optional.then_some("optional"), kind]
            .into_iter()
            .flatten()
            .collect();
        match quals.is_empty() {
            true => self.req.to_string(),
            false => format!("{} ({})", self.req, quals.join(" ")),
        }
    }
}

/// `mock-llm ^0.1`, `mock-llm ^0.1 (optional instrument)`.
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.range())
    }
}

/// What to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// Every extension found, each at the highest version that resolves
    /// (pre-releases included).
    All,
    /// These requirements and what they pull in; an optional one may be absent.
    Only(Vec<Requirement>),
}

impl Roots {
    /// The named extensions at any release version, of any kind.
    pub fn names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        let star = |name| Requirement::new(name, VersionReq::STAR);
        Roots::Only(names.into_iter().map(star).collect())
    }
}

/// An extension at one version, as named in reports: `json-transform 0.2.0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NameVersion {
    /// The extension's name.
    pub name: String,
    /// Its version.
    pub version: Version,
}

impl fmt::Display for NameVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// A requirement and the chosen versions walked from a root to it:
/// `demo-op 1.0.0 -> json-transform 0.2.0 -> mock-llm ^0.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// From a root down to the version that placed `requirement`; empty when
    /// the caller's roots placed it.
    pub path: Vec<NameVersion>,
    /// The requirement at the end of the walk.
    pub requirement: Requirement,
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.path {
            write!(f, "{step} -> ")?;
        }
        write!(f, "{}", self.requirement)
    }
}

/// Writes ` (via a -> b; c -> d)` when some chain says more than its placer.
fn write_via(f: &mut fmt::Formatter<'_>, chains: &[Chain]) -> fmt::Result {
    if chains.iter().any(|c| c.path.len() > 1) {
        let via: Vec<String> = chains.iter().map(Chain::to_string).collect();
        write!(f, " (via {})", via.join("; "))?;
    }
    Ok(())
}

/// Writes `x 1.0.0 {verb} y ^1, but no extension named y was found (via ..)`.
fn write_absent(f: &mut fmt::Formatter<'_>, chain: &Chain, verb: &str) -> fmt::Result {
    let r = &chain.requirement;
    match chain.path.last() {
        Some(by) => write!(f, "{by} {verb} {r}")?,
        None => write!(f, "{r} was requested")?,
    }
    write!(f, ", but no extension named {} was found", r.name)?;
    write_via(f, std::slice::from_ref(chain))
}

/// One reason resolution failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveProblem {
    /// A required extension was not found at all.
    Missing {
        /// How the requirement was reached.
        chain: Chain,
    },
    /// Versions were found, but none fits every requirement placed on it.
    Conflict {
        /// The extension.
        name: String,
        /// Every requirement placed on it, with how each was reached.
        requirements: Vec<Chain>,
        /// The versions found, lowest first, with their kinds.
        found: Vec<(Version, ExtensionKind)>,
    },
    /// Chosen versions depend on each other in a circle.
    Cycle {
        /// The circle, starting and ending at the same version.
        cycle: Vec<NameVersion>,
    },
    /// The search ran out of its step budget; the other problems are those of
    /// its first attempt, and lower versions somewhere might have worked.
    GaveUp {
        /// The steps taken.
        steps: usize,
    },
}

impl ResolveProblem {
    /// The extensions whose own requirements this problem leaves unmet:
    /// the one needing what is missing, those whose requirements
    /// conflict, the members of a cycle. None for [`ResolveProblem::GaveUp`]
    /// or a requirement the caller's roots placed.
    pub fn blamed(&self) -> Vec<&str> {
        fn needer(chain: &Chain) -> Option<&str> {
            chain.path.last().map(|step| step.name.as_str())
        }
        match self {
            ResolveProblem::Missing { chain } => needer(chain).into_iter().collect(),
            ResolveProblem::Conflict { requirements, .. } => {
                let mut names: Vec<&str> = requirements.iter().filter_map(needer).collect();
                names.dedup();
                names
            }
            ResolveProblem::Cycle { cycle } => cycle.iter().map(|s| s.name.as_str()).collect(),
            ResolveProblem::GaveUp { .. } => Vec::new(),
        }
    }

    /// The extension found missing, for [`ResolveProblem::Missing`].
    pub fn missing(&self) -> Option<&str> {
        match self {
            ResolveProblem::Missing { chain } => Some(&chain.requirement.name),
            _ => None,
        }
    }
}

impl fmt::Display for ResolveProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveProblem::Missing { chain } => write_absent(f, chain, "needs"),
            ResolveProblem::Conflict {
                name,
                requirements,
                found,
            } => {
                let needs: Vec<String> = (requirements.iter())
                    .map(|c| match c.path.last() {
                        Some(by) => format!("{by} needs {}", c.requirement.range()),
                        None => format!("requested {}", c.requirement.range()),
                    })
                    .collect();
                let kinds = requirements.iter().any(|c| c.requirement.kind.is_some());
                let found: Vec<String> = (found.iter())
                    .map(|(v, k)| {
                        if kinds {
                            format!("{v} ({k})")
                        } else {
                            v.to_string()
                        }
                    })
                    .collect();
                write!(
                    f,
                    "{name}: {}; found {}",
                    needs.join(", "),
                    found.join(", ")
                )?;
                write_via(f, requirements)
            }
            ResolveProblem::Cycle { cycle } => {
                let steps: Vec<String> = cycle.iter().map(NameVersion::to_string).collect();
                write!(f, "dependency cycle: {}", steps.join(" -> "))
            }
            ResolveProblem::GaveUp { steps } => {
                write!(f, "resolution gave up after {steps} steps")
            }
        }
    }
}

/// Something resolution worked around, worth telling but not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveNote {
    /// An optional dependency names an extension that was not found.
    OptionalAbsent {
        /// How the requirement was reached.
        chain: Chain,
    },
}

impl fmt::Display for ResolveNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveNote::OptionalAbsent { chain } => write_absent(f, chain, "can use"),
        }
    }
}

/// Resolution failed; displays every problem found, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Lines(.problems))]
pub struct ResolveError {
    /// At least one.
    problems: Vec<ResolveProblem>,
}

impl ResolveError {
    /// The problems, in the order found.
    pub fn problems(&self) -> &[ResolveProblem] {
        &self.problems
    }
}

/// Displays problems one per line.
struct Lines<'a>(&'a [ResolveProblem]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            let sep = if i > 0 { "\n" } else { "" };
            write!(f, "{sep}{problem}")?;
        }
        Ok(())
    }
}

/// The versions chosen, in loading order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Per extension name, the index (into the slice given to [`resolve`])
    /// of the version chosen.
    pub chosen: BTreeMap<String, usize>,
    /// The chosen indices, each after everything it depends on; ties go by name.
    pub load_order: Vec<usize>,
    /// Absent optional dependencies.
    pub notes: Vec<ResolveNote>,
}

/// Picks one version per needed extension, highest first, within
/// [`DEFAULT_RESOLVE_STEPS`] steps.
///
/// An optional requirement on an extension not found is a note; on one found,
/// it binds like any other. On failure every problem of the first attempt is
/// reported, each naming the chain of requirements from a root.
pub fn resolve(candidates: &[Candidate], roots: Roots) -> Result<Resolution, ResolveError> {
    resolve_within(candidates, roots, DEFAULT_RESOLVE_STEPS)
}

/// [`resolve`] with a budget of `max_steps` candidate versions tried.
pub fn resolve_within(
    candidates: &[Candidate],
    roots: Roots,
    max_steps: usize,
) -> Result<Resolution, ResolveError> {
    let roots = match roots {
        Roots::All => None,
        Roots::Only(reqs) => Some(reqs),
    };
    solver::solve(candidates, roots.as_deref(), max_steps)
        .map_err(|problems| ResolveError { problems })
}

#[cfg(test)]
mod tests;
