//! TCP virtual-circuit state machines: [`ClientCircuit`] (one connection from a
//! client to a server, carrying many channels) and [`ServerCircuit`] (the
//! server's side of one client connection).
//!
//! Both follow the crate's driving contract:
//!
//! | method class | methods | notes |
//! |---|---|---|
//! | inputs | `handle_input(now, bytes)`, `handle_eof(now)`, `handle_timeout(now)` | `now` is monotonic, never earlier than the previous call |
//! | commands | `create_channel`, `read`, `write`, `subscribe`, ... (client); `accept_channel`, `read_reply`, `post_event`, ... (server) | return typed ids or a [`crate::UsageError`]; nothing is sent on error |
//! | outputs | `poll_transmit(&mut Vec<u8>)`, `poll_event()`, `poll_timeout()` | drain after every input or command until empty |
//!
//! A [`crate::ProtocolError`] returned by `handle_input` means the peer is
//! faulty: the circuit has moved to its closed state, and the caller should
//! flush `poll_transmit` (it may hold a final ERROR for the peer) and close
//! the connection.

mod client;
mod server;

pub use client::{
    ChannelInfo, ClientCircuit, ClientCircuitConfig, ClientEvent, CloseReason, DbrPayload,
    RemoteError, SubscriptionSpec,
};
pub use server::{ReadRequest, ServerCircuit, ServerCircuitConfig, ServerEvent, WriteRequest};

use std::time::Duration;

/// Default silence after which a client sends an ECHO
/// (`EPICS_CA_CONN_TMO`, EPICS base `envData`: 30 s).
pub const DEFAULT_CONN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client waits for the answer to an ECHO before it declares the
/// circuit unresponsive (libca `iocinf.h` `CA_ECHO_TIMEOUT`, 5 s).
pub const ECHO_TIMEOUT: Duration = Duration::from_secs(5);

/// Default largest payload accepted: the `EPICS_CA_MAX_ARRAY_BYTES` default
/// of 16384 bytes (EPICS base `CONFIG_ENV`) plus room for the largest DBR
/// metadata block. Larger payloads are skipped and the request they belong
/// to fails with ECA_TOLARGE; the circuit stays up.
pub const DEFAULT_MAX_PAYLOAD: u32 = 16384 + 512;

/// Moves everything queued in `queued` to the end of `out` (swapping buffers
/// when `out` is empty, so the common case copies nothing); returns whether
/// there was anything. Both circuits' `poll_transmit`.
fn move_queued(queued: &mut Vec<u8>, out: &mut Vec<u8>) -> bool {
    if queued.is_empty() {
        return false;
    }
    if out.is_empty() {
        std::mem::swap(out, queued);
    } else {
        out.append(queued);
    }
    true
}
