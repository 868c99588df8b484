use std::sync::{Arc, Mutex as StdMutex};

use super::*;
use crate::FrameDecoder;

/// Keeps what is written, and counts the writes.
#[derive(Clone, Default)]
struct Sink(Arc<StdMutex<Vec<u8>>>, Arc<std::sync::atomic::AtomicUsize>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn frames_from_many_threads_all_arrive_whole() {
    let outbox = Arc::new(Outbox::default());
    let sink = Sink::default();
    outbox.set_link(Some(Box::new(sink.clone())));
    let senders: Vec<_> = (0..4u8)
        .map(|t| {
            let outbox = outbox.clone();
            std::thread::spawn(move || {
                for i in 0..500u16 {
                    let payload = [t, (i >> 8) as u8, i as u8];
                    outbox
                        .send(&Envelope::new("msg", "a", payload.to_vec()))
                        .unwrap();
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    // Publishes in a stream are left to the flusher thread.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !outbox.settled() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut bytes = bytes::BytesMut::from(&sink.0.lock().unwrap()[..]);
    let mut per_thread = [0u16; 4];
    while let Some(e) = FrameDecoder::default().decode(&mut bytes).unwrap() {
        let t = e.payload[0] as usize;
        let i = u16::from_be_bytes([e.payload[1], e.payload[2]]);
        assert_eq!(i, per_thread[t], "each sender's frames stay in order");
        per_thread[t] += 1;
    }
    assert_eq!(per_thread, [500; 4]);
}

#[test]
fn a_detached_outbox_refuses_to_send() {
    let outbox = Outbox::default();
    let e = Envelope::new("msg", "a", vec![]);
    assert!(matches!(outbox.send(&e), Err(ClientError::Disconnected)));
    outbox.set_link(Some(Box::new(Sink::default())));
    outbox.send(&e).unwrap();
    outbox.set_link(None);
    assert!(matches!(outbox.send(&e), Err(ClientError::Disconnected)));
}

#[test]
fn a_lone_publish_is_written_at_once_and_a_stream_is_gathered() {
    let outbox = Outbox::default();
    let sink = Sink::default();
    outbox.set_link(Some(Box::new(sink.clone())));
    std::thread::sleep(HOT * 2);
    outbox.send(&Envelope::new("msg", "a", vec![1])).unwrap();
    // Written before `send` returned: nothing waits for a thread.
    assert!(!sink.0.lock().unwrap().is_empty());
    for i in 0..1000u16 {
        let payload = i.to_be_bytes().to_vec();
        outbox.send(&Envelope::new("msg", "a", payload)).unwrap();
    }
    // A request goes at once, after everything before it.
    let request = Envelope::new("msg", "svc", vec![]).reply_to("_inbox.x.1");
    outbox.send(&request).unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !outbox.settled() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut bytes = bytes::BytesMut::from(&sink.0.lock().unwrap()[..]);
    let mut frames = Vec::new();
    while let Some(e) = FrameDecoder::default().decode(&mut bytes).unwrap() {
        frames.push(e);
    }
    assert_eq!(frames.len(), 1002);
    let writes = sink.1.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        writes < frames.len(),
        "{writes} writes: nothing was gathered"
    );
    assert!(frames[1001].reply_to.is_some(), "the request comes last");
    for (i, frame) in frames[1..1001].iter().enumerate() {
        assert_eq!(&frame.payload[..], (i as u16).to_be_bytes());
    }
}
