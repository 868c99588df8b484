//! Lexicon sentiment with negation.

use crate::text::words;

const POSITIVE: &[&str] = &[
    "amazing",
    "awesome",
    "beautiful",
    "best",
    "better",
    "brilliant",
    "clean",
    "clear",
    "delight",
    "delightful",
    "easy",
    "effective",
    "efficient",
    "elegant",
    "enjoy",
    "excellent",
    "fantastic",
    "fast",
    "fine",
    "fun",
    "glad",
    "good",
    "great",
    "happy",
    "helpful",
    "impressive",
    "improve",
    "improved",
    "love",
    "nice",
    "perfect",
    "pleasant",
    "powerful",
    "quick",
    "reliable",
    "robust",
    "safe",
    "simple",
    "smooth",
    "solid",
    "stable",
    "success",
    "successful",
    "superb",
    "useful",
    "well",
    "win",
    "wonderful",
];

const NEGATIVE: &[&str] = &[
    "annoying",
    "awful",
    "bad",
    "broken",
    "buggy",
    "confusing",
    "crash",
    "crashed",
    "crashes",
    "difficult",
    "disappointing",
    "error",
    "errors",
    "fail",
    "failed",
    "failure",
    "fragile",
    "hard",
    "hate",
    "horrible",
    "lose",
    "lost",
    "messy",
    "poor",
    "problem",
    "problems",
    "sad",
    "slow",
    "terrible",
    "ugly",
    "unclear",
    "unreliable",
    "unstable",
    "unusable",
    "useless",
    "worse",
    "worst",
    "wrong",
];

const NEGATORS: &[&str] = &["never", "no", "not", "nothing", "without"];

/// The sentiment of a text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sentiment {
    /// `positive`, `negative` or `neutral`.
    pub label: &'static str,
    /// From -1 (all negative) to 1 (all positive).
    pub score: f64,
    /// Lexicon words found, after negation.
    pub positive: usize,
    /// Lexicon words found, after negation.
    pub negative: usize,
}

/// Counts lexicon words; a negator up to two words before flips a word.
pub fn analyse(text: &str) -> Sentiment {
    let (mut positive, mut negative) = (0usize, 0usize);
    let mut since_negator = usize::MAX;
    for word in words(text) {
        let negated = since_negator <= 2;
        let polarity = if POSITIVE.binary_search(&word.as_str()).is_ok() {
            1
        } else if NEGATIVE.binary_search(&word.as_str()).is_ok() {
            -1
        } else {
            0
        };
        match (polarity, negated) {
            (1, false) | (-1, true) => positive += 1,
            (-1, false) | (1, true) => negative += 1,
            _ => {}
        }
        if NEGATORS.contains(&word.as_str()) || word.ends_with("n't") {
            since_negator = 0;
        } else {
            since_negator = since_negator.saturating_add(1);
        }
    }
    let total = positive + negative;
    let score = if total == 0 {
        0.0
    } else {
        (positive as f64 - negative as f64) / total as f64
    };
    let label = if score > 0.2 {
        "positive"
    } else if score < -0.2 {
        "negative"
    } else {
        "neutral"
    };
    Sentiment {
        label,
        score: (score * 1000.0).round() / 1000.0,
        positive,
        negative,
    }
}

/// How many words the lexicon knows.
pub fn lexicon_size() -> usize {
    POSITIVE.len() + NEGATIVE.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicons_are_sorted_for_binary_search() {
        assert!(POSITIVE.windows(2).all(|w| w[0] < w[1]));
        assert!(NEGATIVE.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn praise_is_positive_and_complaints_negative() {
        assert_eq!(
            analyse("A great, fast and reliable tool.").label,
            "positive"
        );
        assert_eq!(analyse("Slow, buggy and it crashes.").label, "negative");
        assert_eq!(analyse("The meeting is on Tuesday.").label, "neutral");
    }

    #[test]
    fn negation_flips_the_next_words() {
        let s = analyse("This is not good at all.");
        assert_eq!((s.positive, s.negative), (0, 1));
        let s = analyse("It isn't slow.");
        assert_eq!((s.positive, s.negative), (1, 0));
    }
}
