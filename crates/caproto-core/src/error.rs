//! The three kinds of error, never mixed (DESIGN.md section 4):
//! - [`ProtocolError`]: the peer sent something malformed or illegal; the
//!   circuit it came on should be closed, the process keeps running;
//! - [`UsageError`]: the caller asked for something impossible; non-fatal;
//! - a status reported by the remote side is data ([`crate::EcaStatus`]),
//!   carried in events, never an error of this crate.

use core::fmt;

use crate::wire::{Command, Header};

/// The peer sent malformed or illegal input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A header declared a payload larger than the configured maximum
    /// (`EPICS_CA_MAX_ARRAY_BYTES` plus header room). Refused before any
    /// allocation.
    PayloadTooLarge {
        /// The header as received: a circuit answers or fails the request it
        /// names, and [`crate::wire::StreamDecoder`] skips the payload.
        header: Header,
        /// Command code of the offending message.
        command: Command,
        /// Declared payload size.
        size: u32,
        /// The configured limit.
        limit: u32,
    },
    /// A datagram ended in the middle of a message.
    TruncatedDatagram {
        /// Bytes left over at the end of the datagram.
        remaining: usize,
    },
    /// A payload was shorter than the command or DBR type requires.
    PayloadTooShort {
        /// Command code of the offending message.
        command: Command,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The command code is not a CA command.
    UnknownCommand {
        /// The header as received.
        header: Header,
    },
    /// The command is valid CA but is not sent in this direction or on this
    /// transport (e.g. a CREATE_CHAN request arriving at a client).
    UnexpectedCommand {
        /// The command.
        command: Command,
        /// Why it is not acceptable here.
        context: &'static str,
    },
    /// The data type field is not one of the 39 DBR types.
    BadDbrType {
        /// The header as received (a server answers with ECA_BADTYPE using it).
        header: Header,
    },
    /// A name (channel, host or client name) is empty, not NUL-terminated
    /// within its payload, or not valid text.
    BadName {
        /// The command that carried it.
        command: Command,
    },
    /// A message refers to an id the receiver does not know.
    UnknownId {
        /// The command.
        command: Command,
        /// What kind of id ("sid", "cid", "ioid", "subscription id").
        kind: &'static str,
        /// Its value.
        id: u32,
    },
    /// A message that is only legal in another state of the circuit.
    IllegalState {
        /// The command.
        command: Command,
        /// The state it arrived in.
        state: &'static str,
    },
    /// A DBR payload is shorter than its type and count require.
    BadDbrPayload {
        /// The DBR type.
        dbr_type: crate::dbr::DbrType,
        /// The element count.
        count: u32,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The element count does not fit the payload or is otherwise invalid.
    BadCount {
        /// The command.
        command: Command,
        /// The declared count.
        count: u32,
    },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::PayloadTooLarge {
                command, size, limit, ..
            } => write!(
                f,
                "{command} declares a {size}-byte payload, above the limit of {limit} bytes (EPICS_CA_MAX_ARRAY_BYTES)"
            ),
            ProtocolError::TruncatedDatagram { remaining } => {
                write!(f, "datagram ends inside a message ({remaining} bytes left over)")
            }
            ProtocolError::PayloadTooShort { command, needed, got } => {
                write!(f, "{command} payload is {got} bytes, needs {needed}")
            }
            ProtocolError::UnknownCommand { header } => {
                write!(f, "unknown command code {}", header.command.0)
            }
            ProtocolError::UnexpectedCommand { command, context } => {
                write!(f, "{command} not expected: {context}")
            }
            ProtocolError::BadDbrType { header } => {
                write!(f, "{} with invalid DBR type {}", header.command, header.data_type)
            }
            ProtocolError::BadName { command } => write!(f, "{command} carries an invalid name"),
            ProtocolError::UnknownId { command, kind, id } => {
                write!(f, "{command} refers to unknown {kind} {id}")
            }
            ProtocolError::IllegalState { command, state } => {
                write!(f, "{command} is illegal in state {state}")
            }
            ProtocolError::BadDbrPayload { dbr_type, count, needed, got } => write!(
                f,
                "{dbr_type} payload of {count} elements needs {needed} bytes, got {got}"
            ),
            ProtocolError::BadCount { command, count } => {
                write!(f, "{command} has invalid element count {count}")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// The caller asked for something the protocol or the current state does not
/// allow. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// The channel name is empty (`ECA_EMPTYSTR`).
    EmptyName,
    /// The name is longer than a CA message can carry.
    NameTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name contains a NUL byte.
    NameHasNul,
    /// A string value longer than 39 characters (`ECA_STRTOBIG`).
    StringTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// More elements requested than the channel has (`ECA_BADCOUNT`).
    BadCount {
        /// Requested.
        requested: u32,
        /// Native count of the channel.
        native: u32,
    },
    /// The id does not name a live channel / request / subscription.
    UnknownId {
        /// What kind of id.
        kind: &'static str,
        /// Its value.
        id: u32,
    },
    /// The operation needs a connected channel.
    NotConnected,
    /// The channel has no read access (`ECA_NORDACCESS`).
    NoReadAccess,
    /// The channel has no write access (`ECA_NOWTACCESS`).
    NoWriteAccess,
    /// The circuit is closed.
    CircuitClosed,
    /// Priority above [`crate::MAX_PRIORITY`] (`ECA_BADPRIORITY`).
    BadPriority(u16),
    /// The payload would exceed the configured maximum array size
    /// (`ECA_TOLARGE`).
    TooLarge {
        /// Payload bytes.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// A value could not be converted to the requested type.
    Conversion(crate::dbr::ConversionError),
    /// No ids left (all 2^32 in use).
    IdsExhausted,
    /// An event mask with none of VALUE, LOG, ALARM, PROPERTY (`ECA_BADMASK`).
    BadMask(u16),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::EmptyName => f.write_str("channel name is empty"),
            UsageError::NameTooLong { len, max } => {
                write!(f, "name is {len} bytes long, the limit is {max}")
            }
            UsageError::NameHasNul => f.write_str("name contains a NUL byte"),
            UsageError::StringTooLong { len } => {
                write!(
                    f,
                    "string value is {len} bytes, the limit is 39 (ECA_STRTOBIG)"
                )
            }
            UsageError::BadCount { requested, native } => write!(
                f,
                "{requested} elements requested but the channel has {native} (ECA_BADCOUNT)"
            ),
            UsageError::UnknownId { kind, id } => write!(f, "no {kind} {id}"),
            UsageError::NotConnected => f.write_str("channel is not connected"),
            UsageError::NoReadAccess => f.write_str("no read access (ECA_NORDACCESS)"),
            UsageError::NoWriteAccess => f.write_str("no write access (ECA_NOWTACCESS)"),
            UsageError::CircuitClosed => f.write_str("circuit is closed"),
            UsageError::BadPriority(p) => write!(f, "priority {p} is above 99 (ECA_BADPRIORITY)"),
            UsageError::TooLarge { size, limit } => write!(
                f,
                "payload of {size} bytes exceeds EPICS_CA_MAX_ARRAY_BYTES ({limit}) (ECA_TOLARGE)"
            ),
            UsageError::Conversion(e) => write!(f, "{e}"),
            UsageError::IdsExhausted => f.write_str("no free ids"),
            UsageError::BadMask(m) => write!(f, "event mask {m:#x} selects no event (ECA_BADMASK)"),
        }
    }
}

impl std::error::Error for UsageError {}

impl From<crate::dbr::ConversionError> for UsageError {
    fn from(e: crate::dbr::ConversionError) -> Self {
        UsageError::Conversion(e)
    }
}
