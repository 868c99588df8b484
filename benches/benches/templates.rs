//! A template library of 1,000 and 5,000 generated files: opening it
//! against reading the files' bytes (the I/O floor), searching it by text
//! and by tag against a naive scan that lowercases and substring-matches
//! every file's raw JSON per query (what `grep -il` does), and looking up
//! and instantiating one template against loading the finished workflow
//! from its JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main};
use serde_json::json;
use symphony_benches::{bench_pair, criterion};
use symphony_host::workflow::{TemplateLibrary, Workflow};

const WORDS: [&str; 16] = [
    "summary",
    "keywords",
    "review",
    "triage",
    "sentiment",
    "brief",
    "report",
    "digest",
    "support",
    "ticket",
    "email",
    "news",
    "contract",
    "invoice",
    "classify",
    "extract",
];
const TAGS: [&str; 8] = [
    "text", "reviews", "legal", "support", "demo", "finance", "news", "ops",
];

/// The text of template file `i`: every fifth file is a second version of
/// the id before it; words and tags vary with `i`.
fn template_file(i: usize) -> String {
    let id = format!("tpl-{:05}", i - i / 5);
    let version = if i.is_multiple_of(5) && i > 0 {
        "1.1.0"
    } else {
        "1.0.0"
    };
    let word = |k: usize| WORDS[(i * 7 + k * 3) % WORDS.len()];
    let tags = [TAGS[i % TAGS.len()], TAGS[(i / 3 + 1) % TAGS.len()]];
    json!({
        "template_version": 1,
        "template": {
            "id": id, "version": version,
            "name": format!("{} {} {}", word(0), word(1), i),
            "description": format!("Make a {} of a {} and shape it into a {}.", word(2), word(3), word(4)),
            "tags": tags,
            "parameters": {
                "slug": {"type": "string", "default": "brief", "pattern": "^[a-z][a-z0-9-]*$", "max": 40},
                "sentences": {"type": "integer", "default": 1, "min": 1, "max": 20},
                "keywords": {"type": "integer", "default": 4, "min": 0, "max": 50},
                "headline_max": {"type": "integer", "default": 160, "min": 20, "max": 1000},
                "topic_case": {"type": "string", "default": "uppercase", "enum": ["uppercase", "lowercase"]}
            }
        },
        "workflow": {
            "schema_version": 2, "id": "{{slug}}", "name": "{{slug}}", "version": "1.0.0",
            "metadata": {"author": "bench", "tags": tags},
            "description": "A {{sentences}}-sentence headline and {{keywords}} topics.",
            "nodes": [
                {"id": "summarise", "kind": "instrument", "extension": "mock-llm",
                 "config": {"summary_sentences": "{{sentences}}", "keywords": "{{keywords}}"}},
                {"id": "brief", "kind": "operator", "extension": "json-transform",
                 "config": {"spec": {
                     "require_input": ["$.summary"],
                     "steps": [
                         {"select": {"headline": "$.summary", "topics": {"all": "$.keywords[*]"},
                                     "mood": "$.sentiment.label", "confidence": "$.sentiment.score"}},
                         {"map": {"path": "$.topics[*]", "op": "{{topic_case}}"}},
                         {"map": {"path": "$.headline", "op": "truncate", "max": "{{headline_max}}"}}
                     ],
                     "require_output": ["$.headline", "$.topics"]
                 }}}
            ],
            "edges": [{"from": "summarise", "to": "brief"}]
        }
    })
    .to_string()
}

/// `n` template files in a fresh directory, a hundred per subdirectory.
fn library_dir(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let sub = dir.path().join(format!("group-{:03}", i / 100));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("t{i:05}.json")), template_file(i)).unwrap();
    }
    dir
}

/// The baseline for opening: find the `*.json` files and read their bytes.
fn read_all(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_all(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(std::fs::read(&path).unwrap());
        }
    }
}

/// The baseline for search: lowercase every file's text and look for
/// every word in it.
fn naive_search(texts: &[String], words: &[&str]) -> usize {
    texts
        .iter()
        .filter(|text| {
            let lower = text.to_lowercase();
            words.iter().all(|w| lower.contains(w))
        })
        .count()
}

fn bench(c: &mut criterion::Criterion) {
    for (size, n) in [("1k", 1_000), ("5k", 5_000)] {
        let dir = library_dir(n);
        let library = TemplateLibrary::open([dir.path()]).unwrap();
        assert!(library.errors().is_empty(), "{:?}", library.errors());
        assert_eq!(library.len(), n);

        bench_pair(
            c,
            &format!("templates_open_{size}"),
            || TemplateLibrary::open([dir.path()]).unwrap(),
            || {
                let mut bytes = Vec::with_capacity(n);
                read_all(dir.path(), &mut bytes);
                bytes
            },
        );

        let mut raw = Vec::with_capacity(n);
        read_all(dir.path(), &mut raw);
        let texts: Vec<String> = raw
            .into_iter()
            .map(|b| String::from_utf8(b).unwrap())
            .collect();
        let no_tags: &[&str] = &[];
        assert!(!library.search("keywords review", no_tags, false).is_empty());
        bench_pair(
            c,
            &format!("templates_search_text_{size}"),
            || library.search("keywords review", no_tags, false).len(),
            || naive_search(&texts, &["keywords", "review"]),
        );
        assert!(!library.search("", &["legal"], false).is_empty());
        bench_pair(
            c,
            &format!("templates_search_tag_{size}"),
            || library.search("", &["legal"], false).len(),
            || naive_search(&texts, &["legal"]),
        );

        let reference = format!("tpl-{:05}@^1", n / 2);
        let params = BTreeMap::from([
            ("sentences".to_string(), json!(3)),
            ("keywords".to_string(), json!(7)),
            ("topic_case".to_string(), json!("lowercase")),
        ]);
        let finished = library
            .get(&reference)
            .unwrap()
            .instantiate(&params)
            .unwrap()
            .to_json();
        bench_pair(
            c,
            &format!("templates_instantiate_{size}"),
            || {
                let template = library.get(&reference).unwrap();
                template.instantiate(&params).unwrap()
            },
            || {
                let workflow = Workflow::from_json(&finished, "bench").unwrap();
                workflow.validate_structure().unwrap();
                workflow
            },
        );
    }
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
