//! Splitting text into sentences and words.

/// Words too common to carry meaning in a summary or keyword list.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
];

/// Whether `word` (lowercase) is a stopword.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

/// Folds simple English plurals so "extension" and "extensions" count as
/// one word: `-ies` becomes `-y`, and a final `s` goes unless the word ends
/// in `ss`, `us` or `is` or is short.
pub fn stem(word: &str) -> String {
    if let Some(base) = word.strip_suffix("ies").filter(|b| b.len() > 1) {
        return format!("{base}y");
    }
    let keeps_s = word.len() <= 3
        || ["ss", "us", "is", "'s"]
            .iter()
            .any(|end| word.ends_with(end));
    match word.strip_suffix('s') {
        Some(base) if !keeps_s => base.to_string(),
        _ => word.to_string(),
    }
}

/// Splits text into sentences at `.`, `!` or `?` followed by whitespace or the
/// end, and at blank lines. Sentences are trimmed; empty ones are dropped.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let boundary = match b {
            b'.' | b'!' | b'?' => bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()),
            b'\n' => bytes.get(i + 1) == Some(&b'\n'),
            _ => false,
        };
        if boundary {
            push_trimmed(&mut out, &text[start..=i]);
            start = i + 1;
        }
    }
    push_trimmed(&mut out, &text[start..]);
    out
}

fn push_trimmed<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let s = s.trim();
    if !s.is_empty() {
        out.push(s);
    }
}

/// Lowercase words: runs of alphanumeric characters and apostrophes.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopword_list_is_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sentences_split_on_terminators_but_not_inside_numbers() {
        let s = sentences("Pi is 3.14 roughly. Is it? Yes!  Done");
        assert_eq!(s, ["Pi is 3.14 roughly.", "Is it?", "Yes!", "Done"]);
    }

    #[test]
    fn stem_folds_plurals_but_not_lookalikes() {
        let table = [
            ("extensions", "extension"),
            ("queries", "query"),
            ("class", "class"),
            ("status", "status"),
            ("bus", "bus"),
            ("analysis", "analysis"),
            ("its", "its"),
        ];
        for (word, expected) in table {
            assert_eq!(stem(word), expected, "{word}");
        }
    }

    #[test]
    fn words_are_lowercased_and_keep_contractions() {
        let w: Vec<_> = words("Don't STOP, 'now'").collect();
        assert_eq!(w, ["don't", "stop", "now"]);
    }
}
