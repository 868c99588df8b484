//! The interface versions this host links, so a component that imports
//! one it does not is refused with the interface, the version it wants and
//! the versions the host has, not with the linker's bare complaint.

/// Each package the linker defines, at the version it defines: WASI from
/// wasmtime-wasi 48 (and its HTTP from wasmtime-wasi-http 48), and
/// Symphony's own host interfaces.
pub(crate) const LINKED: &[(&str, &str)] = &[
    ("wasi:cli", "0.2.12"),
    ("wasi:clocks", "0.2.12"),
    ("wasi:filesystem", "0.2.12"),
    ("wasi:http", "0.2.12"),
    ("wasi:io", "0.2.12"),
    ("wasi:random", "0.2.12"),
    ("wasi:sockets", "0.2.12"),
    ("symphony:extension", "0.1.1"),
];

/// An import the linker cannot satisfy, as people should hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unlinked {
    /// The interface without its version, e.g. `wasi:cli/environment`.
    pub(crate) interface: String,
    /// The version the component wants, e.g. `0.3.0`.
    pub(crate) wanted: String,
    /// What the host links of that package, e.g. `wasi:cli@0.2.12`, or
    /// nothing for a package it does not know.
    pub(crate) have: Option<String>,
}

/// Why `import` (an import name such as `wasi:cli/environment@0.2.6`)
/// would not link, if it would not: a package this host does not define,
/// or a version off the track of the one it does. Versions follow the
/// linker's rule: the same major version (for 0.x, the same minor; 0.0.x
/// and pre-releases only exactly).
pub(crate) fn unlinked(import: &str) -> Option<Unlinked> {
    let (interface, wanted) = import.split_once('@')?;
    let package = interface.split_once('/').map_or(interface, |(p, _)| p);
    let unlinked = |have: Option<String>| Unlinked {
        interface: interface.to_string(),
        wanted: wanted.to_string(),
        have,
    };
    let Some((_, linked)) = LINKED.iter().find(|(p, _)| *p == package) else {
        return Some(unlinked(None));
    };
    (!same_track(wanted, linked)).then(|| unlinked(Some(format!("{package}@{linked}"))))
}

/// Whether an import of version `want` links to a definition of version
/// `have`, by wasmtime's rule: the same major version (for 0.x, the same
/// minor; 0.0.x and pre-releases only exactly). Text that is not semver
/// matches only itself.
pub(crate) fn same_track(want: &str, have: &str) -> bool {
    let (Ok(want), Ok(have)) = (semver::Version::parse(want), semver::Version::parse(have)) else {
        return want == have;
    };
    if !want.pre.is_empty() || !have.pre.is_empty() {
        want == have
    } else if want.major > 0 {
        want.major == have.major
    } else if want.minor > 0 {
        have.major == 0 && want.minor == have.minor
    } else {
        want == have
    }
}

#[cfg(test)]
mod tests;
