//! Shared-memory byte pipe between two processes on the same Linux host.
//!
//! A [`ShmRegion`] is a file-backed shared mapping (typically a file in
//! `/dev/shm`) holding a small header and two single-producer
//! single-consumer byte rings: ring A carries server→client bytes, ring B
//! client→server bytes. Each ring is a stream, not a message queue: a write
//! of N bytes may be read in several pieces, and a write larger than the
//! ring streams through it as the reader drains it.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use symphony_protocol::shm::{DEFAULT_RING_CAPACITY, ShmRegion, Side};
//!
//! # fn main() -> std::io::Result<()> {
//! let path = std::path::Path::new("/dev/shm/symphony-example");
//! let server = ShmRegion::create(path, DEFAULT_RING_CAPACITY)?;
//! // In the other process:
//! let client = ShmRegion::open(path)?;
//! let (_from_server, mut to_server) = client.split(Side::Client);
//! to_server.write_all(b"ping")?;
//!
//! let (mut from_client, _to_client) = server.split(Side::Server);
//! let mut buf = [0u8; 4];
//! from_client.read_exact(&mut buf)?;
//! assert_eq!(&buf, b"ping");
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! Offsets are from the start of the (page-aligned) mapping; integers are
//! native-endian because both ends run on the same machine.
//!
//! | offset | contents |
//! | --- | --- |
//! | 0 | magic `b"SYMSHM01"` |
//! | 8 | layout version, `u32` |
//! | 16 | capacity of each ring in bytes, `u64` |
//! | 128 | ring A control: producer line, consumer line, shared line (128 bytes each) |
//! | 512 | ring B control, same shape |
//! | 4096 | ring A data (`capacity` bytes) |
//! | 4096 + capacity | ring B data (`capacity` bytes) |
//!
//! Each ring's producer line holds the `u64` head, the "data available"
//! futex word and the count of producers sleeping for space; the consumer
//! line holds the `u64` tail, the "space available" futex word and the
//! count of consumers sleeping for data; the shared line holds the closed
//! flag. Every field is written by one side only (except the closed flag
//! and the wake-ups on close), so the two sides do not fight over cache
//! lines.
//!
//! # Trust
//!
//! The peer may be buggy or hostile. Every position read from the mapping is
//! checked (`head - tail <= capacity`) before it is used, and a violation is
//! an [`io::ErrorKind::InvalidData`] error, never an out-of-bounds access or
//! a panic. A peer that truncates the backing file can still make this
//! process fault (`SIGBUS`) when it touches the missing pages; that is
//! inherent to file-backed shared memory.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use memmap2::{MmapOptions, MmapRaw};
use rustix::io::Errno;
use rustix::thread::futex;

/// Default capacity of each ring, in bytes (1 MiB): large enough that a
/// typical frame never waits for the reader, small enough to stay cheap.
pub const DEFAULT_RING_CAPACITY: usize = 1 << 20;

/// Identifies a Symphony shared-memory region.
const MAGIC: [u8; 8] = *b"SYMSHM01";
/// Version of the layout described in the module docs.
const LAYOUT_VERSION: u32 = 1;
/// Smallest ring capacity: one page.
const MIN_CAPACITY: usize = 4096;
/// Largest ring capacity (1 GiB), so the file size stays sane.
const MAX_CAPACITY: usize = 1 << 30;
/// Size of the header page; the ring data starts here.
const HEADER_SIZE: usize = 4096;

/// Offset of the magic bytes.
const OFF_MAGIC: usize = 0;
/// Offset of the layout version (`u32`).
const OFF_VERSION: usize = 8;
/// Offset of the per-ring capacity (`u64`).
const OFF_CAPACITY: usize = 16;
/// Offset of ring A's control block (server→client).
const RING_A_CONTROL: usize = 128;
/// Offset of ring B's control block (client→server).
const RING_B_CONTROL: usize = 512;

/// Size of a cache line as far as false sharing is concerned (covers the
/// adjacent-line prefetcher on x86 and 128-byte lines on Apple silicon).
const LINE: usize = 128;
/// Producer line within a control block: written by the producer only.
const PRODUCER_LINE: usize = 0;
/// Consumer line within a control block: written by the consumer only.
const CONSUMER_LINE: usize = LINE;
/// Shared line within a control block: the closed flag.
const SHARED_LINE: usize = 2 * LINE;
/// Head (`u64`) in the producer line: total bytes ever written.
const OFF_HEAD: usize = PRODUCER_LINE;
/// "Data available" futex word (`u32`) in the producer line.
const OFF_DATA_SEQ: usize = PRODUCER_LINE + 8;
/// Count of producers sleeping for space (`u32`) in the producer line.
const OFF_SPACE_SLEEPERS: usize = PRODUCER_LINE + 12;
/// Tail (`u64`) in the consumer line: total bytes ever read.
const OFF_TAIL: usize = CONSUMER_LINE;
/// "Space available" futex word (`u32`) in the consumer line.
const OFF_SPACE_SEQ: usize = CONSUMER_LINE + 8;
/// Count of consumers sleeping for data (`u32`) in the consumer line.
const OFF_DATA_SLEEPERS: usize = CONSUMER_LINE + 12;
/// Closed flag (`u32`, non-zero once closed) in the shared line.
const OFF_CLOSED: usize = SHARED_LINE;

/// Longest single futex sleep: a lost wake-up (which the protocol should
/// never produce, but a hostile peer could provoke) costs at most this.
const FUTEX_RECHECK: Duration = Duration::from_millis(100);
/// Default busy-poll time before sleeping on the futex.
const DEFAULT_SPIN: Duration = Duration::from_micros(50);
/// Wake every waiter on a futex word (the kernel takes an `int`).
const WAKE_ALL: u32 = i32::MAX as u32;

// The control blocks must fit in the header page and keep 128-byte lines.
const _: () = assert!(RING_A_CONTROL.is_multiple_of(LINE) && RING_B_CONTROL.is_multiple_of(LINE));
const _: () = assert!(RING_A_CONTROL + 3 * LINE <= RING_B_CONTROL);
const _: () = assert!(RING_B_CONTROL + 3 * LINE <= HEADER_SIZE);

/// Which end of the pipe this process is; it picks the ring each half uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Reads ring B (client→server) and writes ring A (server→client).
    Server,
    /// Reads ring A (server→client) and writes ring B (client→server).
    Client,
}

/// The mapping shared by a region and every half split from it.
#[derive(Debug)]
struct Mapping {
    /// The whole file, mapped shared and read-write; page aligned.
    map: MmapRaw,
    /// Capacity of each ring, a power of two, validated at create/open.
    capacity: usize,
    /// Path of the backing file, for error messages.
    path: PathBuf,
}

impl Mapping {
    /// Maps `file`, which holds the header and two rings of `capacity`
    /// bytes, shared and read-write.
    fn new(file: &File, capacity: usize, path: &Path) -> io::Result<Arc<Mapping>> {
        let map = MmapOptions::new()
            .len(HEADER_SIZE + 2 * capacity)
            .map_raw(file)
            .map_err(|e| region_error(path, e.kind(), e))?;
        Ok(Arc::new(Mapping {
            map,
            capacity,
            path: path.to_owned(),
        }))
    }

    /// The `AtomicU64` at `offset` in the header page.
    fn atomic_u64(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= HEADER_SIZE);
        // SAFETY: the mapping is page aligned and at least HEADER_SIZE bytes
        // long (checked at create/open), so `offset` (8-aligned, within the
        // header) is a valid, aligned pointer for an AtomicU64 that lives as
        // long as `self`. All accesses to header words go through atomics,
        // in this process and (by protocol) in the peer.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(offset).cast()) }
    }

    /// The `AtomicU32` at `offset` in the header page.
    fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= HEADER_SIZE);
        // SAFETY: as in `atomic_u64`, with 4-byte alignment.
        unsafe { AtomicU32::from_ptr(self.map.as_mut_ptr().add(offset).cast()) }
    }

    /// A view of one ring.
    fn ring(self: &Arc<Self>, control: usize) -> Ring {
        let data = if control == RING_A_CONTROL {
            HEADER_SIZE
        } else {
            HEADER_SIZE + self.capacity
        };
        Ring {
            map: Arc::clone(self),
            control,
            data,
        }
    }
}

/// One ring of a region: where its control block and data live.
#[derive(Debug, Clone)]
struct Ring {
    /// Keeps the mapping alive.
    map: Arc<Mapping>,
    /// Offset of the control block.
    control: usize,
    /// Offset of the first data byte.
    data: usize,
}

impl Ring {
    /// Total bytes ever written; written by the producer.
    fn head(&self) -> &AtomicU64 {
        self.map.atomic_u64(self.control + OFF_HEAD)
    }
    /// Total bytes ever read; written by the consumer.
    fn tail(&self) -> &AtomicU64 {
        self.map.atomic_u64(self.control + OFF_TAIL)
    }
    /// Bumped after every head move and on close; consumers wait on it.
    fn data_seq(&self) -> &AtomicU32 {
        self.map.atomic_u32(self.control + OFF_DATA_SEQ)
    }
    /// Consumers currently registered to sleep on `data_seq`.
    fn data_sleepers(&self) -> &AtomicU32 {
        self.map.atomic_u32(self.control + OFF_DATA_SLEEPERS)
    }
    /// Bumped after every tail move and on close; producers wait on it.
    fn space_seq(&self) -> &AtomicU32 {
        self.map.atomic_u32(self.control + OFF_SPACE_SEQ)
    }
    /// Producers currently registered to sleep on `space_seq`.
    fn space_sleepers(&self) -> &AtomicU32 {
        self.map.atomic_u32(self.control + OFF_SPACE_SLEEPERS)
    }
    /// Non-zero once either end (or a [`ShmCloser`]) closed the ring.
    fn closed(&self) -> &AtomicU32 {
        self.map.atomic_u32(self.control + OFF_CLOSED)
    }

    /// Where `n` bytes at stream position `pos` live in the mapping, as
    /// (offset, length): the run up to the end of the data area, then the
    /// rest wrapped to its start. `n` must not exceed the capacity.
    fn spans(&self, pos: u64, n: usize) -> [(usize, usize); 2] {
        let cap = self.capacity();
        // `cap` is a power of two, so the mask keeps the index below it.
        let start = (pos & (cap as u64 - 1)) as usize;
        let first = n.min(cap - start);
        [(self.data + start, first), (self.data, n - first)]
    }

    /// Ring capacity in bytes.
    fn capacity(&self) -> usize {
        self.map.capacity
    }

    /// Bytes between `tail` and `head`, or InvalidData if the peer left
    /// positions no honest ring can have.
    fn used(&self, head: u64, tail: u64) -> io::Result<usize> {
        let used = head.wrapping_sub(tail);
        if used > self.capacity() as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "shared-memory ring corrupted: head {head} and tail {tail} are {used} bytes \
                     apart, more than the capacity {} ({})",
                    self.capacity(),
                    self.map.path.display()
                ),
            ));
        }
        // In range: `used <= capacity`, which is a usize.
        Ok(used as usize)
    }

    /// Marks the ring closed and wakes everyone waiting on it.
    fn close(&self) {
        self.closed().store(1, SeqCst);
        bump_and_wake(self.data_seq(), None);
        bump_and_wake(self.space_seq(), None);
    }
}

/// Advances a futex word and wakes its waiters: always when `sleepers` is
/// `None`, otherwise only if someone registered as a sleeper (the common
/// case, nobody sleeping, then costs no syscall).
fn bump_and_wake(seq: &AtomicU32, sleepers: Option<&AtomicU32>) {
    seq.fetch_add(1, SeqCst);
    if sleepers.is_none_or(|s| s.load(SeqCst) > 0) {
        // A failed wake (only EFAULT/EINVAL, impossible for a valid aligned
        // word) changes nothing: sleepers also re-check every FUTEX_RECHECK.
        let _ = futex::wake(seq, futex::Flags::empty(), WAKE_ALL);
    }
}

/// Waits until `poll` returns `Some`: first busy-polls for `spin`, then
/// sleeps on the futex word `seq`, registered in `sleepers`, for at most
/// `timeout` in total (`None`: forever).
///
/// The sleep is race-free against [`bump_and_wake`]: the waiter loads `seq`,
/// registers in `sleepers`, re-polls, then waits only while `seq` still
/// holds the loaded value. The waker publishes its change, bumps `seq`, then
/// reads `sleepers` — all SeqCst — so either the re-poll sees the change,
/// or the waker sees the sleeper and the futex sees the bumped `seq`.
fn wait_for<T>(
    seq: &AtomicU32,
    sleepers: &AtomicU32,
    spin: Duration,
    timeout: Option<Duration>,
    mut poll: impl FnMut() -> io::Result<Option<T>>,
) -> io::Result<T> {
    if let Some(ready) = poll()? {
        return Ok(ready);
    }
    let start = Instant::now();
    // An unrepresentable deadline is as good as none.
    let deadline = timeout.and_then(|t| start.checked_add(t));
    let spin_end = start.checked_add(spin).unwrap_or(start);
    let spin_end = deadline.map_or(spin_end, |d| spin_end.min(d));

    if !spin.is_zero()
        && let Some(ready) = crate::clock::spin_until(spin_end, || poll().transpose())
    {
        return ready;
    }

    loop {
        let observed = seq.load(SeqCst);
        sleepers.fetch_add(1, SeqCst);
        let outcome = wait_once(seq, observed, deadline, &mut poll);
        // Wrapping, like every atomic op: a peer scribbling on the counter
        // costs spurious wake syscalls, nothing worse.
        sleepers.fetch_sub(1, SeqCst);
        if let Some(result) = outcome {
            return result;
        }
    }
}

/// One registered sleep of [`wait_for`]: re-polls, then sleeps on `seq`
/// unless it moved past `observed`. `None` means "poll again".
fn wait_once<T>(
    seq: &AtomicU32,
    observed: u32,
    deadline: Option<Instant>,
    poll: &mut impl FnMut() -> io::Result<Option<T>>,
) -> Option<io::Result<T>> {
    match poll() {
        Ok(Some(ready)) => return Some(Ok(ready)),
        Err(e) => return Some(Err(e)),
        Ok(None) => {}
    }
    let mut nap = FUTEX_RECHECK;
    if let Some(deadline) = deadline {
        let now = Instant::now();
        if now >= deadline {
            return Some(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "timed out waiting on the shared-memory ring",
            )));
        }
        nap = nap.min(deadline - now);
    }
    // `nap` is at most FUTEX_RECHECK, so the conversion cannot fail.
    let nap = futex::Timespec::try_from(nap).unwrap_or_default();
    match futex::wait(seq, futex::Flags::empty(), observed, Some(&nap)) {
        // Woken, word already moved, interrupted or napped out: re-check.
        Ok(()) | Err(Errno::AGAIN | Errno::INTR | Errno::TIMEDOUT) => None,
        Err(e) => Some(Err(io::Error::from(e))),
    }
}

/// A shared-memory region: the mapping of the backing file, with both rings.
///
/// Create it in one process ([`ShmRegion::create`]), open it in the other
/// ([`ShmRegion::open`]), then [`split`](ShmRegion::split) each into the
/// reader and writer for its [`Side`]. The halves share the mapping, so the
/// region itself may be dropped once split.
#[derive(Debug)]
pub struct ShmRegion {
    /// The mapping, shared with every half and closer.
    map: Arc<Mapping>,
}

impl ShmRegion {
    /// Creates the backing file at `path` (mode 0600) and maps it, with two
    /// rings of `capacity` bytes each, rounded up to a power of two and at
    /// least 4096. A capacity above 1 GiB is an
    /// [`io::ErrorKind::InvalidInput`] error.
    ///
    /// An existing file at `path` is unlinked first and a fresh one created
    /// exclusively: a process still mapping the old file keeps its pages
    /// instead of faulting, and a symlink planted at `path` is not followed.
    pub fn create(path: &Path, capacity: usize) -> io::Result<ShmRegion> {
        let capacity = ring_capacity(capacity)?;
        let with_path = |e: io::Error| region_error(path, e.kind(), e);
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(with_path(e)),
            _ => {}
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(with_path)?;
        file.set_len((HEADER_SIZE + 2 * capacity) as u64)
            .map_err(with_path)?;
        let map = Mapping::new(&file, capacity, path)?;
        // The file is new and zero-filled, so positions, counters and flags
        // already read 0. Write the magic last so a peer that opens early
        // sees "bad magic" rather than a half-written header.
        map.atomic_u32(OFF_VERSION).store(LAYOUT_VERSION, SeqCst);
        map.atomic_u64(OFF_CAPACITY).store(capacity as u64, SeqCst);
        map.atomic_u64(OFF_MAGIC)
            .store(u64::from_ne_bytes(MAGIC), SeqCst);
        Ok(ShmRegion { map })
    }

    /// Maps the region another process created at `path`.
    ///
    /// Fails with [`io::ErrorKind::InvalidData`], naming the path and the
    /// problem, if the file is not a Symphony region (bad magic), has
    /// another layout version, records a capacity that is not a power of two
    /// between 4096 and 1 GiB, or is not exactly as long as that capacity
    /// requires.
    pub fn open(path: &Path) -> io::Result<ShmRegion> {
        let with_path = |e: io::Error| region_error(path, e.kind(), e);
        let invalid = |what: String| region_error(path, io::ErrorKind::InvalidData, what);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(with_path)?;
        let len = file.metadata().map_err(with_path)?.len();
        if len < HEADER_SIZE as u64 {
            return Err(invalid(format!(
                "file is truncated: {len} bytes, shorter than the {HEADER_SIZE}-byte header"
            )));
        }
        let mut header = [0u8; 24];
        file.read_exact_at(&mut header, 0).map_err(with_path)?;
        let field = |offset: usize| -> [u8; 8] {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&header[offset..offset + 8]);
            bytes
        };
        let magic = field(OFF_MAGIC);
        let version = u32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
        let capacity = u64::from_ne_bytes(field(OFF_CAPACITY));

        if magic != MAGIC {
            return Err(invalid(format!(
                "not a Symphony shared-memory region (magic {:?}, expected {:?})",
                String::from_utf8_lossy(&magic),
                String::from_utf8_lossy(&MAGIC),
            )));
        }
        if version != LAYOUT_VERSION {
            return Err(invalid(format!(
                "unsupported layout version {version}, expected {LAYOUT_VERSION}"
            )));
        }
        if !capacity.is_power_of_two()
            || capacity < MIN_CAPACITY as u64
            || capacity > MAX_CAPACITY as u64
        {
            return Err(invalid(format!(
                "ring capacity {capacity} is not a power of two between {MIN_CAPACITY} and \
                 {MAX_CAPACITY}"
            )));
        }
        // Within MAX_CAPACITY, so it fits a usize and the sum cannot overflow.
        let capacity = capacity as usize;
        let size = HEADER_SIZE + 2 * capacity;
        if len != size as u64 {
            return Err(invalid(format!(
                "file is {len} bytes, but rings of {capacity} bytes need exactly {size}{}",
                if len < size as u64 {
                    " (truncated)"
                } else {
                    ""
                }
            )));
        }
        Ok(ShmRegion {
            map: Mapping::new(&file, capacity, path)?,
        })
    }

    /// The reader and writer for `side`: the server reads ring B and writes
    /// ring A, the client the reverse.
    ///
    /// Each ring has one reader and one writer in total, so call this once
    /// per side; two readers (or writers) of one ring would corrupt it.
    pub fn split(&self, side: Side) -> (RingReader, RingWriter) {
        let (read_ring, write_ring) = match side {
            Side::Server => (RING_B_CONTROL, RING_A_CONTROL),
            Side::Client => (RING_A_CONTROL, RING_B_CONTROL),
        };
        let read_ring = self.map.ring(read_ring);
        let write_ring = self.map.ring(write_ring);
        let reader = RingReader {
            tail: read_ring.tail().load(SeqCst),
            ring: read_ring,
            timeout: None,
            spin: DEFAULT_SPIN,
        };
        let writer = RingWriter {
            head: write_ring.head().load(SeqCst),
            ring: write_ring,
            spin: DEFAULT_SPIN,
            timeout: None,
        };
        (reader, writer)
    }

    /// A handle that closes both rings from any thread, e.g. when the peer
    /// is declared dead, so threads blocked in a read or write return.
    pub fn closer(&self) -> ShmCloser {
        ShmCloser {
            rings: [self.map.ring(RING_A_CONTROL), self.map.ring(RING_B_CONTROL)],
        }
    }

    /// Capacity of each ring in bytes (after rounding).
    pub fn capacity(&self) -> usize {
        self.map.capacity
    }
}

/// An error about the region at `path`, naming it.
fn region_error(path: &Path, kind: io::ErrorKind, detail: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        kind,
        format!("shared-memory region {}: {detail}", path.display()),
    )
}

/// Rounds a requested capacity up to a power of two, at least
/// [`MIN_CAPACITY`], and refuses one above [`MAX_CAPACITY`].
fn ring_capacity(requested: usize) -> io::Result<usize> {
    let capacity = requested.max(MIN_CAPACITY).checked_next_power_of_two();
    match capacity {
        Some(capacity) if capacity <= MAX_CAPACITY => Ok(capacity),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("shared-memory ring capacity {requested} exceeds the maximum {MAX_CAPACITY}"),
        )),
    }
}

/// The consuming end of one ring.
///
/// [`Read::read`] returns whatever bytes are available (up to the buffer's
/// length), waiting if there are none; `Ok(0)` means the ring was closed and
/// drained. Dropping the reader closes the ring, so the writer gets
/// [`io::ErrorKind::BrokenPipe`].
#[derive(Debug)]
pub struct RingReader {
    /// The ring read from.
    ring: Ring,
    /// Our own copy of the tail, the authority on how far we have read (the
    /// shared copy only informs the producer and is never trusted back).
    tail: u64,
    /// Longest wait for data, `None` for no limit.
    timeout: Option<Duration>,
    /// Busy-poll time before sleeping.
    spin: Duration,
}

impl RingReader {
    /// Limits how long a read waits for data: after `timeout` with nothing
    /// available it fails with [`io::ErrorKind::TimedOut`]. `None` (the
    /// default) waits forever.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// Sets how long a read busy-polls for data before sleeping on the
    /// futex (default 50 µs): longer cuts latency, shorter saves CPU.
    pub fn set_spin(&mut self, spin: Duration) {
        self.spin = spin;
    }

    /// `Some(bytes available)` — `Some(0)` meaning closed and drained — or
    /// `None` if the reader must wait.
    fn poll(&self) -> io::Result<Option<usize>> {
        let used = self.ring.used(self.ring.head().load(SeqCst), self.tail)?;
        if used > 0 {
            return Ok(Some(used));
        }
        if self.ring.closed().load(SeqCst) != 0 {
            // The writer publishes its last head before closing: look again.
            let used = self.ring.used(self.ring.head().load(SeqCst), self.tail)?;
            return Ok(Some(used));
        }
        Ok(None)
    }
}

impl crate::link::LinkRead for RingReader {
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        let ring = &self.ring;
        let waited = wait_for(
            ring.data_seq(),
            ring.data_sleepers(),
            self.spin,
            Some(timeout),
            || self.poll(),
        );
        match waited {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn read_into(&mut self, buf: &mut bytes::BytesMut) -> io::Result<usize> {
        let n = self.read_raw(buf.spare_capacity_mut())?;
        // SAFETY: `read_raw` wrote the first `n` bytes of the spare
        // capacity.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }
}

impl RingReader {
    /// Waits for data (up to the timeout), copies what fits into the start
    /// of `buf` and returns how much: `Ok(0)` only once the ring is closed
    /// and drained, or for an empty `buf`. Writes exactly the bytes it
    /// counts, so callers may treat them as initialised.
    fn read_raw(&mut self, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let ring = &self.ring;
        let used = wait_for(
            ring.data_seq(),
            ring.data_sleepers(),
            self.spin,
            self.timeout,
            || self.poll(),
        )?;
        let n = used.min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        let base = ring.map.map.as_mut_ptr();
        let to = buf.as_mut_ptr().cast::<u8>();
        let mut into = 0;
        for (offset, len) in ring.spans(self.tail, n) {
            // SAFETY: `spans` keeps both runs within this ring's data bytes,
            // inside the mapping, which `ring.map` keeps alive, and their
            // lengths add up to `n`, at most `buf.len()`; `buf` is private
            // memory that cannot overlap the mapping (no reference into the
            // mapping is ever handed out). The bytes between tail and head
            // were published by the producer before its SeqCst head store,
            // which our SeqCst head load observed; a hostile peer writing
            // them concurrently can only garble the bytes we copy, never
            // the bounds.
            unsafe {
                std::ptr::copy_nonoverlapping(base.add(offset), to.add(into), len);
            }
            into += len;
        }
        self.tail = self.tail.wrapping_add(n as u64);
        ring.tail().store(self.tail, SeqCst);
        bump_and_wake(ring.space_seq(), Some(ring.space_sleepers()));
        Ok(n)
    }
}

impl Read for RingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: initialised bytes viewed as possibly uninitialised ones;
        // `read_raw` only writes initialised bytes into them.
        let buf = unsafe {
            std::slice::from_raw_parts_mut(
                buf.as_mut_ptr().cast::<std::mem::MaybeUninit<u8>>(),
                buf.len(),
            )
        };
        self.read_raw(buf)
    }
}

impl Drop for RingReader {
    fn drop(&mut self) {
        self.ring.close();
    }
}

/// The producing end of one ring.
///
/// [`Write::write`] copies as much of the buffer as fits (at least one
/// byte), waiting while the ring is full; it fails with
/// [`io::ErrorKind::BrokenPipe`] once the ring is closed. Dropping the
/// writer closes the ring: the reader drains what is left, then sees EOF.
#[derive(Debug)]
pub struct RingWriter {
    /// The ring written to.
    ring: Ring,
    /// Our own copy of the head, the authority on how far we have written.
    head: u64,
    /// Busy-poll time before sleeping.
    spin: Duration,
    /// Longest wait for space, `None` for no limit.
    timeout: Option<Duration>,
}

impl RingWriter {
    /// Limits how long a write waits for space: after `timeout` with the
    /// ring still full it fails with [`io::ErrorKind::TimedOut`], so a
    /// reader that stopped cannot hang the writer. `None` (the default)
    /// waits forever.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// Sets how long a write busy-polls for space before sleeping on the
    /// futex (default 50 µs): longer cuts latency, shorter saves CPU.
    pub fn set_spin(&mut self, spin: Duration) {
        self.spin = spin;
    }

    /// `Some(free bytes)` (never 0), `None` if the writer must wait, or
    /// BrokenPipe once closed.
    fn poll(&self) -> io::Result<Option<usize>> {
        if self.ring.closed().load(SeqCst) != 0 {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!(
                    "shared-memory ring closed ({})",
                    self.ring.map.path.display()
                ),
            ));
        }
        let used = self.ring.used(self.head, self.ring.tail().load(SeqCst))?;
        let free = self.ring.capacity() - used;
        Ok((free > 0).then_some(free))
    }
}

impl Write for RingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let ring = &self.ring;
        let free = wait_for(
            ring.space_seq(),
            ring.space_sleepers(),
            self.spin,
            self.timeout,
            || self.poll(),
        )?;
        Ok(self.copy_in(buf, free))
    }

    fn flush(&mut self) -> io::Result<()> {
        // Written bytes are visible to the reader as soon as write returns.
        Ok(())
    }
}

impl RingWriter {
    /// Writes as much of `buf` as fits now, without waiting: `Ok(0)` when
    /// the ring is full. Lets a caller that must not block (a publisher
    /// delivering to a slow peer) fall back to a queue.
    pub fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.poll()? {
            Some(free) if !buf.is_empty() => Ok(self.copy_in(buf, free)),
            _ => Ok(0),
        }
    }

    /// Copies up to `free` bytes of `buf` into the ring and publishes them.
    fn copy_in(&mut self, buf: &[u8], free: usize) -> usize {
        let ring = &self.ring;
        let n = free.min(buf.len());
        let base = ring.map.map.as_mut_ptr();
        let mut from = 0;
        for (offset, len) in ring.spans(self.head, n) {
            // SAFETY: `spans` keeps both runs within this ring's data bytes
            // inside the mapping, which `ring.map` keeps alive; `buf` is
            // private memory of at least `n` bytes that cannot overlap the
            // mapping. The bytes between head and tail + capacity are ours:
            // the consumer finished reading them before its SeqCst tail
            // store, which our SeqCst tail load observed.
            unsafe {
                std::ptr::copy_nonoverlapping(buf.as_ptr().add(from), base.add(offset), len);
            }
            from += len;
        }
        self.head = self.head.wrapping_add(n as u64);
        ring.head().store(self.head, SeqCst);
        bump_and_wake(ring.data_seq(), Some(ring.data_sleepers()));
        n
    }
}

impl Drop for RingWriter {
    fn drop(&mut self) {
        self.ring.close();
    }
}

/// Closes both rings of a region from any thread or owner.
///
/// Used when the peer is declared dead: every reader then drains and sees
/// EOF, every writer gets [`io::ErrorKind::BrokenPipe`], and threads blocked
/// on either side — in this process or the peer — wake and return.
#[derive(Debug, Clone)]
pub struct ShmCloser {
    /// Ring A and ring B.
    rings: [Ring; 2],
}

impl ShmCloser {
    /// Marks both rings closed and wakes every waiter on both sides.
    pub fn close(&self) {
        for ring in &self.rings {
            ring.close();
        }
    }
}

#[cfg(test)]
mod tests;
