//! Encryption at rest: AES-256-GCM over a chunked stream.
//!
//! An encrypted object is a header followed by sealed chunks:
//!
//! ```text
//! header: "SYMA" | version u8 = 1 | chunk size u32 LE | nonce prefix [u8; 8]
//! chunk:  ciphertext (≤ chunk size bytes) | tag [u8; 16]
//! ```
//!
//! Chunk `i` is sealed with nonce `prefix ‖ i as u32 BE` and associated data
//! `header ‖ final flag`, where the flag is 1 only for the last chunk. So
//! flipping any header byte, editing or swapping chunks, truncating the last
//! chunk, dropping it or appending after it all fail authentication. The
//! prefix is random per object, so nonces are never reused under one key
//! (2^64 objects of up to 2^32 chunks each). Every object has at least one
//! chunk: empty content is one empty final chunk.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use super::ArtifactError;

/// The environment variable that holds an artifact key as 64 hex digits.
pub const ARTIFACT_KEY_ENV: &str = "SYMPHONY_ARTIFACT_KEY";

const MAGIC: &[u8; 4] = b"SYMA";
const VERSION: u8 = 1;
/// Plaintext bytes per chunk written by this version.
pub(crate) const CHUNK_SIZE: usize = 64 * 1024;
/// The largest chunk size a reader accepts from a header (bounds allocation).
const MAX_CHUNK_SIZE: usize = 1 << 20;
pub(crate) const HEADER_LEN: usize = 4 + 1 + 4 + 8;
pub(crate) const TAG_LEN: usize = 16;

/// A 256-bit key for encrypting a store's objects at rest.
///
/// Read it from a key file ([`ArtifactKey::from_file`]) or the environment
/// ([`ArtifactKey::from_env`]); its `Debug` output never shows the key.
#[derive(Clone)]
pub struct ArtifactKey([u8; 32]);

impl fmt::Debug for ArtifactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArtifactKey(<redacted>)")
    }
}

impl ArtifactKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ArtifactKey {
        ArtifactKey(bytes)
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Result<ArtifactKey, ArtifactError> {
        let mut bytes = [0; 32];
        getrandom::fill(&mut bytes).map_err(|e| ArtifactError::BadKey {
            origin: "the system random generator".into(),
            problem: e.to_string(),
        })?;
        Ok(ArtifactKey(bytes))
    }

    /// A key from 64 hex digits (surrounding whitespace ignored); `origin`
    /// names where the text came from in errors.
    pub fn from_hex(text: &str, origin: &str) -> Result<ArtifactKey, ArtifactError> {
        let bad = |problem: &str| ArtifactError::BadKey {
            origin: origin.to_string(),
            problem: problem.to_string(),
        };
        let text = text.trim().as_bytes();
        if text.len() != 64 {
            return Err(bad("expected 64 hex digits (32 bytes)"));
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks(2)) {
            let digit = |c: u8| (c as char).to_digit(16).ok_or_else(|| bad("not hex"));
            *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Ok(ArtifactKey(bytes))
    }

    /// A key from a file holding either exactly 32 raw bytes or 64 hex digits.
    pub fn from_file(path: &Path) -> Result<ArtifactKey, ArtifactError> {
        let origin = format!("file {}", path.display());
        let bytes = std::fs::read(path).map_err(|e| ArtifactError::BadKey {
            origin: origin.clone(),
            problem: e.to_string(),
        })?;
        if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(ArtifactKey(raw));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| ArtifactError::BadKey {
            origin: origin.clone(),
            problem: "expected 32 raw bytes or 64 hex digits".into(),
        })?;
        ArtifactKey::from_hex(text, &origin)
    }

    /// The key in [`ARTIFACT_KEY_ENV`] (`SYMPHONY_ARTIFACT_KEY`, 64 hex digits), or
    /// `None` when it is unset or empty.
    pub fn from_env() -> Result<Option<ArtifactKey>, ArtifactError> {
        match std::env::var(ARTIFACT_KEY_ENV) {
            Ok(text) if text.trim().is_empty() => Ok(None),
            Ok(text) => {
                ArtifactKey::from_hex(&text, &format!("environment variable {ARTIFACT_KEY_ENV}"))
                    .map(Some)
            }
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ArtifactError::BadKey {
                origin: format!("environment variable {ARTIFACT_KEY_ENV}"),
                problem: "not valid UTF-8".into(),
            }),
        }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

fn nonce(prefix: &[u8; 8], counter: u32) -> [u8; 12] {
    let mut nonce = [0; 12];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

fn aad(header: &[u8; HEADER_LEN], last: bool) -> [u8; HEADER_LEN + 1] {
    let mut aad = [0; HEADER_LEN + 1];
    aad[..HEADER_LEN].copy_from_slice(header);
    aad[HEADER_LEN] = u8::from(last);
    aad
}

/// The plaintext length of an encrypted object `stored` bytes long, if it
/// has the shape this version writes.
pub(crate) fn plaintext_len(stored: u64) -> Option<u64> {
    let body = stored.checked_sub(HEADER_LEN as u64)?;
    let record = (CHUNK_SIZE + TAG_LEN) as u64;
    let chunks = body.div_ceil(record).max(1);
    body.checked_sub(chunks * TAG_LEN as u64)
}

/// Encrypts a stream into `out`; call [`Sealer::finish`] to seal the last chunk.
pub(crate) struct Sealer<W: Write> {
    out: W,
    cipher: Aes256Gcm,
    header: [u8; HEADER_LEN],
    prefix: [u8; 8],
    counter: u32,
    /// Plaintext of the chunk being filled; it is sealed only once more data
    /// arrives (not final) or at `finish` (final).
    buf: Vec<u8>,
}

impl<W: Write> Sealer<W> {
    /// Writes the header with a fresh random nonce prefix.
    pub(crate) fn new(mut out: W, key: &ArtifactKey) -> io::Result<Self> {
        let mut prefix = [0; 8];
        getrandom::fill(&mut prefix).map_err(io::Error::other)?;
        let mut header = [0; HEADER_LEN];
        header[..4].copy_from_slice(MAGIC);
        header[4] = VERSION;
        header[5..9].copy_from_slice(&(CHUNK_SIZE as u32).to_le_bytes());
        header[9..].copy_from_slice(&prefix);
        out.write_all(&header)?;
        Ok(Sealer {
            out,
            cipher: key.cipher(),
            header,
            prefix,
            counter: 0,
            buf: Vec::with_capacity(CHUNK_SIZE),
        })
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let nonce = nonce(&self.prefix, self.counter);
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &aad(&self.header, last),
                &mut self.buf,
            )
            .map_err(|_| io::Error::other("AES-GCM sealing failed"))?;
        self.out.write_all(&self.buf)?;
        self.out.write_all(&tag)?;
        self.buf.clear();
        self.counter = self.counter.checked_add(1).ok_or_else(|| {
            io::Error::other("artifact too large to encrypt: more than 2^32 chunks")
        })?;
        Ok(())
    }

    /// Seals the final chunk and returns the destination.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() == CHUNK_SIZE {
            self.seal(false)?;
        }
        let take = data.len().min(CHUNK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts and authenticates a stream chunk by chunk; only authenticated
/// plaintext is ever returned. Failures are [`ArtifactError::Integrity`]
/// inside the `io::Error`.
pub(crate) struct Opener<R: Read> {
    inp: BufReader<R>,
    id: String,
    cipher: Aes256Gcm,
    header: [u8; HEADER_LEN],
    prefix: [u8; 8],
    counter: u32,
    chunk_size: usize,
    /// The current authenticated chunk's plaintext, and how much is read.
    buf: Vec<u8>,
    pos: usize,
    /// The final chunk has been authenticated.
    done: bool,
}

impl<R: Read> Opener<R> {
    /// Reads and checks the header of artifact `id`.
    pub(crate) fn new(inp: R, key: &ArtifactKey, id: &str) -> io::Result<Self> {
        let mut inp = BufReader::with_capacity(CHUNK_SIZE + TAG_LEN, inp);
        let mut header = [0; HEADER_LEN];
        if read_full(&mut inp, &mut header)? < HEADER_LEN {
            return Err(ArtifactError::integrity_io(id, "the header is truncated"));
        }
        if &header[..4] != MAGIC || header[4] != VERSION {
            return Err(ArtifactError::integrity_io(
                id,
                "the header is not an encrypted artifact of version 1",
            ));
        }
        let chunk_size = u32::from_le_bytes(header[5..9].try_into().expect("4 bytes")) as usize;
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(ArtifactError::integrity_io(
                id,
                "the header's chunk size is invalid",
            ));
        }
        Ok(Opener {
            inp,
            id: id.to_string(),
            cipher: key.cipher(),
            prefix: header[9..].try_into().expect("8 bytes"),
            header,
            counter: 0,
            chunk_size,
            buf: Vec::with_capacity(chunk_size + TAG_LEN),
            pos: 0,
            done: false,
        })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let record = self.chunk_size + TAG_LEN;
        self.buf.resize(record, 0);
        let got = read_full(&mut self.inp, &mut self.buf)?;
        let last = got < record || self.inp.fill_buf()?.is_empty();
        let chunk = self.counter;
        if got < TAG_LEN {
            return Err(ArtifactError::integrity_io(
                &self.id,
                format!("chunk {chunk} is truncated or missing"),
            ));
        }
        let body = got - TAG_LEN;
        let tag = *Tag::from_slice(&self.buf[body..got]);
        self.buf.truncate(body);
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce(&self.prefix, chunk)),
                &aad(&self.header, last),
                &mut self.buf,
                &tag,
            )
            .map_err(|_| {
                ArtifactError::integrity_io(
                    &self.id,
                    format!("chunk {chunk} does not authenticate"),
                )
            })?;
        self.pos = 0;
        self.done = last;
        self.counter = chunk
            .checked_add(1)
            .ok_or_else(|| ArtifactError::integrity_io(&self.id, "more than 2^32 chunks"))?;
        Ok(())
    }
}

impl<R: Read> Read for Opener<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(inp: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match inp.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests;
