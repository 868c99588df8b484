//! Line-aware mutation of `key = value` text such as TOML: whole lines
//! moved, copied, dropped or taken from a list of lines worth trying, and
//! values or keys swapped for others.

use super::Rng;

/// One line-level mutation of the text in `data` (read as lossy UTF-8),
/// drawing new lines from `lines` and new values from `values`. Returns
/// `false` when it did nothing.
pub fn mutate_lines(rng: &mut Rng, data: &mut Vec<u8>, lines: &[&str], values: &[&str]) -> bool {
    let text = String::from_utf8_lossy(data).into_owned();
    let mut rows: Vec<String> = text.split('\n').map(str::to_string).collect();
    let n = rows.len();
    let at = rng.below(n);
    match rng.below(7) {
        0 if n > 1 => {
            rows.remove(at);
        }
        1 => {
            let copy = rows[rng.below(n)].clone();
            rows.insert(rng.below(n + 1), copy);
        }
        2 if n > 1 => rows.swap(at, rng.below(n)),
        3 => match rng.pick(lines) {
            Some(line) => rows.insert(rng.below(n + 1), line.to_string()),
            None => return false,
        },
        4 => {
            // A new value after the `=` of a line that has one.
            let Some(value) = rng.pick(values) else {
                return false;
            };
            let with_eq: Vec<usize> = (0..n).filter(|&i| rows[i].contains('=')).collect();
            let Some(&i) = rng.pick(&with_eq) else {
                return false;
            };
            let key = rows[i].split('=').next().unwrap_or("").to_string();
            rows[i] = format!("{key}= {value}");
        }
        5 => {
            // The key of one line with the value of another.
            let with_eq: Vec<usize> = (0..n).filter(|&i| rows[i].contains('=')).collect();
            let (Some(&a), Some(&b)) = (rng.pick(&with_eq), rng.pick(&with_eq)) else {
                return false;
            };
            let key = rows[a].split('=').next().unwrap_or("").to_string();
            let value = rows[b].split_once('=').map_or("", |(_, v)| v).to_string();
            rows[a] = format!("{key}={value}");
        }
        _ => {
            // Move a block of lines elsewhere (a table to another place).
            let len = 1 + rng.below(4.min(n));
            let from = rng.below(n + 1 - len);
            let block: Vec<String> = rows.drain(from..from + len).collect();
            let to = rng.below(rows.len() + 1);
            rows.splice(to..to, block);
        }
    }
    *data = rows.join("\n").into_bytes();
    true
}

#[cfg(test)]
mod tests;
