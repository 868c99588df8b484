//! The file formats' JSON Schemas against everything the repository shows
//! people: the committed schemas, the example files, the documentation's
//! blocks and its field tables. None of them can drift from the types the
//! host reads files with.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use symphony_host::schema::FileFormat;
use symphony_host::workflow::{Edge, Node, Workflow};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every error of `instance` against `schema`, each with where it is.
fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("the schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

fn assert_fits(format: FileFormat, instance: &Value, at: &str) {
    let problems = errors(&format.schema(), instance);
    assert!(
        problems.is_empty(),
        "{at} does not fit the {format} schema: {problems:#?}"
    );
}

/// The schema of `format`'s definition `name`, e.g. a workflow's `Node`.
fn definition(format: FileFormat, name: &str) -> Value {
    let schema = format.schema();
    json!({"$defs": schema["$defs"], "$ref": format!("#/$defs/{name}")})
}

fn toml_to_json(text: &str, at: &str) -> Value {
    let value: toml::Value = toml::from_str(text).unwrap_or_else(|e| panic!("{at}: {e}"));
    serde_json::to_value(value).unwrap()
}

/// The fenced blocks of `language` in a Markdown file, with their lines.
fn blocks(file: &Path, language: &str) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((at, line)) = lines.next() {
        if line.trim() == format!("```{language}") {
            let body: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| l.trim() != "```")
                .collect();
            blocks.push((at + 1, body.join("\n")));
        }
    }
    blocks
}

fn files(dir: &Path, keep: &Keep, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() && name != "target" && !name.starts_with('.') {
            files(&path, keep, out);
        } else if keep(&path) {
            out.push(path);
        }
    }
}

/// `docs/schemas/*.schema.json` are what `symphony schema` prints, so a
/// `$schema` pointing at them checks files by the current format.
/// `SYMPHONY_SCHEMA_BLESS=1` rewrites them.
#[test]
fn the_committed_schemas_are_the_generated_ones() {
    let dir = root().join("docs/schemas");
    for format in FileFormat::ALL {
        let path = dir.join(format.file_name());
        let generated = serde_json::to_string_pretty(&format.schema()).unwrap() + "\n";
        if std::env::var_os("SYMPHONY_SCHEMA_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is not the {format} schema the code generates; rerun with \
             SYMPHONY_SCHEMA_BLESS=1 and review the difference",
            path.display()
        );
    }
}

/// Which files of a directory tree a check reads.
type Keep = dyn Fn(&Path) -> bool;

#[test]
fn every_example_file_fits_its_schema() {
    let json = |p: &Path| {
        p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().ends_with("-input.json")
    };
    let manifest = |p: &Path| p.file_name().is_some_and(|n| n == "symphony.toml");
    let arbitration = |p: &Path| p.to_string_lossy().ends_with("arbitration.toml");
    let sets: [(FileFormat, &[&str], &Keep); 4] = [
        (FileFormat::Workflow, &["examples/workflows"], &json),
        (FileFormat::Template, &["examples/templates"], &json),
        (
            FileFormat::Manifest,
            &["examples", "tests/fixtures"],
            &manifest,
        ),
        (
            FileFormat::Arbitration,
            &["examples/workflows"],
            &arbitration,
        ),
    ];
    let mut checked = 0;
    for (format, dirs, keep) in sets {
        let mut found = Vec::new();
        for dir in dirs {
            files(&root().join(dir), keep, &mut found);
        }
        for path in found {
            let at = path.display().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let value = if format.is_toml() {
                toml_to_json(&text, &at)
            } else {
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{at}: {e}"))
            };
            assert_fits(format, &value, &at);
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} example files found");
}

/// Every JSON and TOML block of the README and of the format pages is a
/// document (or, on the workflow page, a node or an edge) of its format,
/// which its reader accepts; a workflow also validates against the example
/// extensions.
#[test]
fn every_block_in_the_documentation_fits_its_schema() {
    let host = symphony_tests::host();
    let mut checked = 0;
    let pages = [
        "README.md",
        "docs/workflow-format.md",
        "docs/template-format.md",
        "docs/manifest-format.md",
        "docs/retention-format.md",
        "docs/arbitration-format.md",
    ];
    for page in pages {
        let file = root().join(page);
        for (line, block) in blocks(&file, "json") {
            let at = format!("{page}:{line}");
            let value: Value =
                serde_json::from_str(&block).unwrap_or_else(|e| panic!("{at}: not JSON: {e}"));
            let (format, schema) = if value.get("schema_version").is_some() {
                (FileFormat::Workflow, FileFormat::Workflow.schema())
            } else if value.get("template_version").is_some() {
                (FileFormat::Template, FileFormat::Template.schema())
            } else if value.get("kind").is_some() && value.get("id").is_some() {
                (
                    FileFormat::Workflow,
                    definition(FileFormat::Workflow, "Node"),
                )
            } else if value.get("from").is_some() {
                (
                    FileFormat::Workflow,
                    definition(FileFormat::Workflow, "Edge"),
                )
            } else if value.get("type").is_some() && page == "docs/template-format.md" {
                (
                    FileFormat::Template,
                    definition(FileFormat::Template, "ParameterSpec"),
                )
            } else {
                panic!("{at}: neither a workflow, a template, a node, an edge nor a parameter");
            };
            let problems = errors(&schema, &value);
            assert!(
                problems.is_empty(),
                "{at} does not fit the {format} schema: {problems:#?}"
            );
            // The reader agrees, and a workflow validates against the
            // example extensions it calls.
            if value.get("schema_version").is_some() {
                let workflow = Workflow::from_json(&block, &at).unwrap();
                host.validate(&workflow)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
            } else if value.get("from").is_some() {
                serde_json::from_value::<Edge>(value).unwrap_or_else(|e| panic!("{at}: {e}"));
            } else if value.get("id").is_some() {
                serde_json::from_value::<Node>(value).unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            checked += 1;
        }
        for (line, block) in blocks(&file, "toml") {
            let at = format!("{page}:{line}");
            let format = if page == "docs/retention-format.md" {
                FileFormat::Retention
            } else if page == "docs/arbitration-format.md"
                || block.contains("[slots]")
                || block.contains("[tenants.")
            {
                FileFormat::Arbitration
            } else if block.contains("[extension]") || page == "docs/manifest-format.md" {
                FileFormat::Manifest
            } else {
                continue; // a Cargo.toml
            };
            assert_fits(format, &toml_to_json(&block, &at), &at);
            // The reader agrees (a manifest that extends another needs its base).
            match format {
                FileFormat::Retention => {
                    symphony_host::artifacts::stale::RetentionPolicy::from_toml_str(&block)
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                }
                FileFormat::Arbitration => {
                    symphony_host::arbitration::ArbitrationConfig::parse(&block, &at)
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                }
                _ if !block.contains("extends") => {
                    symphony_host::extension::Manifest::parse(&block, "/ext/x/symphony.toml")
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                }
                _ => {}
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} blocks found");
}

/// Every property name anywhere in `schema`.
fn property_names(schema: &Value, names: &mut BTreeSet<String>) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get("properties") {
                names.extend(properties.keys().cloned());
            }
            object.values().for_each(|v| property_names(v, names));
        }
        Value::Array(items) => items.iter().for_each(|v| property_names(v, names)),
        _ => {}
    }
}

/// Each format's page names every field its schema has, so a field added
/// to the code without a word in the docs fails here.
#[test]
fn every_field_of_every_format_is_documented() {
    for format in FileFormat::ALL {
        let page = format!("docs/{format}-format.md");
        let text =
            std::fs::read_to_string(root().join(&page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        let mut names = BTreeSet::new();
        property_names(&format.schema(), &mut names);
        let missing: Vec<&String> = names
            .iter()
            .filter(|name| !text.contains(&format!("`{name}`")))
            .collect();
        assert!(missing.is_empty(), "{page} never names {missing:?}");
    }
}

/// The schemas are not vacuous: the mistakes the issue met are refused.
#[test]
fn the_schemas_refuse_what_the_host_refuses() {
    let node_merge = json!({"schema_version": 2, "id": "w", "name": "w", "version": "1.0.0",
        "nodes": [{"id": "m", "kind": "control", "merge": "all"}]});
    assert!(!errors(&FileFormat::Workflow.schema(), &node_merge).is_empty());
    let no_name = json!({"schema_version": 2, "id": "w", "version": "1.0.0", "nodes": []});
    assert!(!errors(&FileFormat::Workflow.schema(), &no_name).is_empty());
    let manifest = toml_to_json("[extension]\nname = \"x\"\nkind = \"plugin\"\n", "inline");
    let problems = errors(&FileFormat::Manifest.schema(), &manifest).join("\n");
    assert!(problems.contains("plugin"), "{problems}");
    assert!(problems.contains("component"), "{problems}");
    let extended = toml_to_json(
        "extends = \"../base/symphony.toml\"\n[limits]\nfuel = 5\n",
        "x",
    );
    assert!(errors(&FileFormat::Manifest.schema(), &extended).is_empty());
    let retention = toml_to_json("trash_days = \"seven\"\n[weights]\nrecent = 1\n", "x");
    assert_eq!(errors(&FileFormat::Retention.schema(), &retention).len(), 2);
}
