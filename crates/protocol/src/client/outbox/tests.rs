use std::sync::{Arc, Mutex as StdMutex};

use super::*;
use crate::FrameDecoder;

#[derive(Clone, Default)]
struct Sink(Arc<StdMutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
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
