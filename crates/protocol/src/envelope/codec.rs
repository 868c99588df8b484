//! Envelopes to and from msgpack without serde: the bytes `rmp_serde`
//! writes for the struct (an array of its fields in order, each integer in
//! its smallest form, the payload as `bin`), in a fraction of the time.
//!
//! Why (issue 22): every bus message is encoded and decoded at least twice
//! on its way through the server, and `rmp_serde` spent most of that in
//! generic machinery — a `Read` cursor, strings read through
//! `read_to_end`, a visitor per field. This writes and reads the one
//! layout directly. Decoding takes that layout (integers in any unsigned
//! width); anything else a msgpack encoder may produce for the same struct
//! (a map of field names, a signed integer) goes to `rmp_serde`, as do
//! malformed bytes, so what is accepted, and every error message, are
//! exactly what they were.

use bytes::Bytes;

use super::{Envelope, SmolStr};

/// Fields in an envelope's array.
const FIELDS: u8 = 10;

/// Appends `envelope` to `out` as `rmp_serde` would; `None` (with `out`
/// as it was) if a length does not fit msgpack's 32 bits.
pub(super) fn encode(
    envelope: &Envelope,
    extra: Option<(&str, &str)>,
    out: &mut Vec<u8>,
) -> Option<()> {
    let start = out.len();
    let written = write_envelope(envelope, extra, out);
    if written.is_none() {
        out.truncate(start);
    }
    written
}

/// Writes `e`, with `extra` as one more header after its own, in place of
/// any of its own of that name.
fn write_envelope(e: &Envelope, extra: Option<(&str, &str)>, out: &mut Vec<u8>) -> Option<()> {
    out.reserve(48 + e.kind.len() + e.sender.len() + e.subject.len() + e.payload.len());
    out.push(0x90 | FIELDS);
    uint(out, e.id);
    str(out, &e.kind)?;
    uint(out, u64::from(e.version));
    uint(out, e.timestamp_us);
    match e.correlation {
        Some(id) => uint(out, id),
        None => out.push(NIL),
    }
    str(out, &e.sender)?;
    str(out, &e.subject)?;
    match &e.reply_to {
        Some(reply_to) => str(out, reply_to)?,
        None => out.push(NIL),
    }
    // The extra header replaces the envelope's own of its name, so only
    // the server's subscription id ever reaches a client.
    let own = || {
        (e.headers.iter())
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .filter(|(name, _)| extra.is_none_or(|(extra, _)| *name != extra))
    };
    array(out, own().count() + usize::from(extra.is_some()))?;
    for (name, value) in own().chain(extra) {
        out.push(0x92);
        str(out, name)?;
        str(out, value)?;
    }
    header(out, e.payload.len(), None, (Some(0xc4), 0xc5, 0xc6))?;
    out.extend_from_slice(&e.payload);
    Some(())
}

const NIL: u8 = 0xc0;

fn uint(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0x7f => out.push(n as u8),
        0x80..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn str(out: &mut Vec<u8>, s: &str) -> Option<()> {
    header(out, s.len(), Some((0xa0, 31)), (Some(0xd9), 0xda, 0xdb))?;
    out.extend_from_slice(s.as_bytes());
    Some(())
}

fn array(out: &mut Vec<u8>, len: usize) -> Option<()> {
    header(out, len, Some((0x90, 15)), (None, 0xdc, 0xdd))
}

/// A length header in the smallest form that holds `len`: the `fix` form
/// (its marker, to which the length is added, and the largest length it
/// takes), else the 8-, 16- or 32-bit form's marker (arrays have no 8-bit
/// form). `None` past 32 bits.
fn header(
    out: &mut Vec<u8>,
    len: usize,
    fix: Option<(u8, u8)>,
    (m8, m16, m32): (Option<u8>, u8, u8),
) -> Option<()> {
    let len = u32::try_from(len).ok()?;
    match (fix, m8) {
        (Some((marker, max)), _) if len <= u32::from(max) => out.push(marker | len as u8),
        (_, Some(marker)) if len <= 0xff => out.extend_from_slice(&[marker, len as u8]),
        _ if len <= 0xffff => {
            out.push(m16);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(m32);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    Some(())
}

/// The envelope at the start of `bytes` and the bytes it took, if it is
/// in the layout [`encode`] writes; `None` for anything else, valid or not
/// (the caller then asks `rmp_serde`).
pub(super) fn decode(bytes: &[u8]) -> Option<(Envelope, usize)> {
    let (mut envelope, _, payload, used) = decode_parts(bytes, None)?;
    envelope.payload = Bytes::copy_from_slice(&bytes[payload]);
    Some((envelope, used))
}

/// [`decode`] of `frame[offset..]`, the payload a slice of `frame` rather
/// than a copy: a frame read off a link is decoded without allocating for
/// (or copying) its payload. With `take`, the first header of that name
/// whose value is a number is taken out of the envelope and returned
/// (without allocating for it).
pub(super) fn decode_shared(
    frame: &Bytes,
    offset: usize,
    take: Option<&str>,
) -> Option<(Envelope, Option<u64>, usize)> {
    let (mut envelope, taken, payload, used) = decode_parts(frame.get(offset..)?, take)?;
    envelope.payload = frame.slice(offset + payload.start..offset + payload.end);
    Some((envelope, taken, used))
}

/// Everything but the payload, which is left empty and located instead;
/// and the numeric header `take` names, taken out.
fn decode_parts(
    bytes: &[u8],
    take: Option<&str>,
) -> Option<(Envelope, Option<u64>, std::ops::Range<usize>, usize)> {
    let mut r = Reader { bytes, at: 0 };
    if r.byte()? != 0x90 | FIELDS {
        return None;
    }
    let id = r.uint()?;
    let kind = r.string()?;
    let version = u16::try_from(r.uint()?).ok()?;
    let timestamp_us = r.uint()?;
    let correlation = r.optional(Reader::uint)?;
    let sender = r.string()?;
    let subject = r.string()?;
    let reply_to = r.optional(Reader::string)?;
    let count = r.array()?;
    let mut headers = Vec::new();
    let mut taken = None;
    for _ in 0..count {
        if r.byte()? != 0x92 {
            return None;
        }
        let (name, value) = (r.str()?, r.str()?);
        if taken.is_none()
            && take == Some(name)
            && let Ok(n) = value.parse::<u64>()
        {
            taken = Some(n);
            continue;
        }
        if headers.capacity() == 0 {
            // Each header takes at least three bytes: never reserve more
            // than the input could hold.
            headers.reserve(count.min(r.left() / 3 + 1));
        }
        headers.push((SmolStr::new(name), SmolStr::new(value)));
    }
    let len = match r.byte()? {
        0xc4 => usize::from(r.byte()?),
        0xc5 => usize::from(u16::from_be_bytes(r.take_array()?)),
        0xc6 => u32::from_be_bytes(r.take_array()?) as usize,
        _ => return None,
    };
    let start = r.at;
    r.take(len)?;
    let envelope = Envelope {
        id,
        kind,
        version,
        timestamp_us,
        correlation,
        sender,
        subject,
        reply_to,
        headers,
        payload: Bytes::new(),
    };
    Some((envelope, taken, start..start + len, r.at))
}

/// A cursor over msgpack bytes that reads only the forms [`encode`] writes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    fn take_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn uint(&mut self) -> Option<u64> {
        Some(match self.byte()? {
            n @ 0..=0x7f => u64::from(n),
            0xcc => u64::from(self.byte()?),
            0xcd => u64::from(u16::from_be_bytes(self.take_array()?)),
            0xce => u64::from(u32::from_be_bytes(self.take_array()?)),
            0xcf => u64::from_be_bytes(self.take_array()?),
            _ => return None,
        })
    }

    /// A string: short ones (names, subjects) stored inline, without
    /// allocating.
    fn string(&mut self) -> Option<SmolStr> {
        self.str().map(SmolStr::new)
    }

    /// A string, borrowed from the input.
    fn str(&mut self) -> Option<&'a str> {
        let len = match self.byte()? {
            marker @ 0xa0..=0xbf => usize::from(marker & 0x1f),
            0xd9 => usize::from(self.byte()?),
            0xda => usize::from(u16::from_be_bytes(self.take_array()?)),
            0xdb => u32::from_be_bytes(self.take_array()?) as usize,
            _ => return None,
        };
        std::str::from_utf8(self.take(len)?).ok()
    }

    fn array(&mut self) -> Option<usize> {
        Some(match self.byte()? {
            marker @ 0x90..=0x9f => usize::from(marker & 0x0f),
            0xdc => usize::from(u16::from_be_bytes(self.take_array()?)),
            0xdd => u32::from_be_bytes(self.take_array()?) as usize,
            _ => return None,
        })
    }

    /// `nil` as `None`, anything else read by `read`.
    fn optional<T>(&mut self, read: fn(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek()? == NIL {
            self.at += 1;
            return Some(None);
        }
        read(self).map(Some)
    }
}

#[cfg(test)]
mod tests;
