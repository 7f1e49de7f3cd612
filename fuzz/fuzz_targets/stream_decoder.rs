//! `StreamDecoder` on arbitrary bytes: the input is decoded fed in one piece
//! and fed in pieces of a size chosen by the input; both must give the same
//! messages and the same final error, within the payload limit.
//!
//! Input layout: byte 0 selects the limit, byte 1 the piece size (0 = one
//! byte at a time ... 255), the rest is the stream.
#![no_main]

use caproto_core::wire::{ClientMessage, Message, ServerMessage, StreamDecoder};
use caproto_core::ProtocolError;
use caproto_fuzz::{check_frame, check_reencoding, limit};
use libfuzzer_sys::fuzz_target;

/// Messages (as their encodings) and the error that stopped decoding.
type Outcome = (Vec<Vec<u8>>, Option<ProtocolError>);

fn run<M: Message + std::fmt::Debug>(stream: &[u8], piece: usize, limit: u32) -> Outcome {
    let mut d = StreamDecoder::new(limit);
    let mut got = Vec::new();
    for chunk in stream.chunks(piece.max(1)) {
        d.push(chunk);
        loop {
            match d.next_message::<M>() {
                Ok(Some(m)) => got.push(check_reencoding(&m)),
                Ok(None) => break,
                Err(e @ ProtocolError::PayloadTooLarge { size, limit: l, .. }) => {
                    assert!(size > limit && l == limit);
                    // Framing is lost: a circuit would be closed here.
                    return (got, Some(e));
                }
                // A bad message is consumed: decoding may go on.
                Err(e) => got.push(format!("{e:?}").into_bytes()),
            }
        }
    }
    assert!(d.buffered() <= stream.len());
    (got, None)
}

fuzz_target!(|data: &[u8]| {
    let (Some(&sel), Some(&piece)) = (data.first(), data.get(1)) else {
        return;
    };
    let limit = limit(sel);
    let stream = data.get(2..).unwrap_or_default();
    let piece = usize::from(piece) + 1;

    assert_eq!(
        run::<ClientMessage>(stream, stream.len(), limit),
        run::<ClientMessage>(stream, piece, limit)
    );
    assert_eq!(
        run::<ServerMessage>(stream, stream.len(), limit),
        run::<ServerMessage>(stream, piece, limit)
    );

    // Raw frames.
    let mut d = StreamDecoder::new(limit);
    d.push(stream);
    while let Ok(Some((h, payload))) = d.next_frame() {
        check_frame(&h, payload, limit);
    }
});
