//! The byte links peers and the bus server talk over, and reading frames
//! off them.
//!
//! A link is a byte stream in each direction: a local socket through
//! `interprocess` (a Unix domain socket here, a named pipe on Windows) or,
//! on Linux, a pair of shared-memory rings ([`crate::shm`]). Both carry the
//! same frames, so everything above the link is shared.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use interprocess::local_socket::{GenericFilePath, Name, Stream, ToFsName};

use crate::{Envelope, FrameDecoder, Message, ProtocolError, encode_frame};

/// Why no frame could be read.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The other side closed the link between frames.
    #[error("the connection was closed")]
    Closed,
    /// Nothing arrived within the link's read timeout.
    #[error("nothing arrived within the read timeout")]
    TimedOut,
    /// The link failed.
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
    /// The other side sent bytes that are not a valid frame; the link
    /// cannot be trusted any more.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

const READ_CHUNK: usize = 64 * 1024;

/// Reads frames from a byte stream, however its reads split them.
pub struct FrameReader<R> {
    inner: R,
    /// Bytes read and not yet taken as frames. Each read lands straight in
    /// its spare room; frames are split off it, and their payloads stay
    /// slices of it.
    buf: BytesMut,
    decoder: FrameDecoder,
}

impl<R: LinkRead> FrameReader<R> {
    /// Reads frames of at most `max_frame` bytes from `inner`.
    pub fn new(inner: R, max_frame: usize) -> Self {
        FrameReader {
            inner,
            buf: BytesMut::with_capacity(READ_CHUNK),
            decoder: FrameDecoder::new(max_frame),
        }
    }

    /// The next envelope. A read timeout on the underlying stream comes
    /// back as [`LinkError::TimedOut`] with any partial frame kept, so the
    /// caller can check liveness and call again.
    pub fn next_envelope(&mut self) -> Result<Envelope, LinkError> {
        self.next_taking(None).map(|(envelope, _)| envelope)
    }

    /// [`next_envelope`](Self::next_envelope) for a bus client: the
    /// subscription id the server adds as a header comes back beside the
    /// envelope instead of in it (no header list allocated for it).
    pub(crate) fn next_delivery(&mut self) -> Result<(Envelope, Option<u64>), LinkError> {
        self.next_taking(Some(crate::client::SID_HEADER))
    }

    fn next_taking(&mut self, take: Option<&str>) -> Result<(Envelope, Option<u64>), LinkError> {
        loop {
            if let Some(decoded) = self.decoder.decode_taking(&mut self.buf, take)? {
                return Ok(decoded);
            }
            // Room for a whole chunk: while frames split off the buffer
            // are alive this takes a fresh one, and moves only the part
            // of a frame left over.
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK);
            }
            match self.inner.read_into(&mut self.buf) {
                Ok(0) => {
                    self.decoder.finish(&self.buf)?;
                    return Err(LinkError::Closed);
                }
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(LinkError::TimedOut),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LinkError::Io(e)),
            }
        }
    }

    /// Waits up to `timeout` for something to read: `true` when a whole
    /// frame is already buffered or the link has bytes (or news of its
    /// end), so [`next_envelope`](Self::next_envelope) will not sit out
    /// its stream's read timeout; `false` if `timeout` passed first.
    pub fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool>
    where
        R: LinkRead,
    {
        if self.frame_ready() {
            return Ok(true);
        }
        self.inner.wait_readable(timeout)
    }

    /// Whether a whole frame is already read and waiting, so the next
    /// [`next_envelope`](Self::next_envelope) returns without reading: a
    /// server routing a burst of frames holds back its writes until the
    /// burst is through and then writes each peer's share at once.
    pub fn frame_ready(&self) -> bool {
        crate::frame::declared_len(&self.buf).is_some_and(|len| self.buf.len() >= 4 + len)
    }

    /// The same reader over a wrapped stream, keeping any bytes already
    /// read.
    pub fn map_inner<S>(self, wrap: impl FnOnce(R) -> S) -> FrameReader<S> {
        FrameReader {
            inner: wrap(self.inner),
            buf: self.buf,
            decoder: self.decoder,
        }
    }
}

/// Whether an I/O error is a read or write timeout (platforms report
/// either kind).
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A stream a [`FrameReader`] reads that can also say, within a time
/// limit, whether a read would find something: a thread that reads for
/// itself (a subscriber waiting for its next message) then never waits
/// longer than it was asked to, whatever the stream's own read timeout.
pub trait LinkRead: Read + Send {
    /// Waits up to `timeout` for bytes to read, or for the end of the
    /// stream; `false` if `timeout` passed first.
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool>;

    /// Reads once into `buf`'s spare capacity (which the caller makes
    /// non-empty), appending what came; `Ok(0)` at the end of the stream.
    /// Links override it to read straight into the uninitialised room; this
    /// one zeroes a chunk of it first.
    fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let start = buf.len();
        let room = (buf.capacity() - start).clamp(1, READ_CHUNK);
        buf.resize(start + room, 0);
        let read = self.read(&mut buf[start..]);
        buf.truncate(start + *read.as_ref().unwrap_or(&0));
        read
    }
}

impl<T: LinkRead + ?Sized> LinkRead for Box<T> {
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        (**self).wait_readable(timeout)
    }

    fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        (**self).read_into(buf)
    }
}

/// One end of a local socket, shared by a reading and a writing thread.
#[derive(Clone)]
pub struct SocketHalf(pub Arc<Stream>);

impl Read for SocketHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl LinkRead for SocketHalf {
    #[cfg(target_os = "linux")]
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let Stream::UdSocket(stream) = &*self.0;
        // Past what a timespec holds is as good as forever.
        let timeout = Timespec::try_from(timeout).ok();
        let mut fds = [PollFd::new(stream, PollFlags::IN)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(ready) => Ok(ready > 0),
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Elsewhere a read waits at most the socket's own read timeout.
    #[cfg(not(target_os = "linux"))]
    fn wait_readable(&mut self, _timeout: Duration) -> io::Result<bool> {
        Ok(true)
    }

    #[cfg(target_os = "linux")]
    fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let Stream::UdSocket(stream) = &*self.0;
        let n = loop {
            match rustix::io::read(stream, buf.spare_capacity_mut()) {
                Ok((read, _)) => break read.len(),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        };
        // SAFETY: `read` initialised the first `n` bytes of the spare
        // capacity (it returned them as a `&mut [u8]`).
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }
}

impl Write for SocketHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self.0).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How long a write may wait on a peer that stopped reading before it
/// fails: the send timeout of sockets and the write timeout of rings, on
/// both sides of a connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Writes one bus message (a [`Message`] addressed to `bus`) as a frame.
pub fn write_message<M: Message>(out: &mut impl Write, message: &M) -> io::Result<()> {
    let mut frame = Vec::new();
    message
        .to_envelope("bus")
        .and_then(|envelope| encode_frame(&envelope, &mut frame))
        .map_err(|e| io::Error::other(e.to_string()))?;
    out.write_all(&frame)
}

/// Shuts a local socket down, waking any thread blocked on the parts shut.
pub fn shutdown(stream: &Stream, how: std::net::Shutdown) {
    #[cfg(unix)]
    {
        let Stream::UdSocket(stream) = stream;
        let _ = stream.inner().shutdown(how);
    }
    #[cfg(not(unix))]
    let _ = (stream, how);
}

/// The local-socket name for a filesystem path.
pub fn socket_name(path: &Path) -> io::Result<Name<'_>> {
    path.to_fs_name::<GenericFilePath>()
}

#[cfg(test)]
mod tests;
