//! Quality scores: how well-formed an artifact is (judged once, when it is
//! stored) and how much it is used (judged whenever it is reported). The
//! Stale Manager keeps good artifacts longer.

use serde::Serialize;

/// How much of the content is kept for judging structure and for the search
/// index; JSON validity is judged only for content that fits.
pub(crate) const SAMPLE_LIMIT: usize = 1 << 20;

/// The weight of structure in [`Quality::score`]; usage has the rest.
const STRUCTURE_WEIGHT: f64 = 0.6;
/// Uses (reads, plus twice the references) at which usage reaches 63%.
const USAGE_SCALE: f64 = 10.0;

/// An artifact's quality, each part in `0.0..=1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    /// Form: empty 0, binary 0.5, UTF-8 text 0.7, valid JSON 1.0, content
    /// typed as JSON that does not parse 0.2; halved under 16 bytes.
    pub structure: f64,
    /// Use: `1 - e^-(reads + 2 × references) / 10`.
    pub usage: f64,
    /// `0.6 × structure + 0.4 × usage`.
    pub score: f64,
}

impl Quality {
    /// Combines a structure score with the usage counts.
    pub(crate) fn new(structure: f64, access_count: u64, references: u64) -> Quality {
        let uses = access_count as f64 + 2.0 * references as f64;
        let usage = 1.0 - (-uses / USAGE_SCALE).exp();
        Quality {
            structure,
            usage,
            score: STRUCTURE_WEIGHT * structure + (1.0 - STRUCTURE_WEIGHT) * usage,
        }
    }
}

/// Judges the form of content of `size` bytes whose first bytes are
/// `sample` (all of it when `size <= SAMPLE_LIMIT`).
pub(crate) fn structure(sample: &[u8], size: u64, content_type: Option<&str>) -> f64 {
    if size == 0 {
        return 0.0;
    }
    let complete = size as usize == sample.len();
    let text = match std::str::from_utf8(sample) {
        Ok(text) => Some(text),
        // A multi-byte character cut at the sample's end is still text.
        Err(e) if !complete && e.error_len().is_none() => {
            std::str::from_utf8(&sample[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    };
    let typed_json = content_type.is_some_and(|t| t.contains("json"));
    let score = match text {
        None => 0.5,
        Some(text) => {
            let looks_json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
            if complete && (typed_json || looks_json) {
                if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                    1.0
                } else if typed_json {
                    0.2
                } else {
                    0.7
                }
            } else {
                0.7
            }
        }
    };
    if size < 16 { score / 2.0 } else { score }
}

#[cfg(test)]
mod tests;
