//! The artifact search index at 100,000 artifacts: one word plus a tag
//! filter, first page of 20 hits with highlights, against a linear scan
//! of the same texts in memory (`memchr::memmem` for the word, a tag check
//! per artifact) that finds the same 20 first matches — the cost of not
//! having an index.

use std::time::Instant;

use criterion::{criterion_group, criterion_main};
use symphony_benches::{bench_pair, criterion, percentiles, xorshift};
use symphony_host::artifacts::{IndexDoc, SearchIndex, SearchQuery};

const DOCS: usize = 100_000;
/// Words per artifact text.
const WORDS_PER_DOC: usize = 48;
const VOCABULARY: usize = 2_000;
const TAGS: [&str; 8] = [
    "draft", "final", "golden", "training", "eval", "report", "cache", "export",
];
const CONTENT_TYPES: [&str; 4] = [
    "text/plain",
    "text/markdown",
    "application/json",
    "text/csv",
];
const PAGE: usize = 20;

/// `VOCABULARY` distinct pronounceable words of two or three syllables.
fn vocabulary() -> Vec<String> {
    const SYLLABLES: [&str; 20] = [
        "ka", "lo", "mi", "ten", "ra", "su", "vel", "do", "pi", "gar", "no", "fe", "zu", "ri",
        "mon", "tas", "bel", "cu", "hi", "wo",
    ];
    let mut words: Vec<String> = Vec::with_capacity(VOCABULARY);
    let mut seen = std::collections::HashSet::new();
    let mut next = xorshift();
    while words.len() < VOCABULARY {
        let n = 2 + next(2);
        let word: String = (0..n).map(|_| SYLLABLES[next(SYLLABLES.len())]).collect();
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// One synthetic artifact per `i`: words drawn with a skew (a few words are
/// common, most are rare, as in real text), one or two tags, a content type
/// and a creation time.
fn documents(words: &[String]) -> Vec<(IndexDoc, Vec<usize>)> {
    let mut next = xorshift();
    (0..DOCS)
        .map(|i| {
            let text: Vec<&str> = (0..WORDS_PER_DOC)
                .map(|_| {
                    // The minimum of two draws favours low ranks.
                    let rank = next(VOCABULARY).min(next(VOCABULARY));
                    words[rank].as_str()
                })
                .collect();
            let mut tags = vec![next(TAGS.len())];
            if next(2) == 0 {
                let second = next(TAGS.len());
                if second != tags[0] {
                    tags.push(second);
                }
            }
            let doc = IndexDoc {
                id: format!("{i:064x}"),
                // Names stay out of the vocabulary, so the word matches
                // the same artifacts in the index as in the scan.
                names: vec![format!("artifact-{i}@1")],
                content_type: Some(CONTENT_TYPES[next(CONTENT_TYPES.len())].into()),
                creator: Some(format!("user{}", next(50))),
                tags: tags.iter().map(|&t| TAGS[t].to_string()).collect(),
                fields: vec![("run".into(), format!("r{}", next(1000)))],
                created_ms: 1_700_000_000_000 + i as i64 * 60_000,
                text: Some(text.join(" ")),
            };
            (doc, tags)
        })
        .collect()
}

/// The baseline: scan every text for ` word ` and check the tag, keeping
/// the first `PAGE` matches and counting them all.
fn scan(
    texts: &[String],
    tags: &[Vec<usize>],
    finder: &memchr::memmem::Finder<'_>,
    tag: usize,
) -> (usize, Vec<usize>) {
    let mut total = 0;
    let mut first = Vec::with_capacity(PAGE);
    for (i, text) in texts.iter().enumerate() {
        if tags[i].contains(&tag) && finder.find(text.as_bytes()).is_some() {
            total += 1;
            if first.len() < PAGE {
                first.push(i);
            }
        }
    }
    (total, first)
}

fn bench(c: &mut criterion::Criterion) {
    let words = vocabulary();
    let docs = documents(&words);
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path().join("search")).unwrap();
    let started = Instant::now();
    index.rebuild(docs.iter().map(|(d, _)| d.clone())).unwrap();
    println!(
        "artifact_search: indexed {DOCS} artifacts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(index.len().unwrap(), DOCS as u64);

    // A mid-frequency word: in a few percent of the artifacts.
    let word = words[300].as_str();
    let tag = 2;
    let query = SearchQuery {
        text: word.to_string(),
        tags: vec![TAGS[tag].to_string()],
        limit: PAGE,
        ..SearchQuery::default()
    };
    // Padded with spaces, so the scan matches whole words like the index.
    let texts: Vec<String> = docs
        .iter()
        .map(|(d, _)| format!(" {} ", d.text.as_deref().unwrap_or_default()))
        .collect();
    let doc_tags: Vec<Vec<usize>> = docs.into_iter().map(|(_, t)| t).collect();
    let needle = format!(" {word} ");
    let finder = memchr::memmem::Finder::new(needle.as_bytes());

    let page = index.search(&query).unwrap();
    let (scan_total, _) = scan(&texts, &doc_tags, &finder, tag);
    assert_eq!(page.total, scan_total, "both find the same artifacts");
    assert_eq!(page.hits.len(), PAGE);
    assert!(page.hits.iter().all(|h| h.highlight.is_some()));
    println!(
        "artifact_search: '{word}' + tag '{}' matches {} of {DOCS}",
        TAGS[tag], page.total
    );

    bench_pair(
        c,
        "artifact_search_100k",
        || index.search(&query).unwrap(),
        || scan(&texts, &doc_tags, &finder, tag),
    );
    percentiles("artifact_search_100k (ours)", 2_000, || {
        std::hint::black_box(index.search(&query).unwrap());
    });
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
