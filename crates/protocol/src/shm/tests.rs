use super::*;
use proptest::prelude::*;
use std::fs::File;
use std::thread;
use tempfile::TempDir;

/// A fresh region of `capacity` in a temporary directory.
fn region(capacity: usize) -> (TempDir, ShmRegion) {
    let dir = tempfile::tempdir().unwrap();
    let region = ShmRegion::create(&dir.path().join("ring"), capacity).unwrap();
    (dir, region)
}

/// Deterministic pseudo-random bytes (xorshift), so the data is not a
/// pattern a wrap-around bug could reproduce by accident.
fn pseudo_random(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Writes `bytes` at `offset` of the region's file, as a buggy or
/// hostile peer might.
fn overwrite(path: &Path, offset: u64, bytes: &[u8]) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .write_all_at(bytes, offset)
        .unwrap();
}

/// FNV-1a over a stream, folded chunk by chunk.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Yields until `counter` is non-zero: proof that the thread behind
/// `handle` has registered to sleep on the futex, with no timing
/// assumption (it panics if that thread returned instead).
fn wait_until_sleeping<T>(counter: &AtomicU32, handle: &thread::JoinHandle<T>) {
    while counter.load(SeqCst) == 0 {
        assert!(
            !handle.is_finished(),
            "the thread returned instead of blocking"
        );
        thread::yield_now();
    }
}

#[test]
fn halves_are_send_and_closer_is_clone_send_sync() {
    fn send<T: Send>() {}
    fn clone_send_sync<T: Clone + Send + Sync>() {}
    send::<RingReader>();
    send::<RingWriter>();
    send::<ShmRegion>();
    clone_send_sync::<ShmCloser>();
}

#[test]
fn a_write_to_a_full_ring_times_out_when_asked_to() {
    let (_dir, region) = region(4096);
    let (_reader, _) = region.split(Side::Server);
    let (_, mut writer) = region.split(Side::Client);
    writer.set_timeout(Some(Duration::from_millis(10)));
    writer.write_all(&[0; 4096]).unwrap();
    assert_eq!(
        writer.write(&[1]).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
}

#[test]
fn try_write_takes_what_fits_and_never_waits() {
    let (_dir, region) = region(4096);
    let (mut reader, _) = region.split(Side::Server);
    let (_, mut writer) = region.split(Side::Client);
    assert_eq!(writer.try_write(&[1; 3000]).unwrap(), 3000);
    assert_eq!(writer.try_write(&[2; 3000]).unwrap(), 1096);
    assert_eq!(writer.try_write(&[3; 10]).unwrap(), 0);
    let mut buf = vec![0; 4096];
    reader.read_exact(&mut buf).unwrap();
    assert_eq!((buf[2999], buf[3000]), (1, 2));
    drop(reader);
    assert_eq!(
        writer.try_write(&[4]).unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
}

#[test]
fn capacity_is_rounded_up_to_a_power_of_two_of_at_least_a_page() {
    assert_eq!(region(0).1.capacity(), 4096);
    assert_eq!(region(5000).1.capacity(), 8192);
    assert_eq!(region(1 << 16).1.capacity(), 1 << 16);
    let dir = tempfile::tempdir().unwrap();
    let err = ShmRegion::create(&dir.path().join("big"), (1 << 30) + 1).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn created_file_is_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _region) = region(4096);
    let mode = std::fs::metadata(dir.path().join("ring"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn client_bytes_arrive_in_order_at_the_server() {
    let (dir, server) = region(4096);
    let client = ShmRegion::open(&dir.path().join("ring")).unwrap();
    let (_a_reader, mut to_server) = client.split(Side::Client);
    let (mut from_client, _a_writer) = server.split(Side::Server);
    to_server.write_all(b"hello, ").unwrap();
    to_server.write_all(b"server").unwrap();
    let mut got = [0u8; 13];
    from_client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello, server");
}

/// Streams 5 MiB through a 4 KiB ring from another thread (the client
/// side opened separately, as another process would) and checks length
/// and checksum; `spin` is used on both ends.
fn stream_five_mib_through_a_4_kib_ring(spin: Duration) {
    const TOTAL: usize = 5 << 20;
    let (dir, server) = region(4096);
    let client = ShmRegion::open(&dir.path().join("ring")).unwrap();
    let (_a_reader, mut to_server) = client.split(Side::Client);
    let (mut from_client, _a_writer) = server.split(Side::Server);
    to_server.set_spin(spin);
    from_client.set_spin(spin);

    let producer = thread::spawn(move || {
        let data = pseudo_random(TOTAL, 0x9e37_79b9_7f4a_7c15);
        // Uneven chunks so writes straddle the wrap point in every way.
        let mut offset = 0;
        let mut chunk = 1;
        while offset < TOTAL {
            let end = (offset + chunk).min(TOTAL);
            to_server.write_all(&data[offset..end]).unwrap();
            offset = end;
            chunk = chunk * 7 % 9973 + 1;
        }
        fnv1a(FNV_OFFSET, &data)
        // Dropping the writer closes the ring: the reader sees EOF.
    });

    let mut hash = FNV_OFFSET;
    let mut received = 0;
    let mut buf = vec![0u8; 3001];
    loop {
        let n = from_client.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hash = fnv1a(hash, &buf[..n]);
        received += n;
    }
    assert_eq!(received, TOTAL);
    assert_eq!(hash, producer.join().unwrap());
}

#[test]
fn five_mib_stream_through_a_4_kib_ring_from_another_thread() {
    stream_five_mib_through_a_4_kib_ring(DEFAULT_SPIN);
}

#[test]
fn five_mib_stream_survives_sleeping_on_every_wait() {
    // No spin: every empty or full ring goes through the futex, which
    // exercises the sleeper registration and wake-up handshake.
    stream_five_mib_through_a_4_kib_ring(Duration::ZERO);
}

#[test]
fn both_directions_flow_at_once() {
    const TOTAL: usize = 1 << 20;
    let (dir, server) = region(4096);
    let client = ShmRegion::open(&dir.path().join("ring")).unwrap();
    let (mut from_server, mut to_server) = client.split(Side::Client);
    let (mut from_client, mut to_client) = server.split(Side::Server);

    // The server echoes everything back until the client stops writing.
    let echo = thread::spawn(move || io::copy(&mut from_client, &mut to_client).unwrap());
    let data = pseudo_random(TOTAL, 42);
    let sent = data.clone();
    let sender = thread::spawn(move || to_server.write_all(&sent).unwrap());
    let mut echoed = Vec::with_capacity(TOTAL);
    from_server.read_to_end(&mut echoed).unwrap();

    sender.join().unwrap();
    assert_eq!(echo.join().unwrap(), TOTAL as u64);
    assert!(echoed == data, "echoed stream differs from what was sent");
}

#[test]
fn read_on_an_empty_ring_with_a_timeout_returns_timed_out() {
    let (_dir, region) = region(4096);
    let (mut reader, _writer) = region.split(Side::Server);
    reader.set_timeout(Some(Duration::from_millis(20)));
    let err = reader.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    // A zero spin goes straight to the futex and still times out.
    reader.set_spin(Duration::ZERO);
    let err = reader.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
}

#[test]
fn dropping_the_writer_gives_the_reader_the_rest_then_eof() {
    let (_dir, region) = region(4096);
    let (_a_reader, mut writer) = region.split(Side::Client);
    let (mut reader, _a_writer) = region.split(Side::Server);
    writer.write_all(b"last words").unwrap();
    drop(writer);
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"last words");
    assert_eq!(reader.read(&mut [0u8; 4]).unwrap(), 0);
}

#[test]
fn dropping_the_reader_breaks_the_writers_pipe() {
    let (_dir, region) = region(4096);
    let (_a_reader, mut writer) = region.split(Side::Client);
    let (reader, _a_writer) = region.split(Side::Server);
    drop(reader);
    let err = writer.write(b"anyone there?").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn dropping_the_writer_wakes_a_blocked_reader() {
    let (_dir, region) = region(4096);
    let (_a_reader, writer) = region.split(Side::Client);
    let (mut reader, _a_writer) = region.split(Side::Server);
    reader.set_spin(Duration::ZERO);
    let ring_b = region.map.ring(RING_B_CONTROL);
    let blocked = thread::spawn(move || reader.read(&mut [0u8; 8]).unwrap());
    wait_until_sleeping(ring_b.data_sleepers(), &blocked);
    drop(writer);
    assert_eq!(blocked.join().unwrap(), 0);
}

#[test]
fn closer_wakes_a_blocked_reader_and_a_writer_on_a_full_ring() {
    let (_dir, region) = region(4096);
    let closer = region.closer();
    // The server's reader waits on ring B and its writer fills ring A;
    // the client's halves exist but never move, so both block.
    let (mut reader, mut writer) = region.split(Side::Server);
    let (_client_reader, _client_writer) = region.split(Side::Client);
    reader.set_spin(Duration::ZERO);
    writer.set_spin(Duration::ZERO);
    let ring_a = region.map.ring(RING_A_CONTROL);
    let ring_b = region.map.ring(RING_B_CONTROL);

    let blocked_reader = thread::spawn(move || reader.read(&mut [0u8; 8]));
    let blocked_writer = thread::spawn(move || writer.write_all(&[7u8; 3 * 4096]));
    wait_until_sleeping(ring_b.data_sleepers(), &blocked_reader);
    wait_until_sleeping(ring_a.space_sleepers(), &blocked_writer);

    closer.clone().close();
    assert_eq!(blocked_reader.join().unwrap().unwrap(), 0);
    let err = blocked_writer.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn open_rejects_a_file_with_the_wrong_magic() {
    let (dir, _region) = region(4096);
    let path = dir.path().join("ring");
    overwrite(&path, 0, b"NOTSHM!!");
    let err = ShmRegion::open(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let message = err.to_string();
    assert!(message.contains("magic"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn open_rejects_an_unknown_layout_version() {
    let (dir, _region) = region(4096);
    let path = dir.path().join("ring");
    overwrite(&path, OFF_VERSION as u64, &99u32.to_ne_bytes());
    let err = ShmRegion::open(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[test]
fn open_rejects_a_capacity_that_is_not_a_power_of_two() {
    let (dir, _region) = region(4096);
    let path = dir.path().join("ring");
    overwrite(&path, OFF_CAPACITY as u64, &5000u64.to_ne_bytes());
    let err = ShmRegion::open(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("5000"), "{err}");
}

#[test]
fn open_rejects_a_truncated_file() {
    let (dir, _region) = region(4096);
    let path = dir.path().join("ring");
    let file = File::options().write(true).open(&path).unwrap();

    // Missing ring B's data.
    file.set_len((HEADER_SIZE + 4096) as u64).unwrap();
    let err = ShmRegion::open(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("truncated"), "{err}");

    // Shorter than the header itself.
    file.set_len(100).unwrap();
    let err = ShmRegion::open(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_corrupted_head_makes_read_fail_with_invalid_data() {
    let (dir, server) = region(4096);
    let path = dir.path().join("ring");
    let (mut from_client, _a_writer) = server.split(Side::Server);
    // The peer scribbles on ring B's head through its own handle.
    overwrite(
        &path,
        (RING_B_CONTROL + OFF_HEAD) as u64,
        &0xdead_beef_dead_beef_u64.to_ne_bytes(),
    );
    let err = from_client.read(&mut [0u8; 64]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("ring corrupted"), "{err}");
}

#[test]
fn a_corrupted_tail_makes_write_fail_with_invalid_data() {
    let (dir, server) = region(4096);
    let path = dir.path().join("ring");
    let (_b_reader, mut to_client) = server.split(Side::Server);
    // A tail ahead of our head: the peer claims to have read unwritten bytes.
    overwrite(
        &path,
        (RING_A_CONTROL + OFF_TAIL) as u64,
        &12345u64.to_ne_bytes(),
    );
    let err = to_client.write(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("ring corrupted"), "{err}");
}

#[test]
fn empty_reads_and_writes_return_zero_without_waiting() {
    let (_dir, region) = region(4096);
    let (mut reader, mut writer) = region.split(Side::Server);
    assert_eq!(reader.read(&mut []).unwrap(), 0);
    assert_eq!(writer.write(&[]).unwrap(), 0);
    writer.flush().unwrap();
}

proptest! {
    #[test]
    fn random_chunk_sizes_reproduce_the_stream(
        ops in proptest::collection::vec((1usize..6000, 1usize..6000), 1..64),
        seed in any::<u64>(),
    ) {
        let (_dir, region) = region(4096);
        let cap = region.capacity();
        let (_a_reader, mut writer) = region.split(Side::Client);
        let (mut reader, _a_writer) = region.split(Side::Server);
        let total: usize = ops.iter().map(|(w, _)| w).sum();
        let data = pseudo_random(total, seed | 1);

        // Single-threaded, so only write what fits and read what is there:
        // nothing ever blocks, and each call's count is exact.
        let (mut written, mut out) = (0, Vec::with_capacity(total));
        for (write_len, read_len) in ops {
            let fits = write_len.min(cap - (written - out.len())).min(total - written);
            if fits > 0 {
                let n = writer.write(&data[written..written + write_len.min(total - written)])
                    .unwrap();
                prop_assert_eq!(n, fits);
                written += n;
            }
            let ready = read_len.min(written - out.len());
            if ready > 0 {
                let mut buf = vec![0u8; read_len];
                let n = reader.read(&mut buf).unwrap();
                prop_assert_eq!(n, ready);
                out.extend_from_slice(&buf[..n]);
            }
        }
        // Stream the rest through, then EOF.
        let rest = data[written..].to_vec();
        let feeder = thread::spawn(move || {
            writer.write_all(&rest).unwrap();
        });
        let mut buf = vec![0u8; 777];
        while out.len() < total {
            let n = reader.read(&mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
        feeder.join().unwrap();
        prop_assert_eq!(reader.read(&mut buf).unwrap(), 0);
        prop_assert!(out == data, "stream differs");
    }
}
