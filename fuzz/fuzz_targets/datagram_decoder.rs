//! `datagram_frames` on arbitrary datagrams: every frame is within the
//! limit, decodes or fails cleanly both as a client and as a server message,
//! and iteration ends after an error.
//!
//! Input layout: byte 0 selects the limit, the rest is the datagram.
#![no_main]

use caproto_core::wire::{datagram_frames, MAX_UDP_RECV};
use caproto_core::ProtocolError;
use caproto_fuzz::{check_frame, limit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, datagram)) = data.split_first() else {
        return;
    };
    // Datagrams are at most MAX_UDP_RECV bytes on the wire.
    let datagram = datagram.get(..MAX_UDP_RECV).unwrap_or(datagram);
    let limit = limit(sel);
    let mut consumed = 0usize;
    let mut errors = 0;
    for frame in datagram_frames(datagram, limit) {
        assert_eq!(errors, 0, "a frame after an error");
        match frame {
            Ok((h, payload)) => {
                check_frame(&h, payload, limit);
                consumed += payload.len();
            }
            Err(ProtocolError::PayloadTooLarge { size, .. }) => {
                assert!(size > limit);
                errors += 1;
            }
            Err(ProtocolError::TruncatedDatagram { remaining }) => {
                assert!(remaining > 0 && remaining <= datagram.len());
                errors += 1;
            }
            Err(e) => panic!("unexpected datagram error {e:?}"),
        }
    }
    assert!(consumed <= datagram.len());
});
