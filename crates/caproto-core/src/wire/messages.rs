//! Typed CA messages, one enum per sender: [`ClientMessage`] for what a
//! client sends (to a server over TCP or UDP, or to a repeater) and
//! [`ServerMessage`] for what a server or repeater sends.
//!
//! Decoding and validation are one step: a message that decodes is
//! well-formed. Data payloads (DBR values) are kept as the raw, padded bytes
//! from the wire so that re-encoding reproduces them exactly; decode them
//! with [`crate::dbr`] when the values are needed.

use super::{pad_zeros, padded_len, Command, Header, ADDR_FROM_SENDER, HEADER_SIZE, MAX_NAME_LEN};
use crate::dbr::DbrType;
use crate::error::ProtocolError;
use crate::ids::{Cid, IoId, Sid, SubId};
use crate::status::{AccessRights, EcaStatus};

/// A typed CA message that can be decoded from a header and payload and
/// encoded back.
pub trait Message: Sized {
    /// Decodes a message from its header and (padded) payload.
    fn decode(header: &Header, payload: &[u8]) -> Result<Self, ProtocolError>;

    /// The header this message is encoded with.
    fn header(&self) -> Header;

    /// Appends the header and payload, padded to 8 bytes, to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Encoded length in bytes.
    fn encoded_len(&self) -> usize {
        let h = self.header();
        h.encoded_len() + h.payload_size as usize
    }
}

/// Subscription event mask (`caeventmask.h`): which changes fire a monitor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct EventMask(pub u16);

impl EventMask {
    /// `DBE_VALUE`: value changes beyond the monitor deadband.
    pub const VALUE: EventMask = EventMask(1);
    /// `DBE_LOG` (also `DBE_ARCHIVE`): changes beyond the archive deadband.
    pub const LOG: EventMask = EventMask(2);
    /// `DBE_ALARM`: alarm status or severity changes.
    pub const ALARM: EventMask = EventMask(4);
    /// `DBE_PROPERTY`: metadata (units, limits, enum strings) changes.
    pub const PROPERTY: EventMask = EventMask(8);

    /// True if any bit of `other` is set in `self`.
    pub fn intersects(self, other: EventMask) -> bool {
        self.0 & other.0 != 0
    }
}

impl core::ops::BitOr for EventMask {
    type Output = EventMask;
    fn bitor(self, rhs: EventMask) -> EventMask {
        EventMask(self.0 | rhs.0)
    }
}

/// A message sent by a client (or by a client library to a repeater).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientMessage {
    /// CA_PROTO_VERSION. On TCP `priority` is the circuit priority; on UDP
    /// libca sets it to 1 when `sequence` holds a valid search sequence
    /// number (libca `udpiiu.cpp`).
    Version {
        /// Priority (TCP) or "sequence number valid" flag (UDP).
        priority: u16,
        /// The client's minor protocol version.
        minor_version: u16,
        /// Search sequence number (UDP), 0 on TCP.
        sequence: u32,
    },
    /// CA_PROTO_SEARCH request.
    Search {
        /// [`super::DO_REPLY`] or [`super::DONT_REPLY`].
        reply: u16,
        /// The client's minor protocol version.
        minor_version: u16,
        /// The client's channel id, echoed in the reply.
        cid: Cid,
        /// The channel name.
        name: String,
    },
    /// CA_PROTO_CREATE_CHAN request.
    CreateChan {
        /// Client channel id.
        cid: Cid,
        /// The client's minor protocol version.
        minor_version: u32,
        /// The channel name.
        name: String,
    },
    /// CA_PROTO_CLIENT_NAME: the user name of the client.
    ClientName {
        /// User name.
        name: String,
    },
    /// CA_PROTO_HOST_NAME: the host name of the client.
    HostName {
        /// Host name.
        name: String,
    },
    /// CA_PROTO_READ_NOTIFY request.
    ReadNotify {
        /// Requested type.
        data_type: DbrType,
        /// Requested count (0: the current length, minor version >= 13).
        count: u32,
        /// Server channel id.
        sid: Sid,
        /// Request id.
        ioid: IoId,
    },
    /// CA_PROTO_READ request (deprecated, served by rsrv).
    Read {
        /// Requested type.
        data_type: DbrType,
        /// Requested count.
        count: u32,
        /// Server channel id.
        sid: Sid,
        /// Request id.
        ioid: IoId,
    },
    /// CA_PROTO_WRITE: write without completion.
    Write {
        /// Type of `data`.
        data_type: DbrType,
        /// Number of elements in `data`.
        count: u32,
        /// Server channel id.
        sid: Sid,
        /// Request id (used by the server only in an ERROR reply).
        ioid: IoId,
        /// DBR payload as on the wire (padded to 8 bytes on encode).
        data: Vec<u8>,
    },
    /// CA_PROTO_WRITE_NOTIFY: write with completion.
    WriteNotify {
        /// Type of `data`.
        data_type: DbrType,
        /// Number of elements in `data`.
        count: u32,
        /// Server channel id.
        sid: Sid,
        /// Request id.
        ioid: IoId,
        /// DBR payload as on the wire.
        data: Vec<u8>,
    },
    /// CA_PROTO_EVENT_ADD request: subscribe.
    EventAdd {
        /// Requested type of the updates.
        data_type: DbrType,
        /// Requested count (0: the current length).
        count: u32,
        /// Server channel id.
        sid: Sid,
        /// Subscription id.
        subid: SubId,
        /// Which changes fire an update.
        mask: EventMask,
        /// Obsolete deadband fields, carried for fidelity (low, high, to).
        deadband: [f32; 3],
    },
    /// CA_PROTO_EVENT_CANCEL.
    EventCancel {
        /// Type of the subscription.
        data_type: DbrType,
        /// Count of the subscription.
        count: u32,
        /// Server channel id.
        sid: Sid,
        /// Subscription id.
        subid: SubId,
    },
    /// CA_PROTO_CLEAR_CHANNEL request.
    ClearChannel {
        /// Server channel id.
        sid: Sid,
        /// Client channel id.
        cid: Cid,
    },
    /// CA_PROTO_EVENTS_OFF: stop sending monitor updates (flow control).
    EventsOff,
    /// CA_PROTO_EVENTS_ON: resume monitor updates.
    EventsOn,
    /// CA_PROTO_READ_SYNC (deprecated).
    ReadSync,
    /// CA_PROTO_ECHO (TCP; on UDP the server echoes it).
    Echo,
    /// REPEATER_REGISTER: a client registers with the repeater.
    RepeaterRegister {
        /// The client's IPv4 address (`parameter2`).
        client_addr: u32,
    },
    /// An obsolete command (SNAPSHOT, BUILD, READ_BUILD, SIGNAL): decoded and
    /// reported, never acted on.
    Obsolete {
        /// Its header.
        header: Header,
        /// Its payload.
        payload: Vec<u8>,
    },
}

/// A message sent by a server (or by a repeater to a client).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerMessage {
    /// CA_PROTO_VERSION.
    Version {
        /// Priority (TCP) or "sequence number valid" flag (UDP).
        priority: u16,
        /// The server's minor protocol version.
        minor_version: u16,
        /// Search sequence number echoed in a UDP reply, else 0.
        sequence: u32,
    },
    /// CA_PROTO_SEARCH reply: the server has the channel.
    SearchResponse {
        /// TCP port of the server.
        port: u16,
        /// IPv4 address of the server, or [`ADDR_FROM_SENDER`].
        server_addr: u32,
        /// The client channel id from the request.
        cid: Cid,
        /// The server's minor version, if the payload carries it (servers
        /// of minor version < 1 sent none).
        minor_version: Option<u16>,
    },
    /// CA_PROTO_NOT_FOUND: reply to a DO_REPLY search.
    NotFound {
        /// The reply flag from the request.
        reply: u16,
        /// The minor version.
        minor_version: u16,
        /// The client channel id.
        cid: Cid,
    },
    /// CA_PROTO_CREATE_CHAN reply: the channel is connected.
    CreateChanResponse {
        /// Native type of the channel.
        data_type: DbrType,
        /// Native element count.
        count: u32,
        /// Client channel id.
        cid: Cid,
        /// Server channel id.
        sid: Sid,
    },
    /// CA_PROTO_CREATE_CH_FAIL.
    CreateChFail {
        /// Client channel id.
        cid: Cid,
    },
    /// CA_PROTO_ACCESS_RIGHTS.
    AccessRights {
        /// Client channel id.
        cid: Cid,
        /// The rights.
        rights: AccessRights,
    },
    /// CA_PROTO_READ_NOTIFY reply.
    ReadNotifyResponse {
        /// Type of `data`.
        data_type: DbrType,
        /// Number of elements.
        count: u32,
        /// ECA status of the read.
        status: EcaStatus,
        /// Request id.
        ioid: IoId,
        /// DBR payload as on the wire.
        data: Vec<u8>,
    },
    /// CA_PROTO_READ reply (deprecated).
    ReadResponse {
        /// Type of `data`.
        data_type: DbrType,
        /// Number of elements.
        count: u32,
        /// Client channel id (rsrv `read_action` puts the cid here).
        cid: Cid,
        /// Request id.
        ioid: IoId,
        /// DBR payload as on the wire.
        data: Vec<u8>,
    },
    /// CA_PROTO_WRITE_NOTIFY reply.
    WriteNotifyResponse {
        /// Type of the write.
        data_type: DbrType,
        /// Count of the write.
        count: u32,
        /// ECA status of the write.
        status: EcaStatus,
        /// Request id.
        ioid: IoId,
    },
    /// CA_PROTO_EVENT_ADD reply carrying an update.
    EventAddResponse {
        /// Type of `data`.
        data_type: DbrType,
        /// Number of elements.
        count: u32,
        /// ECA status (ECA_NORMAL, or e.g. ECA_NORDACCESS).
        status: EcaStatus,
        /// Subscription id.
        subid: SubId,
        /// DBR payload as on the wire.
        data: Vec<u8>,
    },
    /// The reply to EVENT_CANCEL: an EVENT_ADD with an empty payload, an
    /// acknowledgement only.
    EventCancelResponse {
        /// Type of the subscription.
        data_type: DbrType,
        /// Count of the subscription.
        count: u32,
        /// Server channel id.
        sid: Sid,
        /// Subscription id.
        subid: SubId,
    },
    /// CA_PROTO_CLEAR_CHANNEL reply.
    ClearChannel {
        /// Server channel id.
        sid: Sid,
        /// Client channel id.
        cid: Cid,
    },
    /// CA_PROTO_ERROR: a request failed.
    Error {
        /// Client channel id the request was about (rsrv puts the cid here).
        cid: Cid,
        /// ECA status.
        status: EcaStatus,
        /// Copy of the failed request's header: route the error through it.
        request: Header,
        /// Human-readable context (often the channel name).
        message: String,
    },
    /// CA_PROTO_SERVER_DISCONN: the server dropped the channel.
    ServerDisconn {
        /// Client channel id.
        cid: Cid,
    },
    /// CA_PROTO_ECHO.
    Echo,
    /// CA_PROTO_READ_SYNC echoed back (rsrv `read_sync_reply`).
    ReadSync,
    /// CA_PROTO_RSRV_IS_UP: a beacon.
    Beacon {
        /// The server's minor protocol version.
        minor_version: u16,
        /// The server's TCP port.
        server_port: u16,
        /// Beacon sequence number.
        beacon_id: u32,
        /// Server IPv4 address, 0 for "the sender's address".
        server_addr: u32,
    },
    /// REPEATER_CONFIRM: the repeater accepted a registration.
    RepeaterConfirm {
        /// The repeater's IPv4 address (`parameter2`).
        repeater_addr: u32,
    },
    /// An obsolete command, decoded and reported, never acted on.
    Obsolete {
        /// Its header.
        header: Header,
        /// Its payload.
        payload: Vec<u8>,
    },
}

fn dbr_type(header: &Header) -> Result<DbrType, ProtocolError> {
    DbrType::from_u16(header.data_type).ok_or(ProtocolError::BadDbrType { header: *header })
}

/// Reads a NUL-terminated name from a padded payload.
fn decode_name(
    command: Command,
    payload: &[u8],
    allow_empty: bool,
) -> Result<String, ProtocolError> {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    let bytes = payload.get(..end).unwrap_or_default();
    if (!allow_empty && bytes.is_empty()) || bytes.len() > MAX_NAME_LEN {
        return Err(ProtocolError::BadName { command });
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtocolError::BadName { command })
}

/// Reads a NUL-terminated name, keeping whatever is there (possibly empty;
/// invalid UTF-8 replaced).
fn decode_name_lossy(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(payload.get(..end).unwrap_or_default()).into_owned()
}

/// The padded payload size for a NUL-terminated name.
fn name_payload_size(name: &str) -> u32 {
    padded_len(name.len() + 1) as u32
}

fn encode_name(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(name.as_bytes());
    pad_zeros(out, padded_len(name.len() + 1) - name.len());
}

fn encode_data(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    pad_zeros(out, padded_len(data.len()) - data.len());
}

fn header(
    command: Command,
    payload_size: usize,
    data_type: u16,
    data_count: u32,
    p1: u32,
    p2: u32,
) -> Header {
    Header {
        command,
        payload_size: payload_size as u32,
        data_type,
        data_count,
        parameter1: p1,
        parameter2: p2,
    }
}

/// The big-endian `u16` at the start of `b` (0 if `b` is shorter).
fn be_u16(b: &[u8]) -> u16 {
    b.get(..2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_be_bytes)
}

fn be_f32(b: &[u8], at: usize) -> f32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    f32::from_be_bytes(a)
}

impl Message for ClientMessage {
    fn decode(h: &Header, payload: &[u8]) -> Result<Self, ProtocolError> {
        let cmd = h.command;
        Ok(match cmd {
            Command::VERSION => ClientMessage::Version {
                priority: h.data_type,
                minor_version: h.data_count as u16,
                sequence: h.parameter1,
            },
            Command::SEARCH => ClientMessage::Search {
                reply: h.data_type,
                minor_version: h.data_count as u16,
                cid: Cid(h.parameter1),
                name: decode_name(cmd, payload, false)?,
            },
            // Decoded leniently: rsrv answers an empty or unusable name with
            // CREATE_CH_FAIL rather than dropping the circuit
            // (`claim_ciu_action`), so the server circuit decides.
            Command::CREATE_CHAN => ClientMessage::CreateChan {
                cid: Cid(h.parameter1),
                minor_version: h.parameter2,
                name: decode_name_lossy(payload),
            },
            Command::CLIENT_NAME => ClientMessage::ClientName {
                name: decode_name(cmd, payload, true)?,
            },
            Command::HOST_NAME => ClientMessage::HostName {
                name: decode_name(cmd, payload, true)?,
            },
            Command::READ_NOTIFY => ClientMessage::ReadNotify {
                data_type: dbr_type(h)?,
                count: h.data_count,
                sid: Sid(h.parameter1),
                ioid: IoId(h.parameter2),
            },
            Command::READ => ClientMessage::Read {
                data_type: dbr_type(h)?,
                count: h.data_count,
                sid: Sid(h.parameter1),
                ioid: IoId(h.parameter2),
            },
            Command::WRITE => ClientMessage::Write {
                data_type: dbr_type(h)?,
                count: h.data_count,
                sid: Sid(h.parameter1),
                ioid: IoId(h.parameter2),
                data: payload.to_vec(),
            },
            Command::WRITE_NOTIFY => ClientMessage::WriteNotify {
                data_type: dbr_type(h)?,
                count: h.data_count,
                sid: Sid(h.parameter1),
                ioid: IoId(h.parameter2),
                data: payload.to_vec(),
            },
            Command::EVENT_ADD => {
                // struct mon_info { float low, high, to; epicsUInt16 mask, pad; } (caProto.h)
                let mask_bytes = payload.get(12..14).ok_or(ProtocolError::PayloadTooShort {
                    command: cmd,
                    needed: 16,
                    got: payload.len(),
                })?;
                ClientMessage::EventAdd {
                    data_type: dbr_type(h)?,
                    count: h.data_count,
                    sid: Sid(h.parameter1),
                    subid: SubId(h.parameter2),
                    mask: EventMask(be_u16(mask_bytes)),
                    deadband: [be_f32(payload, 0), be_f32(payload, 4), be_f32(payload, 8)],
                }
            }
            Command::EVENT_CANCEL => ClientMessage::EventCancel {
                data_type: dbr_type(h)?,
                count: h.data_count,
                sid: Sid(h.parameter1),
                subid: SubId(h.parameter2),
            },
            Command::CLEAR_CHANNEL => ClientMessage::ClearChannel {
                sid: Sid(h.parameter1),
                cid: Cid(h.parameter2),
            },
            Command::EVENTS_OFF => ClientMessage::EventsOff,
            Command::EVENTS_ON => ClientMessage::EventsOn,
            Command::READ_SYNC => ClientMessage::ReadSync,
            Command::ECHO => ClientMessage::Echo,
            Command::REPEATER_REGISTER => ClientMessage::RepeaterRegister {
                client_addr: h.parameter2,
            },
            c if c.is_obsolete() => ClientMessage::Obsolete {
                header: *h,
                payload: payload.to_vec(),
            },
            Command::ERROR
            | Command::RSRV_IS_UP
            | Command::NOT_FOUND
            | Command::REPEATER_CONFIRM
            | Command::ACCESS_RIGHTS
            | Command::CREATE_CH_FAIL
            | Command::SERVER_DISCONN => {
                return Err(ProtocolError::UnexpectedCommand {
                    command: cmd,
                    context: "only servers send this command",
                })
            }
            _ => return Err(ProtocolError::UnknownCommand { header: *h }),
        })
    }

    fn header(&self) -> Header {
        match self {
            ClientMessage::Version {
                priority,
                minor_version,
                sequence,
            } => header(
                Command::VERSION,
                0,
                *priority,
                u32::from(*minor_version),
                *sequence,
                0,
            ),
            ClientMessage::Search {
                reply,
                minor_version,
                cid,
                name,
            } => header(
                Command::SEARCH,
                name_payload_size(name) as usize,
                *reply,
                u32::from(*minor_version),
                cid.0,
                cid.0,
            ),
            ClientMessage::CreateChan {
                cid,
                minor_version,
                name,
            } => header(
                Command::CREATE_CHAN,
                name_payload_size(name) as usize,
                0,
                0,
                cid.0,
                *minor_version,
            ),
            ClientMessage::ClientName { name } => header(
                Command::CLIENT_NAME,
                name_payload_size(name) as usize,
                0,
                0,
                0,
                0,
            ),
            ClientMessage::HostName { name } => header(
                Command::HOST_NAME,
                name_payload_size(name) as usize,
                0,
                0,
                0,
                0,
            ),
            ClientMessage::ReadNotify {
                data_type,
                count,
                sid,
                ioid,
            } => header(
                Command::READ_NOTIFY,
                0,
                data_type.code(),
                *count,
                sid.0,
                ioid.0,
            ),
            ClientMessage::Read {
                data_type,
                count,
                sid,
                ioid,
            } => header(Command::READ, 0, data_type.code(), *count, sid.0, ioid.0),
            ClientMessage::Write {
                data_type,
                count,
                sid,
                ioid,
                data,
            } => header(
                Command::WRITE,
                padded_len(data.len()),
                data_type.code(),
                *count,
                sid.0,
                ioid.0,
            ),
            ClientMessage::WriteNotify {
                data_type,
                count,
                sid,
                ioid,
                data,
            } => header(
                Command::WRITE_NOTIFY,
                padded_len(data.len()),
                data_type.code(),
                *count,
                sid.0,
                ioid.0,
            ),
            ClientMessage::EventAdd {
                data_type,
                count,
                sid,
                subid,
                ..
            } => header(
                Command::EVENT_ADD,
                16,
                data_type.code(),
                *count,
                sid.0,
                subid.0,
            ),
            ClientMessage::EventCancel {
                data_type,
                count,
                sid,
                subid,
            } => header(
                Command::EVENT_CANCEL,
                0,
                data_type.code(),
                *count,
                sid.0,
                subid.0,
            ),
            ClientMessage::ClearChannel { sid, cid } => {
                header(Command::CLEAR_CHANNEL, 0, 0, 0, sid.0, cid.0)
            }
            ClientMessage::EventsOff => header(Command::EVENTS_OFF, 0, 0, 0, 0, 0),
            ClientMessage::EventsOn => header(Command::EVENTS_ON, 0, 0, 0, 0, 0),
            ClientMessage::ReadSync => header(Command::READ_SYNC, 0, 0, 0, 0, 0),
            ClientMessage::Echo => header(Command::ECHO, 0, 0, 0, 0, 0),
            ClientMessage::RepeaterRegister { client_addr } => {
                header(Command::REPEATER_REGISTER, 0, 0, 0, 0, *client_addr)
            }
            ClientMessage::Obsolete { header: h, payload } => Header {
                payload_size: padded_len(payload.len()) as u32,
                ..*h
            },
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        self.header().encode(out);
        match self {
            ClientMessage::Search { name, .. }
            | ClientMessage::CreateChan { name, .. }
            | ClientMessage::ClientName { name }
            | ClientMessage::HostName { name } => encode_name(out, name),
            ClientMessage::Write { data, .. }
            | ClientMessage::WriteNotify { data, .. }
            | ClientMessage::Obsolete { payload: data, .. } => encode_data(out, data),
            ClientMessage::EventAdd { mask, deadband, .. } => {
                for d in deadband {
                    out.extend_from_slice(&d.to_be_bytes());
                }
                out.extend_from_slice(&mask.0.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            ClientMessage::Version { .. }
            | ClientMessage::ReadNotify { .. }
            | ClientMessage::Read { .. }
            | ClientMessage::EventCancel { .. }
            | ClientMessage::ClearChannel { .. }
            | ClientMessage::EventsOff
            | ClientMessage::EventsOn
            | ClientMessage::ReadSync
            | ClientMessage::Echo
            | ClientMessage::RepeaterRegister { .. } => {}
        }
    }
}

impl Message for ServerMessage {
    fn decode(h: &Header, payload: &[u8]) -> Result<Self, ProtocolError> {
        let cmd = h.command;
        Ok(match cmd {
            Command::VERSION => ServerMessage::Version {
                priority: h.data_type,
                minor_version: h.data_count as u16,
                sequence: h.parameter1,
            },
            Command::SEARCH => ServerMessage::SearchResponse {
                port: h.data_type,
                server_addr: h.parameter1,
                cid: Cid(h.parameter2),
                minor_version: payload.get(..2).map(be_u16),
            },
            Command::NOT_FOUND => ServerMessage::NotFound {
                reply: h.data_type,
                minor_version: h.data_count as u16,
                cid: Cid(h.parameter1),
            },
            Command::CREATE_CHAN => ServerMessage::CreateChanResponse {
                data_type: dbr_type(h)?,
                count: h.data_count,
                cid: Cid(h.parameter1),
                sid: Sid(h.parameter2),
            },
            Command::CREATE_CH_FAIL => ServerMessage::CreateChFail {
                cid: Cid(h.parameter1),
            },
            Command::ACCESS_RIGHTS => ServerMessage::AccessRights {
                cid: Cid(h.parameter1),
                rights: AccessRights(h.parameter2),
            },
            Command::READ_NOTIFY => ServerMessage::ReadNotifyResponse {
                data_type: dbr_type(h)?,
                count: h.data_count,
                status: EcaStatus(h.parameter1),
                ioid: IoId(h.parameter2),
                data: payload.to_vec(),
            },
            Command::READ => ServerMessage::ReadResponse {
                data_type: dbr_type(h)?,
                count: h.data_count,
                cid: Cid(h.parameter1),
                ioid: IoId(h.parameter2),
                data: payload.to_vec(),
            },
            Command::WRITE_NOTIFY => ServerMessage::WriteNotifyResponse {
                data_type: dbr_type(h)?,
                count: h.data_count,
                status: EcaStatus(h.parameter1),
                ioid: IoId(h.parameter2),
            },
            Command::EVENT_ADD if h.payload_size == 0 => ServerMessage::EventCancelResponse {
                data_type: dbr_type(h)?,
                count: h.data_count,
                sid: Sid(h.parameter1),
                subid: SubId(h.parameter2),
            },
            Command::EVENT_ADD => ServerMessage::EventAddResponse {
                data_type: dbr_type(h)?,
                count: h.data_count,
                status: EcaStatus(h.parameter1),
                subid: SubId(h.parameter2),
                data: payload.to_vec(),
            },
            Command::CLEAR_CHANNEL => ServerMessage::ClearChannel {
                sid: Sid(h.parameter1),
                cid: Cid(h.parameter2),
            },
            Command::ERROR => {
                let (request, used) =
                    Header::decode(payload).ok_or(ProtocolError::PayloadTooShort {
                        command: cmd,
                        needed: HEADER_SIZE,
                        got: payload.len(),
                    })?;
                let rest = payload.get(used..).unwrap_or_default();
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                let message =
                    String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned();
                ServerMessage::Error {
                    cid: Cid(h.parameter1),
                    status: EcaStatus(h.parameter2),
                    request,
                    message,
                }
            }
            Command::READ_SYNC => ServerMessage::ReadSync,
            Command::SERVER_DISCONN => ServerMessage::ServerDisconn {
                cid: Cid(h.parameter1),
            },
            Command::ECHO => ServerMessage::Echo,
            Command::RSRV_IS_UP => ServerMessage::Beacon {
                minor_version: h.data_type,
                server_port: h.data_count as u16,
                beacon_id: h.parameter1,
                server_addr: h.parameter2,
            },
            Command::REPEATER_CONFIRM => ServerMessage::RepeaterConfirm {
                repeater_addr: h.parameter2,
            },
            c if c.is_obsolete() => ServerMessage::Obsolete {
                header: *h,
                payload: payload.to_vec(),
            },
            Command::EVENT_CANCEL
            | Command::WRITE
            | Command::EVENTS_OFF
            | Command::EVENTS_ON
            | Command::CLIENT_NAME
            | Command::HOST_NAME
            | Command::REPEATER_REGISTER => {
                return Err(ProtocolError::UnexpectedCommand {
                    command: cmd,
                    context: "only clients send this command",
                })
            }
            _ => return Err(ProtocolError::UnknownCommand { header: *h }),
        })
    }

    fn header(&self) -> Header {
        match self {
            ServerMessage::Version {
                priority,
                minor_version,
                sequence,
            } => header(
                Command::VERSION,
                0,
                *priority,
                u32::from(*minor_version),
                *sequence,
                0,
            ),
            ServerMessage::SearchResponse {
                port,
                server_addr,
                cid,
                minor_version,
            } => header(
                Command::SEARCH,
                if minor_version.is_some() { 8 } else { 0 },
                *port,
                0,
                *server_addr,
                cid.0,
            ),
            ServerMessage::NotFound {
                reply,
                minor_version,
                cid,
            } => header(
                Command::NOT_FOUND,
                0,
                *reply,
                u32::from(*minor_version),
                cid.0,
                cid.0,
            ),
            ServerMessage::CreateChanResponse {
                data_type,
                count,
                cid,
                sid,
            } => header(
                Command::CREATE_CHAN,
                0,
                data_type.code(),
                *count,
                cid.0,
                sid.0,
            ),
            ServerMessage::CreateChFail { cid } => {
                header(Command::CREATE_CH_FAIL, 0, 0, 0, cid.0, 0)
            }
            ServerMessage::AccessRights { cid, rights } => {
                header(Command::ACCESS_RIGHTS, 0, 0, 0, cid.0, rights.0)
            }
            ServerMessage::ReadNotifyResponse {
                data_type,
                count,
                status,
                ioid,
                data,
            } => header(
                Command::READ_NOTIFY,
                padded_len(data.len()),
                data_type.code(),
                *count,
                status.0,
                ioid.0,
            ),
            ServerMessage::ReadResponse {
                data_type,
                count,
                cid,
                ioid,
                data,
            } => header(
                Command::READ,
                padded_len(data.len()),
                data_type.code(),
                *count,
                cid.0,
                ioid.0,
            ),
            ServerMessage::WriteNotifyResponse {
                data_type,
                count,
                status,
                ioid,
            } => header(
                Command::WRITE_NOTIFY,
                0,
                data_type.code(),
                *count,
                status.0,
                ioid.0,
            ),
            ServerMessage::EventAddResponse {
                data_type,
                count,
                status,
                subid,
                data,
            } => header(
                Command::EVENT_ADD,
                padded_len(data.len()),
                data_type.code(),
                *count,
                status.0,
                subid.0,
            ),
            ServerMessage::EventCancelResponse {
                data_type,
                count,
                sid,
                subid,
            } => header(
                Command::EVENT_ADD,
                0,
                data_type.code(),
                *count,
                sid.0,
                subid.0,
            ),
            ServerMessage::ClearChannel { sid, cid } => {
                header(Command::CLEAR_CHANNEL, 0, 0, 0, sid.0, cid.0)
            }
            ServerMessage::Error {
                cid,
                status,
                request,
                message,
            } => header(
                Command::ERROR,
                padded_len(request.encoded_len() + message.len() + 1),
                0,
                0,
                cid.0,
                status.0,
            ),
            ServerMessage::ServerDisconn { cid } => {
                header(Command::SERVER_DISCONN, 0, 0, 0, cid.0, 0)
            }
            ServerMessage::Echo => header(Command::ECHO, 0, 0, 0, 0, 0),
            ServerMessage::ReadSync => header(Command::READ_SYNC, 0, 0, 0, 0, 0),
            ServerMessage::Beacon {
                minor_version,
                server_port,
                beacon_id,
                server_addr,
            } => header(
                Command::RSRV_IS_UP,
                0,
                *minor_version,
                u32::from(*server_port),
                *beacon_id,
                *server_addr,
            ),
            ServerMessage::RepeaterConfirm { repeater_addr } => {
                header(Command::REPEATER_CONFIRM, 0, 0, 0, 0, *repeater_addr)
            }
            ServerMessage::Obsolete { header: h, payload } => Header {
                payload_size: padded_len(payload.len()) as u32,
                ..*h
            },
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let h = self.header();
        h.encode(out);
        match self {
            ServerMessage::SearchResponse {
                minor_version: Some(v),
                ..
            } => {
                out.extend_from_slice(&v.to_be_bytes());
                pad_zeros(out, 6);
            }
            ServerMessage::ReadNotifyResponse { data, .. }
            | ServerMessage::ReadResponse { data, .. }
            | ServerMessage::EventAddResponse { data, .. }
            | ServerMessage::Obsolete { payload: data, .. } => encode_data(out, data),
            ServerMessage::Error {
                request, message, ..
            } => {
                let start = out.len();
                request.encode(out);
                out.extend_from_slice(message.as_bytes());
                let written = out.len() - start;
                pad_zeros(out, h.payload_size as usize - written);
            }
            ServerMessage::SearchResponse {
                minor_version: None,
                ..
            }
            | ServerMessage::Version { .. }
            | ServerMessage::NotFound { .. }
            | ServerMessage::CreateChanResponse { .. }
            | ServerMessage::CreateChFail { .. }
            | ServerMessage::AccessRights { .. }
            | ServerMessage::WriteNotifyResponse { .. }
            | ServerMessage::EventCancelResponse { .. }
            | ServerMessage::ClearChannel { .. }
            | ServerMessage::ServerDisconn { .. }
            | ServerMessage::Echo
            | ServerMessage::ReadSync
            | ServerMessage::Beacon { .. }
            | ServerMessage::RepeaterConfirm { .. } => {}
        }
    }
}

impl ServerMessage {
    /// The server address of a search reply, resolving
    /// [`ADDR_FROM_SENDER`] to the datagram's source address.
    pub fn search_reply_addr(server_addr: u32, sender: u32) -> u32 {
        if server_addr == ADDR_FROM_SENDER {
            sender
        } else {
            server_addr
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{DONT_REPLY, DO_REPLY};

    fn round_trip_client(m: ClientMessage) -> Vec<u8> {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(out.len(), m.encoded_len());
        let (h, n) = Header::decode(&out).unwrap();
        assert_eq!(ClientMessage::decode(&h, &out[n..]).unwrap(), m);
        out
    }

    fn round_trip_server(m: ServerMessage) -> Vec<u8> {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(out.len(), m.encoded_len());
        let (h, n) = Header::decode(&out).unwrap();
        assert_eq!(ServerMessage::decode(&h, &out[n..]).unwrap(), m);
        out
    }

    #[test]
    fn search_request_matches_libca_bytes() {
        // From get-native.pcap: caget searching "t:ao" with cid 1.
        let bytes = round_trip_client(ClientMessage::Search {
            reply: DONT_REPLY,
            minor_version: 13,
            cid: Cid(1),
            name: "t:ao".into(),
        });
        assert_eq!(
            bytes,
            [
                0x00, 0x06, 0x00, 0x08, 0x00, 0x05, 0x00, 0x0d, 0, 0, 0, 1, 0, 0, 0, 1, //
                b't', b':', b'a', b'o', 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn error_message_carries_the_request_header() {
        let request = Header {
            command: Command::WRITE,
            payload_size: 8,
            data_type: 0,
            data_count: 1,
            parameter1: 0xa8,
            parameter2: 1,
        };
        let bytes = round_trip_server(ServerMessage::Error {
            cid: Cid(1),
            status: EcaStatus::ECA_PUTFAIL,
            request,
            message: "t:ro".into(),
        });
        // rsrv's bytes from put-errors.pcap.
        let expected_payload = [
            0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa8, 0x00, 0x00,
            0x00, 0x01, //
            b't', b':', b'r', b'o', 0, 0, 0, 0,
        ];
        assert_eq!(&bytes[16..], &expected_payload);
    }

    #[test]
    fn event_add_with_empty_payload_is_a_cancel_acknowledgement() {
        round_trip_server(ServerMessage::EventCancelResponse {
            data_type: DbrType::TimeDouble,
            count: 1,
            sid: Sid(3),
            subid: SubId(4),
        });
        round_trip_server(ServerMessage::EventAddResponse {
            data_type: DbrType::Double,
            count: 1,
            status: EcaStatus::ECA_NORMAL,
            subid: SubId(4),
            data: vec![0x40, 0x09, 0x1e, 0xb8, 0x51, 0xeb, 0x85, 0x1f],
        });
    }

    #[test]
    fn every_client_message_round_trips() {
        let msgs = vec![
            ClientMessage::Version {
                priority: 0,
                minor_version: 13,
                sequence: 0,
            },
            ClientMessage::CreateChan {
                cid: Cid(5),
                minor_version: 13,
                name: "t:short".into(),
            },
            ClientMessage::ClientName {
                name: "root".into(),
            },
            ClientMessage::HostName { name: "vm".into() },
            ClientMessage::ReadNotify {
                data_type: DbrType::CtrlDouble,
                count: 0,
                sid: Sid(1),
                ioid: IoId(2),
            },
            ClientMessage::Read {
                data_type: DbrType::Long,
                count: 1,
                sid: Sid(1),
                ioid: IoId(2),
            },
            ClientMessage::Write {
                data_type: DbrType::String,
                count: 1,
                sid: Sid(1),
                ioid: IoId(2),
                data: b"2.5\0\0\0\0\0".to_vec(),
            },
            ClientMessage::WriteNotify {
                data_type: DbrType::Double,
                count: 1,
                sid: Sid(1),
                ioid: IoId(2),
                data: 2.5f64.to_be_bytes().to_vec(),
            },
            ClientMessage::EventAdd {
                data_type: DbrType::TimeDouble,
                count: 1,
                sid: Sid(1),
                subid: SubId(2),
                mask: EventMask::VALUE | EventMask::ALARM,
                deadband: [0.0; 3],
            },
            ClientMessage::EventCancel {
                data_type: DbrType::TimeDouble,
                count: 1,
                sid: Sid(1),
                subid: SubId(2),
            },
            ClientMessage::ClearChannel {
                sid: Sid(1),
                cid: Cid(2),
            },
            ClientMessage::EventsOff,
            ClientMessage::EventsOn,
            ClientMessage::ReadSync,
            ClientMessage::Echo,
            ClientMessage::RepeaterRegister {
                client_addr: 0x7f00_0001,
            },
            ClientMessage::Search {
                reply: DO_REPLY,
                minor_version: 13,
                cid: Cid(9),
                name: "abcdefg".into(),
            },
        ];
        for m in msgs {
            round_trip_client(m);
        }
    }

    #[test]
    fn every_server_message_round_trips() {
        let msgs = vec![
            ServerMessage::Version {
                priority: 0,
                minor_version: 13,
                sequence: 0,
            },
            ServerMessage::SearchResponse {
                port: 5064,
                server_addr: ADDR_FROM_SENDER,
                cid: Cid(1),
                minor_version: Some(13),
            },
            ServerMessage::SearchResponse {
                port: 5064,
                server_addr: 0x7f00_0001,
                cid: Cid(1),
                minor_version: None,
            },
            ServerMessage::NotFound {
                reply: DO_REPLY,
                minor_version: 13,
                cid: Cid(3),
            },
            ServerMessage::CreateChanResponse {
                data_type: DbrType::Double,
                count: 1,
                cid: Cid(1),
                sid: Sid(0),
            },
            ServerMessage::CreateChFail { cid: Cid(1) },
            ServerMessage::AccessRights {
                cid: Cid(1),
                rights: AccessRights::READ_WRITE,
            },
            ServerMessage::ReadNotifyResponse {
                data_type: DbrType::Long,
                count: 1,
                status: EcaStatus::ECA_NORMAL,
                ioid: IoId(1),
                data: vec![0, 0, 0, 42, 0, 0, 0, 0],
            },
            ServerMessage::ReadResponse {
                data_type: DbrType::Long,
                count: 1,
                cid: Cid(1),
                ioid: IoId(1),
                data: vec![0; 8],
            },
            ServerMessage::WriteNotifyResponse {
                data_type: DbrType::Double,
                count: 1,
                status: EcaStatus::ECA_NORMAL,
                ioid: IoId(1),
            },
            ServerMessage::ClearChannel {
                sid: Sid(1),
                cid: Cid(2),
            },
            ServerMessage::ServerDisconn { cid: Cid(2) },
            ServerMessage::Echo,
            ServerMessage::Beacon {
                minor_version: 13,
                server_port: 5064,
                beacon_id: 7,
                server_addr: 0,
            },
            ServerMessage::RepeaterConfirm {
                repeater_addr: 0x7f00_0001,
            },
        ];
        for m in msgs {
            round_trip_server(m);
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let h = Header {
            command: Command::READ_NOTIFY,
            data_type: 39,
            ..Header::default()
        };
        assert!(matches!(
            ClientMessage::decode(&h, &[]),
            Err(ProtocolError::BadDbrType { .. })
        ));
        let h = Header {
            command: Command(200),
            ..Header::default()
        };
        assert!(matches!(
            ClientMessage::decode(&h, &[]),
            Err(ProtocolError::UnknownCommand { .. })
        ));
        assert!(matches!(
            ServerMessage::decode(&h, &[]),
            Err(ProtocolError::UnknownCommand { .. })
        ));
        let h = Header {
            command: Command::SEARCH,
            payload_size: 8,
            ..Header::default()
        };
        assert!(matches!(
            ClientMessage::decode(&h, &[0; 8]),
            Err(ProtocolError::BadName { .. })
        ));
        let h = Header {
            command: Command::EVENT_ADD,
            payload_size: 8,
            data_type: 6,
            ..Header::default()
        };
        assert!(matches!(
            ClientMessage::decode(&h, &[0; 8]),
            Err(ProtocolError::PayloadTooShort { .. })
        ));
        let h = Header {
            command: Command::ERROR,
            payload_size: 8,
            ..Header::default()
        };
        assert!(matches!(
            ServerMessage::decode(&h, &[0; 8]),
            Err(ProtocolError::PayloadTooShort { .. })
        ));
    }

    #[test]
    fn obsolete_commands_are_reported_not_rejected() {
        let h = Header {
            command: Command::SNAPSHOT,
            ..Header::default()
        };
        assert!(matches!(
            ClientMessage::decode(&h, &[]),
            Ok(ClientMessage::Obsolete { .. })
        ));
        let h = Header {
            command: Command::SIGNAL,
            ..Header::default()
        };
        assert!(matches!(
            ServerMessage::decode(&h, &[]),
            Ok(ServerMessage::Obsolete { .. })
        ));
    }
}
