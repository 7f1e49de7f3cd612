//! Incremental decoding of a TCP byte stream and iteration over the messages
//! bundled in a UDP datagram.

use super::{check_payload_size, Header, Message};
use crate::error::ProtocolError;

/// Reassembles CA messages from a byte stream delivered in arbitrary pieces.
///
/// A message split anywhere across [`StreamDecoder::push`] calls decodes
/// exactly as if it had arrived in one piece. A header declaring a payload
/// above `max_payload` is refused before anything is allocated for it
/// ([`ProtocolError::PayloadTooLarge`]); its payload is then skipped as it
/// arrives, so the caller may answer the request and go on, as rsrv and libca
/// do, or close the circuit.
#[derive(Debug)]
pub struct StreamDecoder {
    buf: Vec<u8>,
    start: usize,
    max_payload: u32,
    /// Bytes of a refused payload still to be discarded.
    skip: u64,
}

impl StreamDecoder {
    /// A decoder refusing payloads larger than `max_payload` bytes.
    pub fn new(max_payload: u32) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max_payload,
            skip: 0,
        }
    }

    /// The payload limit.
    pub fn max_payload(&self) -> u32 {
        self.max_payload
    }

    /// Changes the payload limit (e.g. after EPICS_CA_MAX_ARRAY_BYTES is raised).
    pub fn set_max_payload(&mut self, max_payload: u32) {
        self.max_payload = max_payload;
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        let bytes = if self.skip > 0 {
            let n = bytes
                .len()
                .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
            self.skip -= n as u64;
            bytes.get(n..).unwrap_or_default()
        } else {
            bytes
        };
        if self.start > 0 && self.start == self.buf.len() {
            // Everything consumed: reuse the allocation from the start.
            self.buf.clear();
            self.start = 0;
        } else if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet consumed as whole messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete frame as a header and a borrowed payload, or `None`
    /// if more bytes are needed. The frame is consumed.
    pub fn next_frame(&mut self) -> Result<Option<(Header, &[u8])>, ProtocolError> {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let Some((header, hlen)) = Header::decode(pending) else {
            return Ok(None);
        };
        if let Err(e) = check_payload_size(&header, self.max_payload) {
            // Drop the header and whatever of the payload is here; skip the
            // rest as it arrives.
            let have = (pending.len() - hlen).min(header.payload_size as usize);
            self.start += hlen + have;
            self.skip = u64::from(header.payload_size) - have as u64;
            return Err(e);
        }
        let total = hlen + header.payload_size as usize;
        if pending.len() < total {
            // Reserve once for a large payload instead of growing repeatedly.
            let missing = total - pending.len();
            self.buf.reserve(missing);
            return Ok(None);
        }
        let payload_start = self.start + hlen;
        self.start += total;
        let payload = self.buf.get(payload_start..self.start).unwrap_or_default();
        Ok(Some((header, payload)))
    }

    /// The next complete message, decoded as `M`, or `None` if more bytes are
    /// needed.
    pub fn next_message<M: Message>(&mut self) -> Result<Option<M>, ProtocolError> {
        match self.next_frame()? {
            None => Ok(None),
            Some((header, payload)) => M::decode(&header, payload).map(Some),
        }
    }
}

/// Iterates over the messages of one datagram as `(header, payload)`.
///
/// A datagram that ends inside a message yields
/// [`ProtocolError::TruncatedDatagram`] and then stops.
pub fn datagram_frames(datagram: &[u8], max_payload: u32) -> DatagramFrames<'_> {
    DatagramFrames {
        rest: datagram,
        max_payload,
        failed: false,
    }
}

/// Iterator returned by [`datagram_frames`].
#[derive(Debug)]
pub struct DatagramFrames<'a> {
    rest: &'a [u8],
    max_payload: u32,
    failed: bool,
}

impl<'a> Iterator for DatagramFrames<'a> {
    type Item = Result<(Header, &'a [u8]), ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let truncated = |rest: &[u8]| ProtocolError::TruncatedDatagram {
            remaining: rest.len(),
        };
        let Some((header, hlen)) = Header::decode(self.rest) else {
            self.failed = true;
            return Some(Err(truncated(self.rest)));
        };
        if let Err(e) = check_payload_size(&header, self.max_payload) {
            self.failed = true;
            return Some(Err(e));
        }
        let end = hlen + header.payload_size as usize;
        match (self.rest.get(hlen..end), self.rest.get(end..)) {
            (Some(payload), Some(rest)) => {
                self.rest = rest;
                Some(Ok((header, payload)))
            }
            _ => {
                self.failed = true;
                Some(Err(truncated(self.rest)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbr::DbrType;
    use crate::ids::{IoId, Sid};
    use crate::wire::{ClientMessage, Command};

    fn sample_stream() -> (Vec<u8>, Vec<ClientMessage>) {
        let msgs = vec![
            ClientMessage::Version {
                priority: 0,
                minor_version: 13,
                sequence: 0,
            },
            ClientMessage::HostName { name: "vm".into() },
            ClientMessage::WriteNotify {
                data_type: DbrType::Double,
                count: 100_000,
                sid: Sid(1),
                ioid: IoId(7),
                data: vec![0x3f; 800_000],
            },
            ClientMessage::ReadNotify {
                data_type: DbrType::Long,
                count: 1,
                sid: Sid(1),
                ioid: IoId(8),
            },
        ];
        let mut bytes = Vec::new();
        for m in &msgs {
            m.encode(&mut bytes);
        }
        (bytes, msgs)
    }

    #[test]
    fn stream_split_at_every_boundary_decodes_the_same() {
        let (bytes, msgs) = sample_stream();
        // Splitting the big message every few bytes is slow in debug builds;
        // every cut point of the small messages plus a spread over the rest.
        let cuts: Vec<usize> = (0..64).chain((64..bytes.len()).step_by(9973)).collect();
        for cut in cuts {
            let mut d = StreamDecoder::new(1 << 20);
            let mut got = Vec::new();
            for piece in [&bytes[..cut], &bytes[cut..]] {
                d.push(piece);
                while let Some(m) = d.next_message::<ClientMessage>().unwrap() {
                    got.push(m);
                }
            }
            assert_eq!(got, msgs, "cut at {cut}");
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn byte_at_a_time_decodes_the_same() {
        let msgs = vec![
            ClientMessage::Version {
                priority: 0,
                minor_version: 13,
                sequence: 0,
            },
            ClientMessage::ClientName {
                name: "someone".into(),
            },
            ClientMessage::Echo,
        ];
        let mut bytes = Vec::new();
        for m in &msgs {
            m.encode(&mut bytes);
        }
        let mut d = StreamDecoder::new(1024);
        let mut got = Vec::new();
        for b in bytes {
            d.push(&[b]);
            while let Some(m) = d.next_message::<ClientMessage>().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, msgs);
    }

    #[test]
    fn huge_declared_payload_is_refused_before_allocation() {
        let h = Header {
            command: Command::WRITE,
            payload_size: 0xFFFF_FFF0,
            data_type: 6,
            data_count: 1,
            parameter1: 1,
            parameter2: 1,
        };
        let mut bytes = Vec::new();
        h.encode(&mut bytes);
        let mut d = StreamDecoder::new(16384);
        d.push(&bytes);
        assert!(matches!(
            d.next_frame(),
            Err(ProtocolError::PayloadTooLarge {
                size: 0xFFFF_FFF0,
                ..
            })
        ));
        assert!(d.buf.capacity() < 1 << 20);
    }

    #[test]
    fn decoding_goes_on_after_a_refused_payload() {
        let big = ClientMessage::Write {
            data_type: DbrType::Double,
            count: 4096,
            sid: Sid(1),
            ioid: IoId(1),
            data: vec![7; 32768],
        };
        let mut bytes = Vec::new();
        big.encode(&mut bytes);
        ClientMessage::Echo.encode(&mut bytes);
        for piece in [1usize, 7, 1000, bytes.len()] {
            let mut d = StreamDecoder::new(16384);
            let mut got = Vec::new();
            let mut refused = 0;
            for chunk in bytes.chunks(piece) {
                d.push(chunk);
                loop {
                    match d.next_message::<ClientMessage>() {
                        Ok(Some(m)) => got.push(m),
                        Ok(None) => break,
                        Err(ProtocolError::PayloadTooLarge { header, .. }) => {
                            assert_eq!(header.payload_size, 32768);
                            refused += 1;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            assert_eq!(
                (refused, got),
                (1, vec![ClientMessage::Echo]),
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn datagram_with_several_messages_and_a_truncated_tail() {
        let mut dg = Vec::new();
        ClientMessage::Version {
            priority: 1,
            minor_version: 13,
            sequence: 1,
        }
        .encode(&mut dg);
        ClientMessage::Search {
            reply: 5,
            minor_version: 13,
            cid: crate::Cid(1),
            name: "a".into(),
        }
        .encode(&mut dg);
        let frames: Vec<_> = datagram_frames(&dg, 16384).collect();
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().all(|f| f.is_ok()));
        let truncated = &dg[..dg.len() - 3];
        let frames: Vec<_> = datagram_frames(truncated, 16384).collect();
        assert_eq!(frames.len(), 2);
        assert!(matches!(
            frames[1],
            Err(ProtocolError::TruncatedDatagram { .. })
        ));
    }
}
