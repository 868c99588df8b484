//! What a guest writes to the host log: its `log` import and its stdout and
//! stderr, line by line, through a per-extension rate and size limit.
//!
//! The limit is a token bucket of lines ([`LogLimits`]): a guest may write
//! `burst` lines at once and `lines_per_second` after that; longer lines are
//! cut to `line_bytes`. Lines over the rate are dropped, never queued, so a
//! flood costs the host a counter increment per line, and one note at most
//! each second (and at the end of the call) says how many were dropped.

use std::borrow::Cow;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use symphony_manifest::LogLimits;

/// Longest partial stdout/stderr line kept before it is logged anyway.
const MAX_LINE: usize = 16 * 1024;

/// How often a "lines dropped" note may be written for one extension.
const NOTE_INTERVAL: Duration = Duration::from_secs(1);

/// One extension's budget of log lines. Shared by all its instances.
pub struct LogLimiter {
    extension: Arc<str>,
    limits: LogLimits,
    bucket: Mutex<Bucket>,
    /// Lines dropped since the last note; read without the lock at the end
    /// of every call.
    dropped: AtomicU64,
}

struct Bucket {
    /// Lines that may be written now, up to `burst`.
    tokens: f64,
    refilled: Instant,
    /// When the lines dropped since the last note began to be counted.
    since: Option<Instant>,
}

impl LogLimiter {
    /// A budget of `limits` lines for the extension `extension`.
    pub fn new(extension: Arc<str>, limits: LogLimits) -> Self {
        LogLimiter {
            extension,
            limits,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(limits.burst),
                refilled: Instant::now(),
                since: None,
            }),
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Bucket> {
        // Every update leaves the bucket whole.
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `line`, cut to the size limit, if the rate allows it now; `None`
    /// when it is dropped (and counted).
    pub(crate) fn admit<'a>(&self, line: &'a str) -> Option<Cow<'a, str>> {
        let now = Instant::now();
        let mut bucket = self.lock();
        let rate = f64::from(self.limits.lines_per_second);
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(f64::from(self.limits.burst));
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            drop(bucket);
            return Some(self.cut(line));
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        // The first drop starts the count; a note goes out once it has run
        // a second (and at the end of the call).
        match bucket.since {
            None => bucket.since = Some(now),
            Some(since) if now.duration_since(since) >= NOTE_INTERVAL => {
                bucket.since = Some(now);
                drop(bucket);
                self.note();
            }
            Some(_) => {}
        }
        None
    }

    /// Writes the note for lines dropped since the last one, if any: at the
    /// end of every call, so a flood that stopped is still reported.
    pub fn flush(&self) {
        if self.dropped.load(Ordering::Relaxed) > 0 {
            self.lock().since = None;
            self.note();
        }
    }

    fn note(&self) {
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped == 0 {
            return;
        }
        let LogLimits {
            lines_per_second,
            burst,
            ..
        } = self.limits;
        tracing::warn!(
            target: "symphony::guest",
            extension = %self.extension,
            "{dropped} log lines dropped: over the extension's limit of {lines_per_second} \
             lines/s (bursts of {burst})"
        );
    }

    fn cut<'a>(&self, line: &'a str) -> Cow<'a, str> {
        let max = self.limits.line_bytes;
        if line.len() <= max {
            return Cow::Borrowed(line);
        }
        let mut end = max;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        Cow::Owned(format!(
            "{}… ({} more bytes cut)",
            &line[..end],
            line.len() - end
        ))
    }
}

/// One of an extension's output streams. Clones share the line buffer.
#[derive(Clone)]
pub struct GuestLog {
    limiter: Arc<LogLimiter>,
    stream: &'static str,
    pending: Arc<Mutex<Vec<u8>>>,
}

impl GuestLog {
    pub fn new(limiter: Arc<LogLimiter>, stream: &'static str) -> Self {
        GuestLog {
            limiter,
            stream,
            pending: Arc::default(),
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend_from_slice(bytes);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            self.emit(&line[..line.len() - 1]);
        }
        if pending.len() > MAX_LINE {
            let line = std::mem::take(&mut *pending);
            self.emit(&line);
        }
    }

    fn flush_partial(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if !pending.is_empty() {
            let line = std::mem::take(&mut *pending);
            self.emit(&line);
        }
    }

    fn emit(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
        if let Some(line) = self.limiter.admit(line) {
            let extension = &self.limiter.extension;
            tracing::info!(target: "symphony::guest", extension = %extension, stream = self.stream, "{line}");
        }
    }
}

impl IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestLog {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestLog {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.write_bytes(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        self.flush_partial();
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(MAX_LINE)
    }
}

impl AsyncWrite for GuestLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.flush_partial();
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.flush_partial();
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests;
