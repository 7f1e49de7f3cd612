//! The CA wire format: headers, commands, messages, stream and datagram
//! decoding.
//!
//! Every CA message is a 16-byte big-endian header, optionally extended by
//! two 32-bit fields, followed by a payload padded to a multiple of 8 bytes
//! (CA protocol spec, "Message header" and "Extended message header").

mod messages;
mod stream;

pub use messages::{ClientMessage, EventMask, Message, ServerMessage};
pub use stream::{datagram_frames, DatagramFrames, StreamDecoder};

use core::fmt;

use crate::error::ProtocolError;

/// Size of the standard header (CA protocol spec, "Message header").
pub const HEADER_SIZE: usize = 16;

/// Size of the extended header: the standard 16 bytes plus 32-bit payload size
/// and element count (CA protocol spec, "Extended message header").
pub const EXTENDED_HEADER_SIZE: usize = 24;

/// Payload sizes are multiples of 8 bytes (libca `comQueSend.cpp`, rsrv
/// `caserverio.c`: `CA_MESSAGE_ALIGN`).
pub const PAYLOAD_ALIGN: usize = 8;

/// Marker in the 16-bit payload size field announcing an extended header.
pub const EXTENDED_MARKER: u16 = 0xFFFF;

/// Size of a `caHdr`-style datagram a client may send (`caProto.h`
/// `MAX_UDP_SEND`). Search requests are bundled up to this size.
pub const MAX_UDP_SEND: usize = 1024;

/// Largest datagram a CA peer may receive (`caProto.h` `MAX_UDP_RECV`,
/// 0xFFFF + 16).
pub const MAX_UDP_RECV: usize = 0xFFFF + 16;

/// Longest channel name accepted: it must fit in one search request of a
/// [`MAX_UDP_SEND`] datagram after the VERSION message and its own header,
/// with its terminating NUL.
pub const MAX_NAME_LEN: usize = MAX_UDP_SEND - 2 * HEADER_SIZE - 1;

/// Value of the `data_type` field of SEARCH / NOT_FOUND meaning "reply even
/// when not found" (`caProto.h` `DO_REPLY`).
pub const DO_REPLY: u16 = 10;

/// Value of the `data_type` field of SEARCH meaning "do not reply when not
/// found" (`caProto.h` `DONT_REPLY`).
pub const DONT_REPLY: u16 = 5;

/// Server address meaning "the address the datagram came from" in a search
/// reply (CA protocol spec, CA_PROTO_SEARCH response: `INADDR_BROADCAST`).
pub const ADDR_FROM_SENDER: u32 = 0xFFFF_FFFF;

/// A CA command code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Command(pub u16);

macro_rules! commands {
    ($( $(#[$doc:meta])* $name:ident = $val:expr, $obsolete:expr; )*) => {
        impl Command {
            $( $(#[$doc])* pub const $name: Command = Command($val); )*

            /// The command's name in the CA spec without the `CA_PROTO_`
            /// prefix, if it is a known command.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// True for commands that EPICS base no longer sends or serves
            /// (decoded, reported, never acted on).
            pub fn is_obsolete(self) -> bool {
                match self.0 {
                    $( $val => $obsolete, )*
                    _ => false,
                }
            }
        }
    };
}

// Command codes: CA protocol spec, "Commands"; EPICS base caProto.h.
commands! {
    /// CA_PROTO_VERSION.
    VERSION = 0, false;
    /// CA_PROTO_EVENT_ADD (subscribe; also every monitor update).
    EVENT_ADD = 1, false;
    /// CA_PROTO_EVENT_CANCEL.
    EVENT_CANCEL = 2, false;
    /// CA_PROTO_READ (deprecated in favour of READ_NOTIFY, still served).
    READ = 3, false;
    /// CA_PROTO_WRITE.
    WRITE = 4, false;
    /// CA_PROTO_SNAPSHOT (obsolete).
    SNAPSHOT = 5, true;
    /// CA_PROTO_SEARCH.
    SEARCH = 6, false;
    /// CA_PROTO_BUILD (obsolete).
    BUILD = 7, true;
    /// CA_PROTO_EVENTS_OFF.
    EVENTS_OFF = 8, false;
    /// CA_PROTO_EVENTS_ON.
    EVENTS_ON = 9, false;
    /// CA_PROTO_READ_SYNC.
    READ_SYNC = 10, false;
    /// CA_PROTO_ERROR.
    ERROR = 11, false;
    /// CA_PROTO_CLEAR_CHANNEL.
    CLEAR_CHANNEL = 12, false;
    /// CA_PROTO_RSRV_IS_UP (beacon).
    RSRV_IS_UP = 13, false;
    /// CA_PROTO_NOT_FOUND.
    NOT_FOUND = 14, false;
    /// CA_PROTO_READ_NOTIFY.
    READ_NOTIFY = 15, false;
    /// CA_PROTO_READ_BUILD (obsolete).
    READ_BUILD = 16, true;
    /// REPEATER_CONFIRM.
    REPEATER_CONFIRM = 17, false;
    /// CA_PROTO_CREATE_CHAN.
    CREATE_CHAN = 18, false;
    /// CA_PROTO_WRITE_NOTIFY.
    WRITE_NOTIFY = 19, false;
    /// CA_PROTO_CLIENT_NAME.
    CLIENT_NAME = 20, false;
    /// CA_PROTO_HOST_NAME.
    HOST_NAME = 21, false;
    /// CA_PROTO_ACCESS_RIGHTS.
    ACCESS_RIGHTS = 22, false;
    /// CA_PROTO_ECHO.
    ECHO = 23, false;
    /// REPEATER_REGISTER.
    REPEATER_REGISTER = 24, false;
    /// CA_PROTO_SIGNAL (obsolete).
    SIGNAL = 25, true;
    /// CA_PROTO_CREATE_CH_FAIL.
    CREATE_CH_FAIL = 26, false;
    /// CA_PROTO_SERVER_DISCONN.
    SERVER_DISCONN = 27, false;
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Command({})", self.0),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A decoded message header, with the extended fields already folded in.
///
/// The meaning of `data_type`, `data_count`, `parameter1` and `parameter2`
/// depends on the command; [`ClientMessage`] and [`ServerMessage`] give them
/// names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Header {
    /// Command code.
    pub command: Command,
    /// Payload size in bytes (padded size, as on the wire).
    pub payload_size: u32,
    /// Data type field (`m_dataType`).
    pub data_type: u16,
    /// Element count (`m_count`, or the extended 32-bit count).
    pub data_count: u32,
    /// First parameter (`m_cid`).
    pub parameter1: u32,
    /// Second parameter (`m_available`).
    pub parameter2: u32,
}

impl Default for Command {
    fn default() -> Self {
        Command::VERSION
    }
}

impl Header {
    /// True if this header needs the extended form: payload size or count
    /// reaching 0xFFFF (libca `comQueSend.cpp`, rsrv `caserverio.c`).
    pub fn needs_extended(&self) -> bool {
        self.payload_size >= u32::from(EXTENDED_MARKER) || self.data_count >= 0xFFFF
    }

    /// Encoded length of this header (16 or 24).
    pub fn encoded_len(&self) -> usize {
        if self.needs_extended() {
            EXTENDED_HEADER_SIZE
        } else {
            HEADER_SIZE
        }
    }

    /// Appends the header to `out`, in extended form if needed.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.command.0.to_be_bytes());
        if self.needs_extended() {
            out.extend_from_slice(&EXTENDED_MARKER.to_be_bytes());
            out.extend_from_slice(&self.data_type.to_be_bytes());
            out.extend_from_slice(&0u16.to_be_bytes());
            out.extend_from_slice(&self.parameter1.to_be_bytes());
            out.extend_from_slice(&self.parameter2.to_be_bytes());
            out.extend_from_slice(&self.payload_size.to_be_bytes());
            out.extend_from_slice(&self.data_count.to_be_bytes());
        } else {
            // Both fit in 16 bits: needs_extended() is false.
            out.extend_from_slice(&(self.payload_size as u16).to_be_bytes());
            out.extend_from_slice(&self.data_type.to_be_bytes());
            out.extend_from_slice(&(self.data_count as u16).to_be_bytes());
            out.extend_from_slice(&self.parameter1.to_be_bytes());
            out.extend_from_slice(&self.parameter2.to_be_bytes());
        }
    }

    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `None` if `buf` is too short to hold the whole header (16
    /// bytes, or 24 when the payload size field is 0xFFFF),
    /// otherwise the header and its encoded length.
    pub fn decode(buf: &[u8]) -> Option<(Header, usize)> {
        let h: &[u8; HEADER_SIZE] = buf.get(..HEADER_SIZE)?.try_into().ok()?;
        let command = Command(u16::from_be_bytes([h[0], h[1]]));
        let size16 = u16::from_be_bytes([h[2], h[3]]);
        let data_type = u16::from_be_bytes([h[4], h[5]]);
        let count16 = u16::from_be_bytes([h[6], h[7]]);
        let parameter1 = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
        let parameter2 = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        // Extended iff the 16-bit size is 0xFFFF, whatever the 16-bit count
        // says (libca `tcpiiu.cpp` processIncoming, rsrv `camessage.c`).
        if size16 == EXTENDED_MARKER {
            let e: &[u8; 8] = buf
                .get(HEADER_SIZE..EXTENDED_HEADER_SIZE)?
                .try_into()
                .ok()?;
            let payload_size = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let data_count = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
            Some((
                Header {
                    command,
                    payload_size,
                    data_type,
                    data_count,
                    parameter1,
                    parameter2,
                },
                EXTENDED_HEADER_SIZE,
            ))
        } else {
            Some((
                Header {
                    command,
                    payload_size: u32::from(size16),
                    data_type,
                    data_count: u32::from(count16),
                    parameter1,
                    parameter2,
                },
                HEADER_SIZE,
            ))
        }
    }
}

/// Rounds `n` up to the next multiple of 8.
pub fn padded_len(n: usize) -> usize {
    n.div_ceil(PAYLOAD_ALIGN) * PAYLOAD_ALIGN
}

/// Appends `n` zero bytes.
pub(crate) fn pad_zeros(out: &mut Vec<u8>, n: usize) {
    out.resize(out.len() + n, 0);
}

/// Checks a channel name the way libca does before sending it: not empty,
/// no NUL, not longer than [`MAX_NAME_LEN`].
pub fn validate_name(name: &str) -> Result<(), crate::UsageError> {
    if name.is_empty() {
        return Err(crate::UsageError::EmptyName);
    }
    if name.as_bytes().contains(&0) {
        return Err(crate::UsageError::NameHasNul);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(crate::UsageError::NameTooLong {
            len: name.len(),
            max: MAX_NAME_LEN,
        });
    }
    Ok(())
}

/// Checks that a declared payload size is within `limit`, before anything is
/// allocated for it.
pub(crate) fn check_payload_size(header: &Header, limit: u32) -> Result<(), ProtocolError> {
    if header.payload_size > limit {
        return Err(ProtocolError::PayloadTooLarge {
            header: *header,
            command: header.command,
            size: header.payload_size,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_header_round_trips() {
        let h = Header {
            command: Command::READ_NOTIFY,
            payload_size: 0,
            data_type: 20,
            data_count: 1,
            parameter1: 0xb,
            parameter2: 1,
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(
            out,
            [0x00, 0x0f, 0, 0, 0, 0x14, 0, 1, 0, 0, 0, 0x0b, 0, 0, 0, 1]
        );
        assert_eq!(Header::decode(&out), Some((h, 16)));
    }

    #[test]
    fn extended_header_used_from_0xffff_elements() {
        let h = Header {
            command: Command::READ_NOTIFY,
            payload_size: 0,
            data_type: 6,
            data_count: 0xFFFF,
            parameter1: 1,
            parameter2: 2,
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), 24);
        assert_eq!(&out[2..4], &[0xff, 0xff]);
        assert_eq!(&out[6..8], &[0, 0]);
        assert_eq!(&out[20..24], &[0, 0, 0xff, 0xff]);
        assert_eq!(Header::decode(&out), Some((h, 24)));
        // One byte short of the extension: not yet decodable.
        assert_eq!(Header::decode(&out[..23]), None);
    }

    #[test]
    fn short_buffers_are_incomplete_not_errors() {
        assert_eq!(Header::decode(&[0u8; 15]), None);
        assert_eq!(Header::decode(&[]), None);
    }

    #[test]
    fn names_are_validated_like_libca() {
        assert_eq!(validate_name(""), Err(crate::UsageError::EmptyName));
        assert_eq!(validate_name("a\0b"), Err(crate::UsageError::NameHasNul));
        assert!(validate_name(&"x".repeat(MAX_NAME_LEN)).is_ok());
        assert!(validate_name(&"x".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn padding_rounds_up_to_eight() {
        assert_eq!(padded_len(0), 0);
        assert_eq!(padded_len(1), 8);
        assert_eq!(padded_len(8), 8);
        assert_eq!(padded_len(9), 16);
    }
}
