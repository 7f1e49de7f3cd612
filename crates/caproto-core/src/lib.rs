//! `caproto-core`: the EPICS Channel Access (CA) protocol with no I/O.
//!
//! This crate performs no networking, reads no clock, environment or file, and
//! spawns no threads. Callers feed it bytes and the current time; it hands back
//! bytes to send, the next deadline, and events. Front-ends (tokio, blocking,
//! embedded) drive the same state machines.
//!
//! Layout:
//! - [`wire`]: the 16-byte header, the extended header, every CA command, and
//!   incremental stream / datagram decoding;
//! - [`dbr`]: the 39 DBR types, their exact layouts, values, metadata, and the
//!   type conversions an EPICS server performs;
//! - [`circuit`]: [`circuit::ClientCircuit`] and [`circuit::ServerCircuit`],
//!   the TCP virtual-circuit state machines with their timers;
//! - [`udp`]: search, beacons and the repeater protocol;
//! - [`config`]: `EPICS_CA_*` / `EPICS_CAS_*` configuration from an env
//!   lookup function.
//!
//! # The driving contract
//!
//! Every state machine is driven in the same way (after quinn-proto):
//! inputs take `now` (`handle_input(now, bytes)`, `handle_timeout(now)`, ...);
//! application commands return typed ids; after every input or command the
//! caller drains `poll_transmit`, `poll_event` and reads `poll_timeout` until
//! they are empty.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod circuit;
pub mod config;
pub mod dbr;
pub mod error;
pub mod ids;
pub mod status;
pub mod udp;
pub mod wire;

pub use error::{ProtocolError, UsageError};
pub use ids::{Cid, IoId, Sid, SubId};
pub use status::{AccessRights, AlarmSeverity, AlarmStatus, EcaStatus};

/// The CA protocol minor version this crate speaks (CA protocol spec, "Protocol
/// versions"; EPICS base `caProto.h` `CA_MINOR_PROTOCOL_REVISION`).
pub const CA_MINOR_VERSION: u16 = 13;

/// Default TCP/UDP server port (`caProto.h` `CA_SERVER_PORT`).
pub const DEFAULT_SERVER_PORT: u16 = 5064;

/// Default repeater port (`caProto.h` `CA_REPEATER_PORT`).
pub const DEFAULT_REPEATER_PORT: u16 = 5065;

/// Default priority of a virtual circuit (`cadef.h` `CA_PRIORITY_DEFAULT`).
pub const DEFAULT_PRIORITY: u16 = 0;

/// Largest priority a client may request (`cadef.h` `CA_PRIORITY_MAX`).
pub const MAX_PRIORITY: u16 = 99;
