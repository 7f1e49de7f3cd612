//! A `ServerCircuit` fed arbitrary client bytes in fuzzer-chosen pieces, with
//! an application that accepts every channel and answers every request:
//! no panic, and everything the circuit sends back is well-formed CA.
//!
//! Input layout: byte 0 the piece size (1..=256), the rest the stream.
#![no_main]

use std::time::Instant;

use caproto_core::circuit::{ServerCircuit, ServerCircuitConfig, ServerEvent};
use caproto_core::dbr::DbrType;
use caproto_core::wire::{ServerMessage, StreamDecoder};
use caproto_core::{AccessRights, EcaStatus};
use libfuzzer_sys::fuzz_target;

fn serve(server: &mut ServerCircuit) {
    while let Some(ev) = server.poll_event() {
        match ev {
            ServerEvent::CreateChannel { cid, .. } => {
                let _ = server.accept_channel(cid, DbrType::Double, 4, AccessRights(cid.0 & 3));
            }
            ServerEvent::Read(req) => server.read_reply(&req, Ok((1, vec![0; 8]))),
            ServerEvent::Write(req) => server.write_reply(&req, Err(EcaStatus::ECA_PUTFAIL)),
            ServerEvent::Subscribe { subid, .. } => {
                server.post_event(subid, EcaStatus::ECA_NORMAL, 1, vec![0; 8])
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&piece, stream)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let mut server = ServerCircuit::new(now, ServerCircuitConfig { max_payload: 1 << 16, ..Default::default() });
    let mut out = Vec::new();
    for chunk in stream.chunks(usize::from(piece).max(1)) {
        let failed = server.handle_input(now, chunk).is_err();
        serve(&mut server);
        server.poll_transmit(&mut out);
        if failed {
            break;
        }
    }
    let mut d = StreamDecoder::new(1 << 20);
    d.push(&out);
    while d.next_message::<ServerMessage>().expect("our output is valid CA").is_some() {}
    assert_eq!(d.buffered(), 0);
});
