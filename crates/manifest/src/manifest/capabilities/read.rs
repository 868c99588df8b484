//! Reading the `[capabilities]` table.

use std::path::Path;

use symphony_protocol::validate_pattern;

use super::super::check_env;
use super::super::patterns::{check_host, check_net};
use super::super::source_tree::{Item, Problems, Table, join, normalize};
use super::FsAccess;
use super::{Capabilities, FsCapability, artifact_access, check_model, default_guest, fs_access};

/// The keys of the `[capabilities]` table.
pub(in crate::manifest) const CAPABILITY_KEYS: &[&str] = &[
    "fs",
    "net",
    "http",
    "bus",
    "artifacts",
    "models",
    "env",
    "clock",
    "random",
];

/// The keys of `capabilities.bus`.
pub(in crate::manifest) const BUS_KEYS: &[&str] = &["publish", "subscribe"];

/// The keys of one `capabilities.fs` entry.
pub(in crate::manifest) const FS_KEYS: &[&str] = &["path", "guest", "access"];

/// Reads the `[capabilities]` table; relative directories are resolved
/// against the directory of the file each was written in.
pub(in crate::manifest) fn read(item: &Item, problems: &mut Problems) -> Capabilities {
    let mut caps = Capabilities::default();
    let Some(table) = item.table("capabilities", CAPABILITY_KEYS, problems) else {
        return caps;
    };
    let field = |key: &str| table.get(key).map(|e| &e.item);
    if let Some(fs) = field("fs") {
        read_fs(fs, &mut caps, problems);
    }
    caps.net = patterns(table, "capabilities", "net", check_net, problems);
    caps.http = patterns(table, "capabilities", "http", check_host, problems);
    caps.models = patterns(table, "capabilities", "models", check_model, problems);
    caps.env = patterns(table, "capabilities", "env", check_env, problems);
    if let Some(bus) = field("bus")
        && let Some(bus) = bus.table("capabilities.bus", BUS_KEYS, problems)
    {
        let at = "capabilities.bus";
        caps.publish = patterns(bus, at, "publish", validate_pattern, problems);
        caps.subscribe = patterns(bus, at, "subscribe", validate_pattern, problems);
    }
    if let Some(artifacts) = field("artifacts")
        && let Some(name) = artifacts.str("capabilities.artifacts", problems)
    {
        match artifact_access(name) {
            Some(access) => caps.artifacts = access,
            None => problems.push(
                &artifacts.loc,
                format!(
                    "unknown access \"{name}\" for capabilities.artifacts \
                     (expected read, read-write or none)"
                ),
            ),
        }
    }
    for (key, flag) in [("clock", &mut caps.clock), ("random", &mut caps.random)] {
        if let Some(item) = field(key) {
            *flag = item
                .bool(&join("capabilities", key), problems)
                .unwrap_or(false);
        }
    }
    caps
}

/// The strings of `table.key` that pass `check`; each other is reported.
fn patterns(
    table: &Table,
    at: &str,
    key: &str,
    check: fn(&str) -> Result<(), String>,
    problems: &mut Problems,
) -> Vec<String> {
    let Some(list) = table.get(key) else {
        return Vec::new();
    };
    let path = join(at, key);
    let mut out = Vec::new();
    for (text, item) in list.item.strings(&path, problems) {
        match check(text) {
            Ok(()) => out.push(text.to_string()),
            Err(e) => problems.push(&item.loc, format!("invalid {path} entry: {e}")),
        }
    }
    out
}

fn read_fs(list: &Item, caps: &mut Capabilities, problems: &mut Problems) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let what = "an array of tables like { path = \"data\", access = \"read\" }";
    for (i, entry) in list
        .array(what, "capabilities.fs", problems)
        .iter()
        .enumerate()
    {
        let at = format!("capabilities.fs[{i}]");
        let Some(table) = entry.table(&at, FS_KEYS, problems) else {
            continue;
        };
        let text = |key: &str, problems: &mut Problems| {
            let item = &table.get(key)?.item;
            Some((item.str(&join(&at, key), problems)?, item))
        };
        let path = match text("path", problems) {
            Some(("", item)) => {
                problems.push(&item.loc, format!("{at}.path is empty"));
                None
            }
            Some((path, item)) => Some(normalize(&item.loc.source.dir.join(path))),
            None => {
                if !table.contains_key("path") {
                    problems.push(&entry.loc, format!("{at} has no path (the host directory)"));
                }
                None
            }
        };
        let access = match text("access", problems) {
            None => Some(FsAccess::Read),
            Some((name, item)) => {
                let access = fs_access(name);
                if access.is_none() {
                    problems.push(
                        &item.loc,
                        format!(
                            "unknown access \"{name}\" for {at}.access \
                             (expected read or read-write)"
                        ),
                    );
                }
                access
            }
        };
        let guest = match text("guest", problems) {
            Some((guest, item)) => {
                let bad = !guest.starts_with('/')
                    || Path::new(guest)
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir));
                if bad {
                    problems.push(
                        &item.loc,
                        format!(
                            "{at}.guest must be an absolute path without '..', \
                             like \"/data\", found \"{guest}\""
                        ),
                    );
                    continue;
                }
                Some((guest.to_string(), item))
            }
            None => None,
        };
        if let (Some(path), Some(access)) = (path, access) {
            let (guest, loc) = match guest {
                Some((guest, item)) => (guest, &item.loc),
                None => (default_guest(&path), &entry.loc),
            };
            if let Some((_, first)) = seen.iter().find(|(g, _)| *g == guest) {
                problems.push(
                    loc,
                    format!(
                        "{at} is seen at guest path \"{guest}\", as capabilities.fs[{first}] \
                         is: give one a different guest"
                    ),
                );
            }
            seen.push((guest.clone(), i));
            caps.fs.push(FsCapability {
                path,
                guest,
                access,
            });
        }
    }
}
