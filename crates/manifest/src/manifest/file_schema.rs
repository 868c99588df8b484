//! The manifest's file format as types, for its JSON Schema.
//!
//! The manifest is read by hand (`load`, `capabilities::read`, ...), which
//! is what lets it report every problem at its line and column and merge
//! `extends` chains key by key; these types describe the same document for
//! editors and for `symphony schema manifest`. The unit tests hold them to
//! the reader's key lists, so neither can gain a key the other lacks.

#![allow(
    dead_code,
    reason = "these types describe the file for its schema; the reader builds the Manifest"
)]

use std::collections::BTreeMap;

use schemars::JsonSchema;

use crate::param::ParameterSpec;

/// An extension's manifest, `symphony.toml`: what the extension is, what
/// it asks to be granted, what it depends on, the node config it takes and
/// the limits it runs under. Keys are kebab-case; unknown keys are errors.
/// Editors that read JSON Schemas for TOML (taplo, Even Better TOML) take
/// a first-line comment `#:schema PATH-OR-URL`.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(
    title = "Symphony extension manifest (symphony.toml)",
    extend("if" = {"required": ["extends"]}, "then" = true, "else" = {
        "required": ["extension"],
        "properties": {"extension": {"required": ["name", "version", "kind", "component"]}}
    })
)]
pub(super) struct ManifestFile {
    /// A base manifest, relative to this file, read first; this file's
    /// tables are merged over it key by key (up to 8 files, no cycles).
    /// Example: `extends = "../base/symphony.toml"`.
    extends: Option<String>,
    /// What the extension is. Required unless a base manifest gives it.
    extension: Option<ExtensionTable>,
    /// What it asks to be granted; nothing by default.
    capabilities: Option<CapabilitiesTable>,
    /// Other extensions it uses, by name: a version requirement, or a
    /// table. Example: `mock-llm = "^0.1"`.
    dependencies: Option<BTreeMap<String, DependencySpec>>,
    /// The node config keys it takes, one table per key. Example:
    /// `[config.max-len]` with `type = "integer"`, `default = 80`.
    config: Option<BTreeMap<String, ConfigKeySpec>>,
    /// The limits it asks for; the host's defaults otherwise.
    limits: Option<LimitsTable>,
    /// How `symphony ext build` makes the component; Rust with Cargo
    /// when absent.
    build: Option<BuildTable>,
}

/// The `[build]` table.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct BuildTable {
    /// The language, which picks the toolchain. Default `"rust"`.
    language: Option<LanguageName>,
    /// Source files relative to this file: Python, the module the
    /// component starts from (default `["app.py"]`); JavaScript, the entry
    /// module (default `["app.js"]`); C, every file compiled (default
    /// `["extension.c"]`); not used for Rust.
    #[schemars(length(min = 1))]
    sources: Option<Vec<String>>,
}

/// The languages `symphony ext build` builds.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum LanguageName {
    /// Cargo and the Rust SDK.
    Rust,
    /// componentize-py and the Python SDK.
    Python,
    /// componentize-js and the JS SDK.
    Js,
    /// clang for WASI and the C header.
    C,
}

/// The `[extension]` table.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct ExtensionTable {
    /// `[a-z0-9][a-z0-9-]*`, up to 64 characters. Example: `"json-transform"`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,63}$"))]
    name: Option<String>,
    /// Its semver version. Example: `"0.2.0"`.
    version: Option<semver::Version>,
    /// What kind of extension it is.
    kind: Option<KindName>,
    /// The component, relative to this file (for `native`: the
    /// executable). Example: `"json_transform.wasm"`.
    component: Option<String>,
    /// What it does.
    description: Option<String>,
    /// Who wrote it. Example: `["Ada <ada@example.com>"]`.
    authors: Option<Vec<String>>,
    /// An SPDX license expression. Example: `"Apache-2.0"`.
    license: Option<String>,
    /// Words to find it by.
    keywords: Option<Vec<String>>,
}

/// The kinds of extension.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum KindName {
    /// An AI model adapter.
    Instrument,
    /// A data transform.
    Operator,
    /// A UI contribution.
    Addon,
    /// A native executable run as a sandboxed process.
    Native,
}

/// The `[capabilities]` table; each key is optional.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct CapabilitiesTable {
    /// Directories it may open.
    /// Example: `[{ path = "data", access = "read" }]`.
    fs: Option<Vec<FsEntry>>,
    /// Hosts and ports it may connect to, `HOST:PORT` or `HOST:*`.
    /// Example: `["api.example.com:443"]`.
    net: Option<Vec<String>>,
    /// Hosts it may send HTTP requests to; `*.` matches subdomains.
    /// Example: `["api.example.com", "*.example.org"]`.
    http: Option<Vec<String>>,
    /// Bus subjects it may publish and subscribe to.
    bus: Option<BusTable>,
    /// Its access to the Artifact Store. Default `none`.
    artifacts: Option<ArtifactsAccessName>,
    /// Instruments it may call, by name; `"*"` for any.
    /// Example: `["mock-llm"]`.
    models: Option<Vec<String>>,
    /// Environment variables it may read. Example: `["LANG"]`.
    env: Option<Vec<String>>,
    /// Whether it may read the wall clock. Default `false`.
    clock: Option<bool>,
    /// Whether it may use random numbers. Default `false`.
    random: Option<bool>,
}

/// One directory an extension may open.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct FsEntry {
    /// The host directory, absolute or relative to this file.
    path: String,
    /// Where the guest sees it. Default `/` and the path's last component.
    guest: Option<String>,
    /// Default `read`.
    access: Option<FsAccessName>,
}

/// Access to a directory.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(super) enum FsAccessName {
    /// Read files.
    Read,
    /// Read and write files.
    ReadWrite,
}

/// Access to the Artifact Store.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(super) enum ArtifactsAccessName {
    /// None.
    None,
    /// Read stored artifacts.
    Read,
    /// Read and store artifacts.
    ReadWrite,
}

/// `capabilities.bus`.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct BusTable {
    /// Subject patterns it may publish on (`*` one token, `>` the rest).
    /// Example: `["metrics.>"]`.
    publish: Option<Vec<String>>,
    /// Subject patterns it may subscribe to. Example: `["exec.*.done"]`.
    subscribe: Option<Vec<String>>,
}

/// A dependency: a semver requirement, or a table with one.
#[derive(JsonSchema)]
#[serde(untagged)]
pub(super) enum DependencySpec {
    /// A version requirement. Example: `"^0.1"`.
    Requirement(String),
    /// A requirement with options.
    /// Example: `{ version = ">=1.2, <2", optional = true }`.
    Table(DependencyTable),
}

/// A dependency written as a table.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct DependencyTable {
    /// A semver requirement. Example: `"^1.2"`.
    version: String,
    /// Whether the extension works without it. Default `false`.
    optional: Option<bool>,
    /// The kind it must be.
    kind: Option<DependencyKind>,
}

/// The kind a dependency must be.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum DependencyKind {
    /// An Instrument.
    Instrument,
    /// An Operator.
    Operator,
    /// An Addon.
    Addon,
}

/// One `[config.KEY]` table: a typed parameter, optionally secret. Unlike
/// a template parameter, a key without a default is optional unless
/// `required = true`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigKeySpec {
    #[serde(flatten)]
    parameter: ParameterSpec,
    /// Whether values are secret: shown only as `***`. Default `false`.
    secret: Option<bool>,
}

/// The `[limits]` table; each key is optional.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct LimitsTable {
    /// Linear memory: bytes, or a size like `"64 MiB"` (B, KiB, MiB, GiB,
    /// TiB, KB, MB, GB, TB).
    memory: Option<Quantity>,
    /// Fuel per call, at least 1. Example: `1_000_000_000`.
    #[schemars(range(min = 1))]
    fuel: Option<u64>,
    /// The longest one call may take: milliseconds, or a duration like
    /// `"5s"` (ms, s, m, h).
    deadline: Option<Quantity>,
    /// Instances pooled at most. Example: `4`.
    #[schemars(range(min = 1))]
    max_instances: Option<u64>,
    /// Log lines per second it may write.
    #[schemars(range(min = 1, max = 4294967295u32))]
    log_rate: Option<u64>,
    /// Log lines it may write in a burst above the rate.
    #[schemars(range(min = 1, max = 4294967295u32))]
    log_burst: Option<u64>,
    /// The longest log line kept: bytes, or a size like `"2 KiB"`.
    log_line: Option<Quantity>,
    /// What one call costs against tenants' and runs' budgets (see the
    /// Arbitration Engine). Example: `0.002`.
    #[schemars(range(min = 0))]
    cost: Option<f64>,
}

/// A positive integer in the base unit, or a whole number and a unit.
#[derive(JsonSchema)]
#[serde(untagged)]
pub(super) enum Quantity {
    /// In the base unit (bytes, milliseconds); at least 1.
    Number(#[schemars(range(min = 1))] u64),
    /// A number and a unit. Example: `"64 MiB"`, `"5s"`.
    Text(#[schemars(regex(pattern = r"^\s*[0-9]+\s*[A-Za-z]+\s*$"))] String),
}

/// The manifest's JSON Schema (draft 2020-12).
pub(crate) fn schema() -> serde_json::Value {
    crate::file_schema::<ManifestFile>()
}

#[cfg(test)]
mod tests;
