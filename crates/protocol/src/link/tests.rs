use super::*;

/// Hands out its bytes a few at a time, then times out once, then ends.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    timed_out: bool,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.data.len() {
            if !self.timed_out {
                self.timed_out = true;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            return Ok(0);
        }
        let n = buf.len().min(3).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl LinkRead for Trickle {
    fn wait_readable(&mut self, _timeout: Duration) -> io::Result<bool> {
        Ok(true)
    }
}

#[test]
fn frames_arrive_whole_across_short_reads_then_timeout_then_close() {
    let mut data = Vec::new();
    let sent: Vec<Envelope> = (0..3u8)
        .map(|i| Envelope::new("msg", "a.b", vec![i; 40]))
        .collect();
    for envelope in &sent {
        encode_frame(envelope, &mut data).unwrap();
    }
    let mut reader = FrameReader::new(
        Trickle {
            data,
            at: 0,
            timed_out: false,
        },
        1 << 20,
    );
    for envelope in &sent {
        assert_eq!(&reader.next_envelope().unwrap(), envelope);
    }
    assert!(matches!(reader.next_envelope(), Err(LinkError::TimedOut)));
    assert!(matches!(reader.next_envelope(), Err(LinkError::Closed)));
}

#[test]
fn a_stream_ending_inside_a_frame_is_truncated_not_closed() {
    let mut data = Vec::new();
    encode_frame(&Envelope::new("msg", "a", vec![1; 100]), &mut data).unwrap();
    data.truncate(50);
    let mut reader = FrameReader::new(
        Trickle {
            data,
            at: 0,
            timed_out: true,
        },
        1 << 20,
    );
    assert!(matches!(
        reader.next_envelope(),
        Err(LinkError::Protocol(ProtocolError::Truncated { .. }))
    ));
}
