//! Extractive summaries and keywords from word frequencies.

use std::collections::BTreeMap;

use crate::text::{is_stopword, sentences, stem, words};

/// Frequencies of content words (stopwords and one-letter words left out).
fn frequencies(text: &str) -> BTreeMap<String, usize> {
    let mut freq = BTreeMap::new();
    for word in words(text) {
        if word.chars().count() > 1 && !is_stopword(&word) && !word.chars().all(char::is_numeric) {
            *freq.entry(stem(&word)).or_insert(0) += 1;
        }
    }
    freq
}

/// The `count` most frequent content words (plurals folded), most frequent first; ties go to
/// the alphabetically first word so the result is deterministic.
pub fn keywords(text: &str, count: usize) -> Vec<String> {
    let mut ranked: Vec<(String, usize)> = frequencies(text).into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().take(count).map(|(w, _)| w).collect()
}

/// The `count` sentences whose content words are most frequent in the whole
/// text, in their original order. Scores are averaged over a sentence's
/// content words so long sentences do not win by length alone.
pub fn summarise(text: &str, count: usize) -> Vec<String> {
    let freq = frequencies(text);
    let all = sentences(text);
    let mut scored: Vec<(usize, f64)> = all
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let content: Vec<usize> = words(s)
                .filter_map(|w| freq.get(&stem(&w)).copied())
                .collect();
            let score = if content.is_empty() {
                0.0
            } else {
                content.iter().sum::<usize>() as f64 / (content.len() as f64).sqrt()
            };
            (i, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = scored.into_iter().take(count).map(|(i, _)| i).collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| all[i].to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Rust makes systems programming safe. The borrow checker keeps \
        memory safe without a garbage collector. Lunch was pasta. Safe memory and fast \
        code make Rust popular for systems work.";

    #[test]
    fn keywords_rank_by_frequency_then_alphabet() {
        assert_eq!(keywords(TEXT, 3), ["safe", "make", "memory"]);
    }

    #[test]
    fn summary_keeps_central_sentences_in_original_order() {
        let s = summarise(TEXT, 2);
        assert_eq!(s.len(), 2);
        assert!(!s.iter().any(|x| x.contains("pasta")), "{s:?}");
        let first = TEXT.find(&s[0]).unwrap();
        let second = TEXT.find(&s[1]).unwrap();
        assert!(first < second);
    }

    #[test]
    fn summary_of_short_text_is_the_whole_text() {
        assert_eq!(
            summarise("Only one sentence here.", 3),
            ["Only one sentence here."]
        );
        assert!(summarise("", 3).is_empty());
    }
}
