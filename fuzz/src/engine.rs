//! The smoke fuzzer: a small deterministic mutational fuzzer that runs any
//! [`Target`] on the stable toolchain.
//!
//! It runs the target's seed corpus first, then mutants of the corpus
//! until its time is up. A mutant that shows a [feature](Outcome::features)
//! no earlier input showed joins the corpus, standing in for the coverage
//! feedback libFuzzer gets from instrumentation; half the mutants start
//! from an input the code under test accepted, so the checks behind its
//! parsers keep being reached. Mutations are byte-level (bit flips,
//! interesting values, splices, range copies), dictionary tokens from the
//! target, and the target's own structure-aware [`Target::mutate`] hints.
//! Everything is drawn from one seeded [`Rng`], so a seed replays the same
//! inputs (how many fit in the time aside).

pub mod json;
mod mutate;
pub mod text;

pub use mutate::mutant;

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Largest input the smoke fuzzer builds unless a target asks for less;
/// libFuzzer's default is 4 KiB.
pub const MAX_INPUT: usize = 16 << 10;
/// Largest corpus the smoke fuzzer keeps per target.
const MAX_CORPUS: usize = 1024;
/// Stack of the thread the smoke fuzzer runs a target on: the size of a
/// main thread on Linux, where libFuzzer runs, rather than the 2 MiB of a
/// test thread, so a deep but bounded recursion behaves the same in both.
const STACK: usize = 8 << 20;

/// A fuzz target: a body that checks properties of the code under test for
/// any input, and what the smoke fuzzer needs to drive it.
///
/// The body must never panic except to report a bug: a panic is a failed
/// property (or a crash of the code under test) and is reported with the
/// input in hex.
pub trait Target: Sync {
    /// The target's name: its cargo-fuzz binary and its directory under
    /// `corpus/`, e.g. `frame_decoder`.
    fn name(&self) -> &'static str;

    /// The seed inputs, each named as its file under `corpus/<name>/`
    /// (names start with `seed-`).
    fn seeds(&self) -> Vec<(&'static str, Vec<u8>)>;

    /// Runs the target on `data`, checking its properties; panics on a
    /// violation.
    fn run(&self, data: &[u8]) -> Outcome;

    /// Tokens worth inserting: keywords, delimiters, edge values.
    fn dictionary(&self) -> &'static [&'static [u8]] {
        &[]
    }

    /// A mutation that knows the input's structure (a frame's length
    /// field, a JSON value, an operation list); returns `false` when it
    /// did nothing, and a generic mutation is used instead.
    fn mutate(&self, rng: &mut Rng, data: &mut Vec<u8>) -> bool {
        let _ = (rng, data);
        false
    }

    /// Largest input the smoke fuzzer builds for this target.
    fn max_input(&self) -> usize {
        MAX_INPUT
    }
}

/// What one run of a target saw.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Coarse fingerprints of what happened (which errors, which shapes of
    /// accepted input), standing in for coverage: an input showing a new
    /// one is kept in the smoke corpus.
    pub features: Vec<u64>,
    /// Things the code under test accepted: documents that parsed,
    /// operations that succeeded.
    pub accepted: u64,
    /// Things it rejected with an error (as it should have: the target
    /// checks that too).
    pub rejected: u64,
}

impl Outcome {
    /// Records a feature named by `parts`.
    pub fn feature(&mut self, parts: &[&str]) {
        let mut hash = FNV_OFFSET;
        for part in parts {
            hash = fnv1a_from(hash, part.as_bytes());
            hash = fnv1a_from(hash, &[0xff]);
        }
        self.features.push(hash);
    }

    /// Records the shape of an error message as a feature (see
    /// [`shape`]), under `kind`.
    pub fn error(&mut self, kind: &str, message: &str) {
        let shaped = shape(message);
        self.features
            .push(fnv1a(kind.as_bytes()) ^ shaped.rotate_left(7));
    }
}

/// What a [`smoke`] run did.
#[derive(Debug, Clone)]
pub struct SmokeReport {
    /// The target's name.
    pub target: &'static str,
    /// Inputs run through the target.
    pub runs: u64,
    /// Wall-clock time the run took.
    pub elapsed: Duration,
    /// The seed the mutations were drawn from; the same seed replays the
    /// same inputs.
    pub seed: u64,
    /// [`Outcome::accepted`], summed over all runs.
    pub accepted: u64,
    /// [`Outcome::rejected`], summed over all runs.
    pub rejected: u64,
    /// Distinct features seen.
    pub features: usize,
    /// Inputs in the corpus at the end: the seeds plus the mutants kept
    /// because they showed a new feature.
    pub corpus: usize,
}

/// Runs `target` on its seed corpus, then on mutants of it, until
/// `duration` has passed (the seeds and one mutant always run). Deterministic for a given
/// `seed`, apart from how many inputs fit in the time. Runs on a thread of
/// its own with a main thread's stack.
///
/// # Panics
///
/// When the target panics: the message names the target, the input in
/// hex, the seed and the run number.
pub fn smoke(target: &dyn Target, duration: Duration, seed: u64) -> SmokeReport {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name(format!("smoke-{}", target.name()))
            .stack_size(STACK)
            .spawn_scoped(scope, || smoke_here(target, duration, seed))
            .expect("spawning the smoke thread");
        match worker.join() {
            Ok(report) => report,
            Err(payload) => panic::resume_unwind(payload),
        }
    })
}

fn smoke_here(target: &dyn Target, duration: Duration, seed: u64) -> SmokeReport {
    let start = Instant::now();
    let mut rng = Rng::new(seed);
    let mut corpus: Vec<Vec<u8>> = target.seeds().into_iter().map(|(_, b)| b).collect();
    let seeds = corpus.len();
    // Inputs the code under test accepted: half the mutants start from
    // one, so the checks behind the parsers keep being reached.
    let mut accepted: Vec<usize> = Vec::new();
    let mut seen = HashSet::new();
    let mut report = SmokeReport {
        target: target.name(),
        runs: 0,
        elapsed: Duration::ZERO,
        seed,
        accepted: 0,
        rejected: 0,
        features: 0,
        corpus: 0,
    };
    loop {
        let runs = report.runs as usize;
        // The seeds and at least one mutant always run.
        if runs > seeds && start.elapsed() >= duration {
            break;
        }
        let input = if runs < seeds {
            corpus[runs].clone()
        } else {
            let base = match rng.pick(&accepted) {
                Some(&i) if rng.one_in(2) => i,
                _ => rng.below(corpus.len()),
            };
            mutate::mutant_of(target, &mut rng, &corpus[base], &corpus)
        };
        let outcome = match panic::catch_unwind(AssertUnwindSafe(|| target.run(&input))) {
            Ok(outcome) => outcome,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(non-string panic payload)");
                panic!(
                    "fuzz smoke: {} panicked (seed {seed}, run {runs}) on a {}-byte input: {message}\ninput hex: {}",
                    target.name(),
                    input.len(),
                    hex(&input)
                );
            }
        };
        report.runs += 1;
        report.accepted += outcome.accepted;
        report.rejected += outcome.rejected;
        let mut new = false;
        for feature in outcome.features {
            new |= seen.insert(feature);
        }
        let slot = if runs < seeds {
            Some(runs)
        } else if !new {
            None
        } else if corpus.len() < MAX_CORPUS {
            corpus.push(input);
            Some(corpus.len() - 1)
        } else {
            let slot = seeds + rng.below(MAX_CORPUS - seeds);
            accepted.retain(|&i| i != slot);
            corpus[slot] = input;
            Some(slot)
        };
        if let Some(slot) = slot
            && outcome.accepted > 0
        {
            accepted.push(slot);
        }
    }
    report.elapsed = start.elapsed();
    report.features = seen.len();
    report.corpus = corpus.len();
    report
}

/// A coarse fingerprint of a message: the text up to its first quoted
/// value, digits left out, so messages differing only in names, lengths or
/// positions do not look new.
pub fn shape(message: &str) -> u64 {
    let kept: String = message
        .chars()
        .take_while(|c| !matches!(c, '"' | '`' | '\''))
        .filter(|c| !c.is_ascii_digit())
        .collect();
    fnv1a(kept.as_bytes())
}

/// `bytes` in lowercase hex, for panic messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The 64-bit FNV-1a hash of `bytes`: cheap, stable across builds.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(FNV_OFFSET, bytes)
}

fn fnv1a_from(start: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(start, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// xorshift64*: small, fast and good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`; nearby seeds diverge at once.
    pub fn new(seed: u64) -> Self {
        // Scramble so nearby seeds diverge; the state must not be zero.
        let state = (seed ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        Rng(if state == 0 { 1 } else { state })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A random element of `items`, `None` when it is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

#[cfg(test)]
mod tests;
