//! NATS as a baseline: a `nats-server` started for the bench, and the
//! smallest client of its text protocol that publishes and subscribes the
//! way NATS's own clients do (frames gathered in a buffer, one write per
//! buffer; a reader that parses `MSG` lines from a buffered stream).
//!
//! `cargo xtask bench` installs Debian's nats-server and names it in
//! `SYMPHONY_NATS_SERVER`; run without it, the NATS lines say they were
//! not measured.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A nats-server bound to 127.0.0.1 on a free port; killed on drop.
pub struct NatsServer {
    child: Child,
    /// Its client port.
    pub port: u16,
}

impl NatsServer {
    /// Starts the server `SYMPHONY_NATS_SERVER` names, or `None` (and says
    /// why) when there is none.
    pub fn start() -> Option<NatsServer> {
        let Some(program) = std::env::var_os("SYMPHONY_NATS_SERVER").map(PathBuf::from) else {
            println!(
                "nats-server: not measured (SYMPHONY_NATS_SERVER unset; `cargo xtask bench` installs and sets it)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new(&program)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| println!("nats-server: cannot start {}: {e}", program.display()))
            .ok()?;
        let server = NatsServer { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                println!("nats-server: did not listen within 10 s");
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(server)
    }

    /// A connected client.
    pub fn connect(&self) -> NatsClient {
        NatsClient::connect(self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One connection speaking the NATS text protocol.
pub struct NatsClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    out: Vec<u8>,
    line: String,
}

impl NatsClient {
    fn connect(port: u16) -> NatsClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut client = NatsClient {
            reader: BufReader::with_capacity(64 << 10, stream.try_clone().unwrap()),
            writer: stream,
            out: Vec::with_capacity(64 << 10),
            line: String::new(),
        };
        client.read_line(); // INFO
        client
            .writer
            .write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
            .unwrap();
        client
    }

    fn read_line(&mut self) -> &str {
        self.line.clear();
        self.reader.read_line(&mut self.line).unwrap();
        &self.line
    }

    /// Subscribes and waits until the server has it.
    pub fn subscribe(&mut self, subject: &str) {
        write!(self.writer, "SUB {subject} 1\r\nPING\r\n").unwrap();
        while !self.read_line().starts_with("PONG") {}
    }

    /// Queues a publish, writing the buffer once it passes 32 KiB (as the
    /// official clients' flushers do).
    pub fn publish(&mut self, subject: &str, payload: &[u8]) {
        write!(self.out, "PUB {subject} {}\r\n", payload.len()).unwrap();
        self.out.extend_from_slice(payload);
        self.out.extend_from_slice(b"\r\n");
        if self.out.len() >= 32 << 10 {
            self.flush();
        }
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) {
        self.writer.write_all(&self.out).unwrap();
        self.out.clear();
    }

    /// The next message's payload (answering the server's pings meanwhile),
    /// into `payload`.
    pub fn next_message(&mut self, payload: &mut Vec<u8>) {
        loop {
            let line = self.read_line().to_string();
            if line.starts_with("PING") {
                self.writer.write_all(b"PONG\r\n").unwrap();
                continue;
            }
            if let Some(rest) = line.strip_prefix("MSG ") {
                let len: usize = rest.split_whitespace().last().unwrap().parse().unwrap();
                payload.resize(len + 2, 0);
                self.reader.read_exact(payload).unwrap();
                payload.truncate(len);
                return;
            }
        }
    }
}
