//! What a component imports and exports, and which Symphony world that is.

use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::{ComponentExtern, ComponentItem};

use super::bindings::WIT_VERSION;
use symphony_manifest::ExtensionKind;

/// The lifecycle interface every extension world exports.
pub(crate) const LIFECYCLE: &str = "symphony:extension/lifecycle@0.1.1";

/// Whether the interface `name` is `interface` in a compatible version:
/// the same name and, as the component model matches versions, the same
/// track (`@0.1.0` is `@0.1.1`; see [`crate::linked::same_track`]).
fn same_interface(name: &str, interface: &str) -> bool {
    let (name, version) = name.split_once('@').unwrap_or((name, ""));
    let (interface, wanted) = interface.split_once('@').unwrap_or((interface, ""));
    name == interface && crate::linked::same_track(version, wanted)
}

/// One import or export of a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentItemInfo {
    /// The name, e.g. `symphony:extension/host@0.1.0`.
    pub name: String,
    /// `instance`, `func`, `type`, `resource`, `module` or `component`.
    pub item: &'static str,
    /// For an instance, the functions it holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
}

/// A component's world as the host sees it. Returned by
/// `Host::inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentInfo {
    /// The extension kind whose world the component exports, if any.
    pub kind: Option<ExtensionKind>,
    /// What the component imports.
    pub imports: Vec<ComponentItemInfo>,
    /// What the component exports.
    pub exports: Vec<ComponentItemInfo>,
    /// The tools that made it, from the `producers` sections of the
    /// component and the modules inside it (the language, its compiler,
    /// the bindings and component tools), each once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub producers: Vec<Producer>,
}

/// One entry of a `producers` section, e.g. `language Rust` or
/// `processed-by rustc 1.95.0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Producer {
    /// `language`, `processed-by` or `sdk`.
    pub field: String,
    /// The tool or language, e.g. `rustc`.
    pub name: String,
    /// Its version, e.g. `1.95.0`; may be empty.
    pub version: String,
}

/// Every producer named in `bytes`, the component's and its inner
/// modules' (the toolchains record themselves in the module they build;
/// wit-component only in the component), each once, in order. Code
/// sections are skipped unread, so an 18 MB Python component costs little
/// more than a small one.
pub(crate) fn producers(bytes: &[u8]) -> Vec<Producer> {
    use wasmparser::{Chunk, KnownCustom, Parser, Payload};
    let mut found: Vec<Producer> = Vec::new();
    let mut parser = Parser::new(0);
    // The parsers of the enclosing components while inside a nested one.
    let mut outer = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        // What does not parse is the compiler's to report, not this.
        let Ok(Chunk::Parsed { consumed, payload }) = parser.parse(&bytes[at..], true) else {
            break;
        };
        at += consumed;
        match payload {
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                at += size as usize;
            }
            Payload::ModuleSection { parser: inner, .. }
            | Payload::ComponentSection { parser: inner, .. } => {
                outer.push(std::mem::replace(&mut parser, inner))
            }
            Payload::End(_) => match outer.pop() {
                Some(enclosing) => parser = enclosing,
                None => break,
            },
            Payload::CustomSection(section) => {
                let KnownCustom::Producers(reader) = section.as_known() else {
                    continue;
                };
                for field in reader.into_iter().flatten() {
                    for value in field.values.into_iter().flatten() {
                        let producer = Producer {
                            field: field.name.to_string(),
                            name: value.name.to_string(),
                            version: value.version.to_string(),
                        };
                        if !found.contains(&producer) {
                            found.push(producer);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// How a component says it was built: the WASI version it imports and
/// the tools in its producers sections. The host keeps it with each
/// loaded extension ([`ExtensionInfo`](crate::extension::ExtensionInfo)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuiltWith {
    /// The newest WASI version among its imports, e.g. `0.2.9`.
    pub wasi: Option<semver::Version>,
    /// The tools that made it, e.g. `componentize-py 0.25.1`.
    pub producers: Vec<Producer>,
}

impl ComponentInfo {
    pub(crate) fn of(engine: &Engine, component: &Component) -> Self {
        let ty = component.component_type();
        let describe = |(name, item): (&str, ComponentExtern<'_>)| {
            let (kind, functions) = match item.ty {
                ComponentItem::ComponentInstance(inst) => {
                    let functions = inst
                        .exports(engine)
                        .filter(|(_, i)| matches!(i.ty, ComponentItem::ComponentFunc(_)))
                        .map(|(n, _)| n.to_string())
                        .collect();
                    ("instance", functions)
                }
                ComponentItem::ComponentFunc(_) | ComponentItem::CoreFunc(_) => {
                    ("func", Vec::new())
                }
                ComponentItem::Type(_) => ("type", Vec::new()),
                ComponentItem::Resource(_) => ("resource", Vec::new()),
                ComponentItem::Module(_) => ("module", Vec::new()),
                ComponentItem::Component(_) => ("component", Vec::new()),
            };
            ComponentItemInfo {
                name: name.to_string(),
                item: kind,
                functions,
            }
        };
        let imports: Vec<_> = ty.imports(engine).map(describe).collect();
        let exports: Vec<_> = ty.exports(engine).map(describe).collect();
        let exported = |name: &str| exports.iter().any(|e| same_interface(&e.name, name));
        let kind = if exported(LIFECYCLE) {
            ExtensionKind::ALL
                .into_iter()
                .find(|k| exported(k.interface()))
        } else {
            None
        };
        ComponentInfo {
            kind,
            imports,
            exports,
            producers: Vec::new(),
        }
    }

    /// The WASI version the component was built against: the newest
    /// among its `wasi:` imports, e.g. `0.2.6`.
    pub fn wasi_version(&self) -> Option<semver::Version> {
        self.imports
            .iter()
            .filter(|i| i.name.starts_with("wasi:"))
            .filter_map(|i| i.name.split_once('@'))
            .filter_map(|(_, version)| semver::Version::parse(version).ok())
            .max()
    }

    /// The world's name as the host binds it, e.g.
    /// `symphony:extension/operator-extension@0.1.1` (a component built
    /// against 0.1.0 implements it too).
    pub fn world(&self) -> Option<String> {
        self.kind
            .map(|k| format!("symphony:extension/{}-extension@{WIT_VERSION}", k.as_str()))
    }

    /// The `symphony:extension` version the component was built against,
    /// read from its lifecycle export, e.g. `0.1.0`.
    pub fn wit_version(&self) -> Option<&str> {
        self.exports
            .iter()
            .find(|e| same_interface(&e.name, LIFECYCLE))
            .and_then(|e| e.name.split_once('@'))
            .map(|(_, version)| version)
    }
}

#[cfg(test)]
mod tests;
