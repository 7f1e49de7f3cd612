//! The client side of a virtual circuit.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{DEFAULT_CONN_TIMEOUT, DEFAULT_MAX_PAYLOAD, ECHO_TIMEOUT};
use crate::dbr::DbrType;
use crate::error::{ProtocolError, UsageError};
use crate::ids::{Cid, IdAllocator, IdMap, IoId, Sid, SubId};
use crate::status::{AccessRights, EcaStatus};
use crate::wire::{
    validate_name, ClientMessage, Command, EventMask, Header, Message, ServerMessage, StreamDecoder,
};
use crate::CA_MINOR_VERSION;

/// Settings of a [`ClientCircuit`].
#[derive(Clone, Debug)]
pub struct ClientCircuitConfig {
    /// Circuit priority, 0..=99 (`CA_PRIORITY_*`).
    pub priority: u16,
    /// User name sent in CLIENT_NAME.
    pub client_name: String,
    /// Host name sent in HOST_NAME.
    pub host_name: String,
    /// Largest payload accepted from the server
    /// (`EPICS_CA_MAX_ARRAY_BYTES` plus metadata room).
    pub max_payload: u32,
    /// Silence after which an ECHO is sent (`EPICS_CA_CONN_TMO`).
    pub conn_timeout: Duration,
    /// Wait for the ECHO answer before declaring the circuit unresponsive.
    pub echo_timeout: Duration,
}

impl Default for ClientCircuitConfig {
    fn default() -> Self {
        Self {
            priority: crate::DEFAULT_PRIORITY,
            client_name: String::new(),
            host_name: String::new(),
            max_payload: DEFAULT_MAX_PAYLOAD,
            conn_timeout: DEFAULT_CONN_TIMEOUT,
            echo_timeout: ECHO_TIMEOUT,
        }
    }
}

/// What a connected channel looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Server id of the channel.
    pub sid: Sid,
    /// Native DBR type (0..=6).
    pub native_type: DbrType,
    /// Native element count (never 0 from a conforming server).
    pub native_count: u32,
    /// Current access rights.
    pub access: AccessRights,
}

/// A failure the server reported, as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    /// The ECA status.
    pub status: EcaStatus,
    /// The server's context message (from an ERROR message), may be empty.
    pub message: String,
}

/// Why a circuit closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed the connection.
    Eof,
    /// The peer sent malformed or illegal input.
    Protocol(ProtocolError),
    /// The application closed it.
    Local,
}

/// What happened on a client circuit.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server's VERSION arrived.
    ServerVersion {
        /// The server's minor protocol version.
        minor_version: u16,
    },
    /// A channel is connected (CREATE_CHAN reply).
    Connected {
        /// Client channel id.
        cid: Cid,
        /// What the channel looks like.
        info: ChannelInfo,
    },
    /// The server refused to create the channel (CREATE_CH_FAIL).
    CreateFailed {
        /// Client channel id.
        cid: Cid,
    },
    /// Access rights of a channel changed (or arrived before the connection).
    AccessRights {
        /// Client channel id.
        cid: Cid,
        /// The rights.
        rights: AccessRights,
    },
    /// A READ_NOTIFY completed.
    ReadDone {
        /// Request id.
        ioid: IoId,
        /// Channel.
        cid: Cid,
        /// The DBR payload on success (type, count, raw bytes).
        result: Result<DbrPayload, RemoteError>,
    },
    /// A WRITE_NOTIFY completed.
    WriteDone {
        /// Request id.
        ioid: IoId,
        /// Channel.
        cid: Cid,
        /// ECA_NORMAL on success.
        result: Result<(), RemoteError>,
    },
    /// A monitor update.
    Update {
        /// Subscription.
        subid: SubId,
        /// Channel.
        cid: Cid,
        /// The value, or the server's status (e.g. ECA_NORDACCESS with a
        /// zero-filled value is still delivered as `Ok`: check `status`).
        payload: DbrPayload,
        /// ECA status carried by the update.
        status: EcaStatus,
    },
    /// A subscription failed on the server side (ERROR for EVENT_ADD).
    SubscriptionFailed {
        /// Subscription.
        subid: SubId,
        /// Channel.
        cid: Cid,
        /// The server's status.
        error: RemoteError,
    },
    /// The server acknowledged EVENT_CANCEL; no update follows.
    SubscriptionCancelled {
        /// Subscription.
        subid: SubId,
    },
    /// The server acknowledged CLEAR_CHANNEL.
    ChannelCleared {
        /// Channel.
        cid: Cid,
    },
    /// The server dropped the channel (SERVER_DISCONN). As libca does, the
    /// front-end should search for it again and, once it reconnects, renew
    /// the listed subscriptions (they are no longer on this circuit).
    ChannelDisconnected {
        /// Channel.
        cid: Cid,
        /// The channel's live subscriptions at the time, to renew.
        subscriptions: Vec<SubscriptionSpec>,
    },
    /// An ERROR the circuit could not route to an operation (e.g. a failed
    /// WRITE without notify).
    Error {
        /// The channel, when the server named one that exists.
        cid: Option<Cid>,
        /// The failed request's header.
        request: Header,
        /// The status and message.
        error: RemoteError,
    },
    /// No answer to an ECHO within the echo timeout. libca reports its
    /// channels disconnected (ECA_UNRESPTMO) but keeps them on the circuit
    /// (`tcpiiu::unresponsiveCircuitNotify`).
    Unresponsive,
    /// Traffic arrived again after [`ClientEvent::Unresponsive`]: channels
    /// are connected again; libca then re-reads each subscription's value
    /// (`subscriptionUpdateRequest`), which the front-end should do too.
    Responsive,
    /// The circuit is closed; no further input is accepted.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// What a subscription asked for, to renew it after a reconnection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriptionSpec {
    /// The id it had.
    pub subid: SubId,
    /// Requested type.
    pub data_type: DbrType,
    /// Requested count.
    pub count: u32,
    /// Event mask.
    pub mask: EventMask,
}

/// A DBR payload as received: type, element count and raw bytes (padded).
/// Decode it with [`crate::dbr::decode`].
#[derive(Clone, Debug, PartialEq)]
pub struct DbrPayload {
    /// DBR type of `data`.
    pub data_type: DbrType,
    /// Element count.
    pub count: u32,
    /// Bytes as on the wire.
    pub data: Vec<u8>,
}

#[derive(Debug)]
enum ChannelState {
    Creating { access: AccessRights },
    Connected(ChannelInfo),
    Clearing,
}

#[derive(Debug)]
struct Channel {
    name: String,
    state: ChannelState,
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Read { cid: Cid },
    Write { cid: Cid },
}

impl Pending {
    /// The completion event of this request, failed with `error`.
    fn failed(self, ioid: IoId, error: RemoteError) -> ClientEvent {
        match self {
            Pending::Read { cid } => ClientEvent::ReadDone {
                ioid,
                cid,
                result: Err(error),
            },
            Pending::Write { cid } => ClientEvent::WriteDone {
                ioid,
                cid,
                result: Err(error),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Subscription {
    cid: Cid,
    data_type: DbrType,
    count: u32,
    mask: EventMask,
    cancelling: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    /// Traffic seen recently; echo deadline is `last_rx + conn_timeout`.
    Alive,
    /// An ECHO is outstanding since the given time.
    EchoSent(Instant),
    /// The ECHO went unanswered.
    Unresponsive,
}

/// The client side of one TCP virtual circuit.
///
/// Driving contract: see [`crate::circuit`]. On creation the circuit queues
/// VERSION, CLIENT_NAME and HOST_NAME (the order libca uses); channels may be
/// created at once, before the server's VERSION arrives.
///
/// Timers: after `conn_timeout` without input an ECHO is sent; if nothing
/// arrives within `echo_timeout` after it, [`ClientEvent::Unresponsive`] is
/// emitted (libca `tcpRecvWatchdog`).
#[derive(Debug)]
pub struct ClientCircuit {
    config: ClientCircuitConfig,
    decoder: StreamDecoder,
    out: Vec<u8>,
    events: VecDeque<ClientEvent>,
    channels: IdMap<Cid, Channel>,
    sid_to_cid: IdMap<Sid, Cid>,
    pending: IdMap<IoId, Pending>,
    subs: IdMap<SubId, Subscription>,
    ioids: IdAllocator,
    subids: IdAllocator,
    server_minor_version: Option<u16>,
    last_rx: Instant,
    liveness: Liveness,
    closed: bool,
}

impl ClientCircuit {
    /// A new circuit over a freshly connected TCP stream.
    pub fn new(now: Instant, config: ClientCircuitConfig) -> Result<Self, UsageError> {
        if config.priority > crate::MAX_PRIORITY {
            return Err(UsageError::BadPriority(config.priority));
        }
        let mut c = Self {
            decoder: StreamDecoder::new(config.max_payload),
            out: Vec::new(),
            events: VecDeque::new(),
            channels: IdMap::default(),
            sid_to_cid: IdMap::default(),
            pending: IdMap::default(),
            subs: IdMap::default(),
            ioids: IdAllocator::starting_at(1),
            subids: IdAllocator::starting_at(1),
            server_minor_version: None,
            last_rx: now,
            liveness: Liveness::Alive,
            closed: false,
            config,
        };
        c.send(&ClientMessage::Version {
            priority: c.config.priority,
            minor_version: CA_MINOR_VERSION,
            sequence: 0,
        });
        let client_name = c.config.client_name.clone();
        let host_name = c.config.host_name.clone();
        c.send(&ClientMessage::ClientName { name: client_name });
        c.send(&ClientMessage::HostName { name: host_name });
        Ok(c)
    }

    fn send(&mut self, m: &ClientMessage) {
        m.encode(&mut self.out);
    }

    fn check_open(&self) -> Result<(), UsageError> {
        if self.closed {
            Err(UsageError::CircuitClosed)
        } else {
            Ok(())
        }
    }

    /// The server's minor protocol version, once its VERSION arrived.
    pub fn server_minor_version(&self) -> Option<u16> {
        self.server_minor_version
    }

    /// True once the circuit is closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The connected channel's description, if it is connected.
    pub fn channel_info(&self, cid: Cid) -> Option<ChannelInfo> {
        match self.channels.get(&cid)?.state {
            ChannelState::Connected(info) => Some(info),
            _ => None,
        }
    }

    /// The name a channel was created with.
    pub fn channel_name(&self, cid: Cid) -> Option<&str> {
        self.channels.get(&cid).map(|c| c.name.as_str())
    }

    /// Number of channels on this circuit (in any state).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Asks the server to create channel `name` under the client id `cid`
    /// (the same cid the search used, as libca does).
    pub fn create_channel(&mut self, cid: Cid, name: &str) -> Result<(), UsageError> {
        self.check_open()?;
        validate_name(name)?;
        if self.channels.contains_key(&cid) {
            return Err(UsageError::UnknownId {
                kind: "free cid (cid already in use)",
                id: cid.0,
            });
        }
        self.channels.insert(
            cid,
            Channel {
                name: name.to_owned(),
                state: ChannelState::Creating {
                    access: AccessRights::NONE,
                },
            },
        );
        self.send(&ClientMessage::CreateChan {
            cid,
            minor_version: u32::from(CA_MINOR_VERSION),
            name: name.to_owned(),
        });
        Ok(())
    }

    fn connected(&self, cid: Cid) -> Result<ChannelInfo, UsageError> {
        match self.channels.get(&cid) {
            None => Err(UsageError::UnknownId {
                kind: "cid",
                id: cid.0,
            }),
            Some(Channel {
                state: ChannelState::Connected(info),
                ..
            }) => Ok(*info),
            Some(_) => Err(UsageError::NotConnected),
        }
    }

    /// Checks a requested element count against the channel (count 0 means
    /// "current length", accepted by servers of minor version 13).
    fn check_count(&self, info: &ChannelInfo, count: u32) -> Result<(), UsageError> {
        if count > info.native_count {
            return Err(UsageError::BadCount {
                requested: count,
                native: info.native_count,
            });
        }
        Ok(())
    }

    /// The count to put on the wire: 0 ("current length") only goes to
    /// servers of minor version 13 or later; older ones get the native count
    /// (libca `readNotifyRequest`).
    fn effective_count(&self, info: &ChannelInfo, count: u32) -> u32 {
        if count == 0 && self.server_minor_version.is_some_and(|v| v < 13) {
            info.native_count
        } else {
            count
        }
    }

    fn check_payload(&self, len: usize) -> Result<(), UsageError> {
        if len > self.config.max_payload as usize {
            return Err(UsageError::TooLarge {
                size: len,
                limit: self.config.max_payload as usize,
            });
        }
        Ok(())
    }

    /// Reads `count` elements of `data_type` (READ_NOTIFY). Completion comes as
    /// [`ClientEvent::ReadDone`] with the returned id.
    pub fn read(&mut self, cid: Cid, data_type: DbrType, count: u32) -> Result<IoId, UsageError> {
        self.check_open()?;
        let info = self.connected(cid)?;
        if !info.access.can_read() {
            return Err(UsageError::NoReadAccess);
        }
        self.check_count(&info, count)?;
        let count = self.effective_count(&info, count);
        let ioid = self.alloc_ioid()?;
        self.pending.insert(ioid, Pending::Read { cid });
        self.send(&ClientMessage::ReadNotify {
            data_type,
            count,
            sid: info.sid,
            ioid,
        });
        Ok(ioid)
    }

    fn alloc_ioid(&mut self) -> Result<IoId, UsageError> {
        let pending = &self.pending;
        self.ioids
            .allocate(|id| pending.contains_key(&IoId(id)))
            .map(IoId)
            .ok_or(UsageError::IdsExhausted)
    }

    fn check_write(&self, cid: Cid, count: u32, data: &[u8]) -> Result<ChannelInfo, UsageError> {
        self.check_open()?;
        let info = self.connected(cid)?;
        if !info.access.can_write() {
            return Err(UsageError::NoWriteAccess);
        }
        if count == 0 {
            return Err(UsageError::BadCount {
                requested: 0,
                native: info.native_count,
            });
        }
        self.check_count(&info, count)?;
        self.check_payload(data.len())?;
        Ok(info)
    }

    /// Writes without completion (WRITE). `data` is a DBR payload of
    /// `count` elements of `data_type` (see [`crate::dbr::encode`]).
    pub fn write(
        &mut self,
        cid: Cid,
        data_type: DbrType,
        count: u32,
        data: Vec<u8>,
    ) -> Result<(), UsageError> {
        let info = self.check_write(cid, count, &data)?;
        // libca puts the cid where a WRITE_NOTIFY has its ioid, and finds the
        // channel through it when an ERROR comes back (`tcpiiu::writeRequest`).
        self.send(&ClientMessage::Write {
            data_type,
            count,
            sid: info.sid,
            ioid: IoId(cid.0),
            data,
        });
        Ok(())
    }

    /// Writes with completion (WRITE_NOTIFY): [`ClientEvent::WriteDone`] follows.
    pub fn write_notify(
        &mut self,
        cid: Cid,
        data_type: DbrType,
        count: u32,
        data: Vec<u8>,
    ) -> Result<IoId, UsageError> {
        let info = self.check_write(cid, count, &data)?;
        let ioid = self.alloc_ioid()?;
        self.pending.insert(ioid, Pending::Write { cid });
        self.send(&ClientMessage::WriteNotify {
            data_type,
            count,
            sid: info.sid,
            ioid,
            data,
        });
        Ok(ioid)
    }

    /// Forgets a pending read or write (e.g. after the caller's timeout); a
    /// late reply is then ignored.
    pub fn abandon(&mut self, ioid: IoId) {
        self.pending.remove(&ioid);
    }

    /// Subscribes (EVENT_ADD). Updates come as [`ClientEvent::Update`].
    pub fn subscribe(
        &mut self,
        cid: Cid,
        data_type: DbrType,
        count: u32,
        mask: EventMask,
    ) -> Result<SubId, UsageError> {
        self.check_open()?;
        let info = self.connected(cid)?;
        // libca clamps a subscription's count to the native count rather
        // than refusing it (`netSubscription::getCount`), and sends the
        // native count for 0 to servers older than minor version 13.
        let count = self.effective_count(&info, count.min(info.native_count));
        // libca refuses only an empty mask (`ca_create_subscription`).
        if mask.0 == 0 {
            return Err(UsageError::BadMask(mask.0));
        }
        let subs = &self.subs;
        let subid = self
            .subids
            .allocate(|id| subs.contains_key(&SubId(id)))
            .map(SubId)
            .ok_or(UsageError::IdsExhausted)?;
        self.subs.insert(
            subid,
            Subscription {
                cid,
                data_type,
                count,
                mask,
                cancelling: false,
            },
        );
        self.send(&ClientMessage::EventAdd {
            data_type,
            count,
            sid: info.sid,
            subid,
            mask,
            deadband: [0.0; 3],
        });
        Ok(subid)
    }

    /// Cancels a subscription (EVENT_CANCEL). Updates that were already in
    /// flight are dropped; [`ClientEvent::SubscriptionCancelled`] follows.
    pub fn unsubscribe(&mut self, subid: SubId) -> Result<(), UsageError> {
        self.check_open()?;
        let sub = self.subs.get_mut(&subid).ok_or(UsageError::UnknownId {
            kind: "subscription",
            id: subid.0,
        })?;
        if sub.cancelling {
            return Ok(());
        }
        sub.cancelling = true;
        let sub = *sub;
        let sid = match self.connected(sub.cid) {
            Ok(info) => info.sid,
            Err(_) => {
                // Channel not connected: nothing to tell the server.
                self.subs.remove(&subid);
                return Ok(());
            }
        };
        self.send(&ClientMessage::EventCancel {
            data_type: sub.data_type,
            count: sub.count,
            sid,
            subid,
        });
        Ok(())
    }

    /// Clears a channel (CLEAR_CHANNEL); its subscriptions and pending
    /// operations are dropped.
    pub fn clear_channel(&mut self, cid: Cid) -> Result<(), UsageError> {
        self.check_open()?;
        let chan = self.channels.get_mut(&cid).ok_or(UsageError::UnknownId {
            kind: "cid",
            id: cid.0,
        })?;
        let prev = std::mem::replace(&mut chan.state, ChannelState::Clearing);
        self.subs.retain(|_, s| s.cid != cid);
        self.pending.retain(|_, p| match p {
            Pending::Read { cid: c } | Pending::Write { cid: c } => *c != cid,
        });
        match prev {
            ChannelState::Connected(info) => {
                self.send(&ClientMessage::ClearChannel { sid: info.sid, cid });
            }
            // Still creating: the CREATE_CHAN reply will be answered with a
            // CLEAR_CHANNEL when it comes (INTEROP.md).
            ChannelState::Creating { .. } | ChannelState::Clearing => {}
        }
        Ok(())
    }

    /// Asks the server to stop sending monitor updates (flow control).
    pub fn events_off(&mut self) -> Result<(), UsageError> {
        self.check_open()?;
        self.send(&ClientMessage::EventsOff);
        Ok(())
    }

    /// Asks the server to resume monitor updates.
    pub fn events_on(&mut self) -> Result<(), UsageError> {
        self.check_open()?;
        self.send(&ClientMessage::EventsOn);
        Ok(())
    }

    /// Closes the circuit locally.
    pub fn close(&mut self) {
        self.close_with(CloseReason::Local);
    }

    fn close_with(&mut self, reason: CloseReason) {
        if !self.closed {
            self.closed = true;
            self.events.push_back(ClientEvent::Closed { reason });
        }
    }

    /// Feeds bytes received from the server.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), ProtocolError> {
        if self.closed {
            return Ok(());
        }
        self.last_rx = now;
        if self.liveness != Liveness::Alive {
            if self.liveness == Liveness::Unresponsive {
                self.events.push_back(ClientEvent::Responsive);
            }
            self.liveness = Liveness::Alive;
        }
        self.decoder.push(bytes);
        loop {
            let msg = match self.decoder.next_message::<ServerMessage>() {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(()),
                // Like libca, skip a reply larger than EPICS_CA_MAX_ARRAY_BYTES
                // and fail the request it answers, keeping the circuit.
                Err(ProtocolError::PayloadTooLarge { header, .. }) => {
                    self.route_error(Cid(u32::MAX), EcaStatus::ECA_TOLARGE, header, String::new());
                    continue;
                }
                Err(e) => {
                    self.close_with(CloseReason::Protocol(e.clone()));
                    return Err(e);
                }
            };
            if let Err(e) = self.handle_message(msg) {
                self.close_with(CloseReason::Protocol(e.clone()));
                return Err(e);
            }
        }
    }

    fn cid_for_sid(&self, sid: Sid) -> Option<Cid> {
        self.sid_to_cid.get(&sid).copied()
    }

    fn handle_message(&mut self, msg: ServerMessage) -> Result<(), ProtocolError> {
        match msg {
            ServerMessage::Version { minor_version, .. } => {
                self.server_minor_version = Some(minor_version);
                self.events
                    .push_back(ClientEvent::ServerVersion { minor_version });
            }
            ServerMessage::AccessRights { cid, rights } => match self.channels.get_mut(&cid) {
                Some(Channel {
                    state: ChannelState::Creating { access },
                    ..
                }) => {
                    *access = rights;
                    self.events
                        .push_back(ClientEvent::AccessRights { cid, rights });
                }
                Some(Channel {
                    state: ChannelState::Connected(info),
                    ..
                }) => {
                    info.access = rights;
                    self.events
                        .push_back(ClientEvent::AccessRights { cid, rights });
                }
                // Cleared meanwhile, or unknown: nothing to update.
                Some(Channel {
                    state: ChannelState::Clearing,
                    ..
                })
                | None => {}
            },
            ServerMessage::CreateChanResponse {
                data_type,
                count,
                cid,
                sid,
            } => {
                let Some(chan) = self.channels.get_mut(&cid) else {
                    // A reply for a channel dropped before it connected, or a
                    // confused server: release the server's resources.
                    self.send(&ClientMessage::ClearChannel { sid, cid });
                    return Ok(());
                };
                match chan.state {
                    ChannelState::Creating { access } => {
                        let info = ChannelInfo {
                            sid,
                            native_type: data_type,
                            native_count: count,
                            access,
                        };
                        chan.state = ChannelState::Connected(info);
                        self.sid_to_cid.insert(sid, cid);
                        self.events.push_back(ClientEvent::Connected { cid, info });
                    }
                    ChannelState::Clearing => {
                        self.channels.remove(&cid);
                        self.send(&ClientMessage::ClearChannel { sid, cid });
                    }
                    ChannelState::Connected(_) => {
                        return Err(ProtocolError::IllegalState {
                            command: Command::CREATE_CHAN,
                            state: "channel already connected",
                        })
                    }
                }
            }
            ServerMessage::CreateChFail { cid } => {
                if self.channels.remove(&cid).is_some() {
                    self.events.push_back(ClientEvent::CreateFailed { cid });
                }
            }
            ServerMessage::ReadNotifyResponse {
                data_type,
                count,
                status,
                ioid,
                data,
            } => {
                if let Some(Pending::Read { cid }) = self.pending.get(&ioid).copied() {
                    self.pending.remove(&ioid);
                    let result = if status.is_success() {
                        Ok(DbrPayload {
                            data_type,
                            count,
                            data,
                        })
                    } else {
                        Err(RemoteError {
                            status,
                            message: String::new(),
                        })
                    };
                    self.events
                        .push_back(ClientEvent::ReadDone { ioid, cid, result });
                }
            }
            ServerMessage::ReadResponse {
                data_type,
                count,
                ioid,
                data,
                ..
            } => {
                if let Some(Pending::Read { cid }) = self.pending.get(&ioid).copied() {
                    self.pending.remove(&ioid);
                    let result = Ok(DbrPayload {
                        data_type,
                        count,
                        data,
                    });
                    self.events
                        .push_back(ClientEvent::ReadDone { ioid, cid, result });
                }
            }
            ServerMessage::WriteNotifyResponse { status, ioid, .. } => {
                if let Some(Pending::Write { cid }) = self.pending.get(&ioid).copied() {
                    self.pending.remove(&ioid);
                    let result = if status.is_success() {
                        Ok(())
                    } else {
                        Err(RemoteError {
                            status,
                            message: String::new(),
                        })
                    };
                    self.events
                        .push_back(ClientEvent::WriteDone { ioid, cid, result });
                }
            }
            ServerMessage::EventAddResponse {
                data_type,
                count,
                status,
                subid,
                data,
            } => {
                if let Some(sub) = self.subs.get(&subid) {
                    if !sub.cancelling {
                        let payload = DbrPayload {
                            data_type,
                            count,
                            data,
                        };
                        self.events.push_back(ClientEvent::Update {
                            subid,
                            cid: sub.cid,
                            payload,
                            status,
                        });
                    }
                }
            }
            ServerMessage::EventCancelResponse { subid, .. } => {
                if self.subs.remove(&subid).is_some() {
                    self.events
                        .push_back(ClientEvent::SubscriptionCancelled { subid });
                }
            }
            ServerMessage::ClearChannel { cid, sid } => {
                if matches!(
                    self.channels.get(&cid),
                    Some(Channel {
                        state: ChannelState::Clearing,
                        ..
                    })
                ) {
                    self.channels.remove(&cid);
                    self.sid_to_cid.remove(&sid);
                    self.events.push_back(ClientEvent::ChannelCleared { cid });
                }
            }
            ServerMessage::ServerDisconn { cid } => {
                if let Some(chan) = self.channels.remove(&cid) {
                    if let ChannelState::Connected(info) = chan.state {
                        self.sid_to_cid.remove(&info.sid);
                    }
                    let mut subscriptions: Vec<SubscriptionSpec> = self
                        .subs
                        .iter()
                        .filter(|(_, s)| s.cid == cid && !s.cancelling)
                        .map(|(subid, s)| SubscriptionSpec {
                            subid: *subid,
                            data_type: s.data_type,
                            count: s.count,
                            mask: s.mask,
                        })
                        .collect();
                    subscriptions.sort_by_key(|s| s.subid);
                    self.subs.retain(|_, s| s.cid != cid);
                    self.fail_pending_of(cid, EcaStatus::ECA_DISCONN);
                    self.events
                        .push_back(ClientEvent::ChannelDisconnected { cid, subscriptions });
                }
            }
            ServerMessage::Error {
                cid,
                status,
                request,
                message,
            } => self.route_error(cid, status, request, message),
            // A READ_SYNC echoed back only shows the server is alive.
            ServerMessage::Echo | ServerMessage::ReadSync => {}
            ServerMessage::SearchResponse { .. } | ServerMessage::NotFound { .. } => {
                // Name-server replies over TCP are handled by the search layer;
                // on a data circuit they are harmless and ignored.
            }
            ServerMessage::Beacon { .. } | ServerMessage::RepeaterConfirm { .. } => {
                return Err(ProtocolError::UnexpectedCommand {
                    command: Command::RSRV_IS_UP,
                    context: "UDP-only message on a TCP circuit",
                })
            }
            ServerMessage::Obsolete { .. } => {}
        }
        Ok(())
    }

    fn fail_pending_of(&mut self, cid: Cid, status: EcaStatus) {
        let mut failed: Vec<(IoId, Pending)> =
            self.pending.iter().filter(|(_, p)| matches!(p, Pending::Read { cid: c } | Pending::Write { cid: c } if *c == cid)).map(|(i, p)| (*i, *p)).collect();
        failed.sort_by_key(|(i, _)| *i);
        for (ioid, p) in failed {
            self.pending.remove(&ioid);
            let error = RemoteError {
                status,
                message: String::new(),
            };
            self.events.push_back(p.failed(ioid, error));
        }
    }

    /// Routes an ERROR through the copy of the request header it carries.
    fn route_error(&mut self, cid: Cid, status: EcaStatus, request: Header, message: String) {
        let error = RemoteError { status, message };
        match request.command {
            Command::READ_NOTIFY | Command::READ | Command::WRITE_NOTIFY => {
                let ioid = IoId(request.parameter2);
                if let Some(p) = self.pending.remove(&ioid) {
                    self.events.push_back(p.failed(ioid, error));
                    return;
                }
            }
            Command::EVENT_ADD => {
                let subid = SubId(request.parameter2);
                // The subscription survives a failed update, as in libca
                // (`eventAddExcep` -> `ioExceptionNotify`).
                if let Some(sub) = self.subs.get(&subid) {
                    self.events.push_back(ClientEvent::SubscriptionFailed {
                        subid,
                        cid: sub.cid,
                        error,
                    });
                    return;
                }
            }
            _ => {}
        }
        let cid = if self.channels.contains_key(&cid) {
            Some(cid)
        } else {
            self.cid_for_sid(Sid(request.parameter1))
        };
        self.events.push_back(ClientEvent::Error {
            cid,
            request,
            error,
        });
    }

    /// A beacon from this circuit's server arrived: like libca
    /// (`tcpRecvWatchdog::beaconArrivalNotify`), it counts as a sign of life
    /// and postpones the next ECHO, so idle circuits stay quiet.
    pub fn handle_beacon(&mut self, now: Instant) {
        if self.liveness == Liveness::Alive && now > self.last_rx {
            self.last_rx = now;
        }
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.close_with(CloseReason::Eof);
    }

    /// Runs the timers: sends an ECHO after `conn_timeout` of silence, and
    /// reports [`ClientEvent::Unresponsive`] when it goes unanswered.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        match self.liveness {
            Liveness::Alive if now >= self.last_rx + self.config.conn_timeout => {
                self.send(&ClientMessage::Echo);
                self.liveness = Liveness::EchoSent(now);
            }
            Liveness::EchoSent(sent) if now >= sent + self.config.echo_timeout => {
                self.liveness = Liveness::Unresponsive;
                self.events.push_back(ClientEvent::Unresponsive);
            }
            Liveness::Alive | Liveness::EchoSent(_) | Liveness::Unresponsive => {}
        }
    }

    /// The next time [`ClientCircuit::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        match self.liveness {
            Liveness::Alive => Some(self.last_rx + self.config.conn_timeout),
            Liveness::EchoSent(sent) => Some(sent + self.config.echo_timeout),
            // Nothing more to time; new input makes the circuit alive again.
            Liveness::Unresponsive => None,
        }
    }

    /// Moves all bytes waiting to be sent into `out`; returns whether any.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        super::move_queued(&mut self.out, out)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
}
