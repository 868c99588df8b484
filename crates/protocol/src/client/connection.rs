//! Opening one connection: the socket, the handshake, and (when asked
//! for) the move onto shared memory.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use std::sync::Arc;

use interprocess::local_socket::Stream;
use interprocess::local_socket::traits::Stream as _;

use super::{ClientError, ClientOptions, Transport};
use crate::Message;
use crate::link::{FrameReader, LinkRead, SocketHalf, WRITE_TIMEOUT, shutdown, socket_name};
use crate::messages::{ErrorReply, Hello, Welcome};

/// The read side of a connection and the liveness rules the server set.
pub(super) struct Reader {
    pub(super) frames: FrameReader<Box<dyn LinkRead>>,
    /// Send a heartbeat after this long without writing. The reader wakes
    /// at half this interval, so beats are never further apart than it.
    pub(super) heartbeat: Duration,
    /// The server is gone after this long without a frame.
    pub(super) timeout: Duration,
}

/// What else a connection holds: the socket (under a shared-memory link,
/// kept open so the server sees this process exit) and the ring closer.
pub(super) struct Guard {
    #[cfg(target_os = "linux")]
    closer: Option<crate::shm::ShmCloser>,
    socket: Arc<Stream>,
}

impl Guard {
    /// Wakes anything blocked on the link so the connection winds down.
    pub(super) fn close(self) {
        #[cfg(target_os = "linux")]
        if let Some(closer) = self.closer {
            closer.close();
        }
        shutdown(&self.socket, std::net::Shutdown::Both);
    }
}

pub(super) struct Connection {
    reader: Reader,
    writer: Box<dyn Write + Send>,
    guard: Guard,
}

impl Connection {
    pub(super) fn establish(
        path: &Path,
        name: &str,
        options: &ClientOptions,
    ) -> Result<Connection, ClientError> {
        let connect_error = |source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        };
        let handshake_error = |reason: String| ClientError::Handshake {
            path: path.to_path_buf(),
            reason,
        };
        let stream =
            Stream::connect(socket_name(path).map_err(connect_error)?).map_err(connect_error)?;
        // A server that stops reading fails writes instead of hanging them.
        stream
            .set_send_timeout(Some(WRITE_TIMEOUT))
            .map_err(connect_error)?;
        stream
            .set_recv_timeout(Some(options.handshake_timeout))
            .map_err(connect_error)?;
        let stream = Arc::new(stream);
        let mut send = SocketHalf(stream.clone());
        let hello = Hello {
            peer: name.to_string(),
            shared_memory: options.transport == Transport::SharedMemory,
        };
        let mut hello = hello.to_envelope("bus").map_err(ClientError::Protocol)?;
        if let Some(token) = &options.token {
            hello = hello.with_header(super::TOKEN_HEADER, token.clone());
        }
        let mut frame = Vec::new();
        crate::encode_frame(&hello, &mut frame).map_err(ClientError::Protocol)?;
        send.write_all(&frame).map_err(connect_error)?;

        let mut frames = FrameReader::new(SocketHalf(stream.clone()), options.max_frame);
        let reply = frames
            .next_envelope()
            .map_err(|e| handshake_error(format!("no welcome: {e}")))?;
        if reply.kind == ErrorReply::KIND {
            let reason = ErrorReply::from_envelope(&reply)
                .map(|e| e.message)
                .unwrap_or_else(|e| e.to_string());
            if reply.header(super::ERROR_KIND_HEADER) == Some("denied") {
                return Err(ClientError::Refused {
                    path: path.to_path_buf(),
                    reason,
                });
            }
            return Err(handshake_error(reason));
        }
        let welcome = Welcome::from_envelope(&reply).map_err(|e| handshake_error(e.to_string()))?;
        let heartbeat = Duration::from_millis(welcome.heartbeat_ms.into());
        let timeout = Duration::from_millis(welcome.timeout_ms.into());

        match (options.transport, welcome.shared_memory) {
            (Transport::Socket, None) => {
                stream
                    .set_recv_timeout(Some(heartbeat / 2))
                    .map_err(connect_error)?;
                Ok(Connection {
                    reader: Reader {
                        frames: frames.map_inner(|r| Box::new(r) as Box<dyn LinkRead>),
                        heartbeat,
                        timeout,
                    },
                    writer: Box::new(send),
                    guard: Guard {
                        #[cfg(target_os = "linux")]
                        closer: None,
                        socket: stream,
                    },
                })
            }
            #[cfg(target_os = "linux")]
            (Transport::SharedMemory, Some(region)) => {
                use crate::shm::{ShmRegion, Side};
                let region = ShmRegion::open(Path::new(&region))
                    .map_err(|e| handshake_error(format!("shared memory: {e}")))?;
                let (mut ring_reader, mut ring_writer) = region.split(Side::Client);
                ring_reader.set_timeout(Some(heartbeat / 2));
                ring_writer.set_timeout(Some(WRITE_TIMEOUT));
                Ok(Connection {
                    reader: Reader {
                        frames: FrameReader::new(
                            Box::new(ring_reader) as Box<dyn LinkRead>,
                            options.max_frame,
                        ),
                        heartbeat,
                        timeout,
                    },
                    writer: Box::new(ring_writer),
                    guard: Guard {
                        closer: Some(region.closer()),
                        socket: stream,
                    },
                })
            }
            (Transport::SharedMemory, None) => Err(handshake_error(
                "the server did not offer shared memory (it is only available on Linux)".into(),
            )),
            (Transport::Socket, Some(_)) => Err(handshake_error(
                "the server offered shared memory that was not asked for".into(),
            )),
            #[cfg(not(target_os = "linux"))]
            (Transport::SharedMemory, Some(_)) => Err(handshake_error(
                "shared memory is only available on Linux".into(),
            )),
        }
    }

    pub(super) fn into_parts(self) -> (Reader, Box<dyn Write + Send>, Guard) {
        (self.reader, self.writer, self.guard)
    }
}
