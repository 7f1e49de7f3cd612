//! UDP: search, beacons and the repeater protocol.
//!
//! | type | role | EPICS base counterpart |
//! |---|---|---|
//! | [`SearchEngine`] | client: bundles SEARCH requests, retries with backoff, reports replies | libca `udpiiu.cpp`, `searchTimer.cpp` |
//! | [`SearchResponder`] | server: answers a search datagram | rsrv `cast_server.c`, `camessage.c` |
//! | [`BeaconEmitter`] | server: beacons with the start-up ramp | rsrv `online_notify.c` |
//! | [`BeaconTracker`] | client: beacon anomaly detection | libca `bhe.cpp`, `cac.cpp` |
//! | [`Repeater`] | the `caRepeater` fan-out | libca `repeater.cpp` |
//! | [`RepeaterRegistration`] | client: registering with the repeater | libca `repeaterSubscribeTimer.cpp`, `udpiiu.cpp` |
//!
//! All of them follow the crate's driving contract (see the crate
//! documentation): inputs take `now` (a monotonic [`Instant`] that never goes
//! backwards between calls), outputs are drained with `poll_transmit`,
//! `poll_event` and `poll_timeout`. None of them touches a socket: the
//! front-end receives datagrams, passes them in with the sender's address,
//! and sends what comes out.
//!
//! A front-end's client UDP socket typically receives search replies,
//! beacons forwarded by the repeater and the repeater's confirmation on the
//! same socket (as libca's does); each consumer's `handle_datagram` takes
//! what is meant for it and ignores the rest, so the same datagram can be
//! offered to all three.
//!
//! [`Instant`]: std::time::Instant

mod beacon;
mod repeater;
mod responder;
mod search;

pub use beacon::{
    AnomalyReason, Beacon, BeaconAnomaly, BeaconEmitter, BeaconTracker, BeaconTrackerConfig,
    BEACON_INITIAL_DELAY, DEFAULT_FORGET_AFTER, DEFAULT_MAX_TRACKED_SERVERS,
};
pub use repeater::{
    RegistrationEvent, Repeater, RepeaterConfig, RepeaterEvent, RepeaterRegistration,
    DEFAULT_MAX_REPEATER_CLIENTS, REPEATER_SUBSCRIBE_INITIAL_DELAY, REPEATER_SUBSCRIBE_PERIOD,
    REPEATER_TRIES_BEFORE_WARNING,
};
pub use responder::SearchResponder;
pub use search::{
    SearchConfig, SearchEngine, SearchEvent, BEACON_ANOMALY_SEARCH_PERIOD, MAX_FRAMES_PER_TRY,
    MAX_ROUND_TRIP_ESTIMATE, MIN_ROUND_TRIP_ESTIMATE,
};

use crate::error::ProtocolError;
use crate::wire::{datagram_frames, Header, Message, ServerMessage, MAX_UDP_RECV};

/// Value of the VERSION message's `data_type` field meaning "the
/// `parameter1` field holds a valid search sequence number" (`caProto.h`
/// `sequenceNoIsValid`).
pub const SEQUENCE_NO_IS_VALID: u16 = 1;

/// Largest payload a message in a datagram can declare: a datagram is at
/// most [`MAX_UDP_RECV`] bytes.
const DATAGRAM_PAYLOAD_LIMIT: u32 = MAX_UDP_RECV as u32;

/// Decodes every message of a datagram sent by a server (or forwarded by a
/// repeater), calling `f` on each in order.
///
/// Stops at the first malformed message and returns its error; the messages
/// before it have been passed to `f` (libca `udpiiu.cpp` `postMsg` handles a
/// datagram the same way).
fn for_each_server_message(
    bytes: &[u8],
    mut f: impl FnMut(&Header, ServerMessage),
) -> Result<(), ProtocolError> {
    for frame in datagram_frames(bytes, DATAGRAM_PAYLOAD_LIMIT) {
        let (header, payload) = frame?;
        let msg = ServerMessage::decode(&header, payload)?;
        f(&header, msg);
    }
    Ok(())
}
