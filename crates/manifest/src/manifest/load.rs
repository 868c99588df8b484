//! Reading a manifest: following `extends`, then checking the merged
//! document and building the [`Manifest`] from it.

use crate::ExtensionKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::source_tree::{
    self, Item, Loc, MAX_DEPTH, Problems, Source, Table, Value, check_keys, fail, found,
};
use super::{
    Capabilities, ConfigSchema, Dependency, Manifest, ManifestError, ManifestKind, ManifestLimits,
    build as build_table, capabilities, check_name, config, limits,
};

/// The directory of `path`, `.` if it has none.
pub(super) fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What tells two files apart: the canonical path if there is one.
pub(super) fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `source` read and merged over its bases. `chain` holds the files read
/// so far (identity, path shown), to find cycles.
pub(super) fn load(
    source: &Arc<Source>,
    chain: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<Table, ManifestError> {
    let mut table = source_tree::parse(source)?;
    let Some(extends) = table.remove("extends") else {
        return Ok(table);
    };
    let item = &extends.item;
    let relative = match &item.value {
        Value::String(s) if !s.is_empty() => s,
        _ => {
            let message = format!(
                "expected the path of a base manifest for extends, found {}",
                found(item)
            );
            return Err(fail(&item.loc, message));
        }
    };
    let shown =
        source_tree::normalize(&source.path.parent().unwrap_or(Path::new("")).join(relative));
    let absolute = source_tree::normalize(&source.dir.join(relative));
    let id = identity(&absolute);
    if let Some(first) = chain.iter().position(|(seen, _)| *seen == id) {
        let cycle: Vec<String> = chain[first..]
            .iter()
            .map(|(_, shown)| shown.display().to_string())
            .chain([shown.display().to_string()])
            .collect();
        return Err(fail(
            &item.loc,
            format!("extends cycle: {}", cycle.join(" -> ")),
        ));
    }
    if chain.len() >= MAX_DEPTH {
        return Err(fail(
            &item.loc,
            format!("extends goes more than {MAX_DEPTH} manifests deep"),
        ));
    }
    let text = std::fs::read_to_string(&absolute).map_err(|e| {
        fail(
            &item.loc,
            format!("cannot read base manifest {}: {e}", shown.display()),
        )
    })?;
    let base = Source::new(shown.clone(), parent(&absolute), text, chain.len());
    chain.push((id, shown));
    let base = load(&base, chain)?;
    Ok(source_tree::merge(base, table))
}

/// The top-level keys of a manifest.
pub(super) const TOP_KEYS: &[&str] = &[
    "extends",
    "extension",
    "capabilities",
    "dependencies",
    "config",
    "limits",
    "build",
];

/// The keys of the `[extension]` table.
pub(super) const EXTENSION_KEYS: &[&str] = &[
    "name",
    "version",
    "kind",
    "component",
    "description",
    "authors",
    "license",
    "keywords",
];

/// The keys of a dependency written as a table.
pub(super) const DEPENDENCY_KEYS: &[&str] = &["version", "optional", "kind"];

/// Checks the merged document and builds the manifest from it.
pub(super) fn build(table: &Table, source: &Arc<Source>) -> Result<Manifest, ManifestError> {
    let mut problems = Problems::default();
    check_keys(table, "", TOP_KEYS, &mut problems);
    let field = |key: &str| table.get(key).map(|e| &e.item);
    let extension = read_extension(table, source, &mut problems);
    let capabilities = field("capabilities")
        .map(|item| capabilities::read(item, &mut problems))
        .unwrap_or_default();
    let dependencies = field("dependencies")
        .map(|item| read_dependencies(item, &mut problems))
        .unwrap_or_default();
    let config = field("config")
        .map(|item| config::read(item, &mut problems))
        .unwrap_or_default();
    let limits = field("limits")
        .map(|item| limits::read(item, &mut problems))
        .unwrap_or_default();
    let build = match field("build") {
        Some(item) => build_table::read(item, &mut problems),
        None => super::BuildSpec::new(super::Language::Rust, &source.dir),
    };
    problems.finish()?;
    let Some(extension) = extension else {
        // Every way to get here reported a problem; this is not reached.
        return Err(fail(
            &Loc::start(source),
            "the [extension] table is incomplete",
        ));
    };
    Ok(Manifest {
        capabilities,
        dependencies,
        config,
        limits,
        build,
        dir: source.dir.clone(),
        ..extension
    })
}

/// The `[extension]` table's fields in a manifest with nothing else.
fn read_extension(
    table: &Table,
    source: &Arc<Source>,
    problems: &mut Problems,
) -> Option<Manifest> {
    let Some(entry) = table.get("extension") else {
        problems.push(
            &Loc::start(source),
            "missing the [extension] table (with name, version, kind and component)",
        );
        return None;
    };
    let fields = entry.item.table("extension", EXTENSION_KEYS, problems)?;
    let mut required = |key: &str, hint: &str| {
        let item = fields.get(key).map(|e| &e.item);
        if item.is_none() {
            problems.push(&entry.key, format!("missing extension.{key} ({hint})"));
        }
        item
    };
    let name = required("name", "a name like \"json-transform\"");
    let version = required("version", "a semver version like \"1.2.0\"");
    let kind = required("kind", "one of instrument, operator, addon, native");
    let component = required(
        "component",
        "the path of the component, like \"json_transform.wasm\"",
    );

    let name = name.and_then(|item| {
        let name = item.str("extension.name", problems)?;
        check_name(name)
            .map_err(|why| {
                problems.push(
                    &item.loc,
                    format!("invalid extension.name \"{name}\": {why}"),
                )
            })
            .ok()
            .map(|()| name.to_string())
    });
    let version = version.and_then(|item| {
        let text = item.str("extension.version", problems)?;
        semver::Version::parse(text)
            .map_err(|e| {
                problems.push(
                    &item.loc,
                    format!(
                        "expected a semver version like \"1.2.0\" for extension.version, found {} ({e})",
                        found(item)
                    ),
                )
            })
            .ok()
    });
    let kind = kind.and_then(|item| {
        let text = item.str("extension.kind", problems)?;
        let kind = ManifestKind::ALL.into_iter().find(|k| k.as_str() == text);
        if kind.is_none() {
            problems.push(
                &item.loc,
                format!(
                    "unknown kind {} for extension.kind (expected one of instrument, operator, addon, native)",
                    found(item)
                ),
            );
        }
        kind
    });
    let component = component.and_then(|item| match item.str("extension.component", problems)? {
        "" => {
            problems.push(&item.loc, "extension.component is empty");
            None
        }
        path => Some(source_tree::normalize(&item.loc.source.dir.join(path))),
    });
    let text = |key: &str, problems: &mut Problems| {
        let item = &fields.get(key)?.item;
        item.str(&format!("extension.{key}"), problems)
            .map(str::to_string)
    };
    let description = text("description", problems);
    let license = text("license", problems);
    let list = |key: &str, problems: &mut Problems| {
        fields.get(key).map_or_else(Vec::new, |e| {
            e.item
                .strings(&format!("extension.{key}"), problems)
                .into_iter()
                .map(|(s, _)| s.to_string())
                .collect()
        })
    };
    let authors = list("authors", problems);
    let keywords = list("keywords", problems);
    Some(Manifest {
        name: name?,
        version: version?,
        kind: kind?,
        component: component?,
        dir: PathBuf::new(),
        description,
        authors,
        license,
        keywords,
        capabilities: Capabilities::default(),
        dependencies: BTreeMap::new(),
        config: ConfigSchema::default(),
        limits: ManifestLimits::default(),
        build: super::BuildSpec::new(super::Language::Rust, Path::new("")),
    })
}

fn read_dependencies(item: &Item, problems: &mut Problems) -> BTreeMap<String, Dependency> {
    let mut out = BTreeMap::new();
    let Some(table) = item.entries("dependencies", problems) else {
        return out;
    };
    for (name, entry) in table {
        let path = source_tree::join("dependencies", name);
        if let Err(why) = check_name(name) {
            problems.push(
                &entry.key,
                format!("invalid dependency name \"{name}\": {why}"),
            );
        }
        let (req, optional, kind) = match &entry.item.value {
            Value::Table(_) => {
                let Some(fields) = entry.item.table(&path, DEPENDENCY_KEYS, problems) else {
                    continue;
                };
                let optional = fields
                    .get("optional")
                    .and_then(|e| e.item.bool(&format!("{path}.optional"), problems))
                    .unwrap_or(false);
                let kind = fields.get("kind").and_then(|e| {
                    let text = e.item.str(&format!("{path}.kind"), problems)?;
                    let kind = ExtensionKind::ALL.into_iter().find(|k| k.as_str() == text);
                    if kind.is_none() {
                        problems.push(
                            &e.item.loc,
                            format!(
                                "unknown kind \"{text}\" for {path}.kind (expected one of \
                                 instrument, operator, addon)"
                            ),
                        );
                    }
                    kind
                });
                let Some(version) = fields.get("version") else {
                    problems.push(
                        &entry.key,
                        format!("missing {path}.version (a requirement like \"^1.2\")"),
                    );
                    continue;
                };
                (&version.item, optional, kind)
            }
            _ => (&entry.item, false, None),
        };
        let Some(text) = req.str(&path, problems) else {
            continue;
        };
        match semver::VersionReq::parse(text) {
            Ok(req) => {
                out.insert(
                    name.clone(),
                    Dependency {
                        req,
                        optional,
                        kind,
                    },
                );
            }
            Err(e) => problems.push(
                &req.loc,
                format!(
                    "expected a version requirement like \"^1.2\" for {path}, found {} ({e})",
                    found(req)
                ),
            ),
        }
    }
    out
}
