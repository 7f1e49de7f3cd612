//! The server side of a virtual circuit.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use super::DEFAULT_MAX_PAYLOAD;
use crate::dbr::{min_payload_size, payload_size, DbrType};
use crate::error::{ProtocolError, UsageError};
use crate::ids::{Cid, IdAllocator, IdMap, IoId, Sid, SubId};
use crate::status::{AccessRights, EcaStatus};
use crate::wire::{
    ClientMessage, Command, EventMask, Header, Message, ServerMessage, StreamDecoder,
};
use crate::CA_MINOR_VERSION;

/// Settings of a [`ServerCircuit`].
#[derive(Clone, Debug)]
pub struct ServerCircuitConfig {
    /// Largest request payload accepted (`EPICS_CA_MAX_ARRAY_BYTES` plus
    /// metadata room). A larger declared payload closes the circuit.
    pub max_payload: u32,
    /// Most channels one client may hold on this circuit; further
    /// CREATE_CHAN requests get CREATE_CH_FAIL.
    pub max_channels: usize,
    /// The server's TCP port, given in replies to searches that arrive over
    /// TCP (name-server searches, libca `SearchDestTCP`).
    pub server_port: u16,
    /// Most WRITE_NOTIFY requests queued behind a pending one on the same
    /// channel; beyond, a request is answered ECA_PUTCBINPROG.
    pub max_queued_puts: usize,
}

impl Default for ServerCircuitConfig {
    fn default() -> Self {
        Self {
            max_payload: DEFAULT_MAX_PAYLOAD,
            max_channels: 1 << 20,
            server_port: crate::DEFAULT_SERVER_PORT,
            max_queued_puts: 256,
        }
    }
}

/// A read the application must answer with [`ServerCircuit::read_reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    /// Channel.
    pub sid: Sid,
    /// Request id.
    pub ioid: IoId,
    /// Requested type.
    pub data_type: DbrType,
    /// Requested count; 0 means "the current length".
    pub count: u32,
    /// True for READ_NOTIFY, false for the deprecated READ.
    pub notify: bool,
}

/// A write the application must carry out, and answer with
/// [`ServerCircuit::write_reply`] when `notify` is set.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteRequest {
    /// Channel.
    pub sid: Sid,
    /// Request id.
    pub ioid: IoId,
    /// Type of `data`.
    pub data_type: DbrType,
    /// Number of elements in `data`.
    pub count: u32,
    /// DBR payload as received (padded).
    pub data: Vec<u8>,
    /// True for WRITE_NOTIFY.
    pub notify: bool,
    /// The request's header, for an ERROR reply.
    pub header: Header,
}

/// What a client asked of the server.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The client's VERSION: its priority and minor version.
    ClientVersion {
        /// Requested priority.
        priority: u16,
        /// Client minor version.
        minor_version: u16,
    },
    /// The client's user name.
    ClientName(String),
    /// The client's host name.
    HostName(String),
    /// The client wants a channel: answer with
    /// [`ServerCircuit::accept_channel`] or [`ServerCircuit::reject_channel`].
    CreateChannel {
        /// Client channel id.
        cid: Cid,
        /// Channel name.
        name: String,
    },
    /// Answer with [`ServerCircuit::read_reply`].
    Read(ReadRequest),
    /// Carry out the write; if `notify`, answer with
    /// [`ServerCircuit::write_reply`].
    Write(WriteRequest),
    /// A new subscription: post its first value and later updates with
    /// [`ServerCircuit::post_event`].
    Subscribe {
        /// Channel.
        sid: Sid,
        /// Subscription id.
        subid: SubId,
        /// Requested type.
        data_type: DbrType,
        /// Requested count (0: current length).
        count: u32,
        /// Event mask.
        mask: EventMask,
    },
    /// The subscription was cancelled (already acknowledged to the client).
    Unsubscribe {
        /// Channel.
        sid: Sid,
        /// Subscription id.
        subid: SubId,
    },
    /// The client cleared the channel (already acknowledged).
    ChannelCleared {
        /// Channel.
        sid: Sid,
        /// Client channel id.
        cid: Cid,
    },
    /// A search that arrived over TCP (the client uses this server as a name
    /// server): answer with [`ServerCircuit::search_reply`].
    Search {
        /// The client's channel id.
        cid: Cid,
        /// The name searched for.
        name: String,
        /// DO_REPLY / DONT_REPLY.
        reply: u16,
    },
    /// Read access to a channel came back: post the current value to these
    /// subscriptions (rsrv re-posts them in `casAccessRightsCB`).
    RefreshSubscriptions {
        /// Channel.
        sid: Sid,
        /// Its subscriptions.
        subids: Vec<SubId>,
    },
    /// The client asked to pause (true) or resume (false) monitor updates.
    /// The circuit already holds back and coalesces updates meanwhile.
    EventsPaused(bool),
    /// An obsolete command was received and ignored.
    Obsolete(Command),
}

#[derive(Debug)]
struct Channel {
    cid: Cid,
    name: String,
    native_type: DbrType,
    native_count: u32,
    access: AccessRights,
    subs: Vec<SubId>,
    /// A WRITE_NOTIFY is with the application (rsrv runs one per channel).
    put_busy: bool,
    /// WRITE_NOTIFY requests waiting for it.
    queued_puts: VecDeque<WriteRequest>,
}

#[derive(Debug, Clone, Copy)]
struct Subscription {
    sid: Sid,
    data_type: DbrType,
    count: u32,
}

/// The server side of one client's TCP virtual circuit.
///
/// Driving contract: see [`crate::circuit`]. The circuit answers ECHO,
/// EVENT_CANCEL and CLEAR_CHANNEL by itself, validates ids, counts, types
/// and access rights (answering with the ECA status rsrv uses), and hands the
/// rest to the application as [`ServerEvent`]s. It has no timers of its own.
///
/// Flow control: between EVENTS_OFF and EVENTS_ON, updates posted with
/// [`ServerCircuit::post_event`] are held back, keeping only the newest one
/// per subscription, so memory stays bounded however long the pause.
#[derive(Debug)]
pub struct ServerCircuit {
    config: ServerCircuitConfig,
    decoder: StreamDecoder,
    out: Vec<u8>,
    events: VecDeque<ServerEvent>,
    channels: IdMap<Sid, Channel>,
    pending_creates: IdMap<Cid, String>,
    subs: IdMap<SubId, Subscription>,
    held: BTreeMap<SubId, ServerMessage>,
    sids: IdAllocator,
    client_minor_version: u16,
    events_off: bool,
    closed: bool,
}

impl ServerCircuit {
    /// A new circuit for a freshly accepted client connection. The server's
    /// VERSION is queued at once, as rsrv does.
    pub fn new(_now: Instant, config: ServerCircuitConfig) -> Self {
        let mut c = Self {
            decoder: StreamDecoder::new(config.max_payload),
            out: Vec::new(),
            events: VecDeque::new(),
            channels: IdMap::default(),
            pending_creates: IdMap::default(),
            subs: IdMap::default(),
            held: BTreeMap::new(),
            sids: IdAllocator::starting_at(0),
            client_minor_version: 0,
            events_off: false,
            closed: false,
            config,
        };
        c.send(&ServerMessage::Version {
            priority: 0,
            minor_version: CA_MINOR_VERSION,
            sequence: 0,
        });
        c
    }

    fn send(&mut self, m: &ServerMessage) {
        m.encode(&mut self.out);
    }

    /// The client's minor protocol version (0 until its VERSION arrives).
    pub fn client_minor_version(&self) -> u16 {
        self.client_minor_version
    }

    /// Number of channels open on this circuit.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// True once the circuit closed because of a protocol error.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Feeds bytes received from the client. An error means the client is
    /// faulty: flush [`ServerCircuit::poll_transmit`] and close the connection.
    pub fn handle_input(&mut self, _now: Instant, bytes: &[u8]) -> Result<(), ProtocolError> {
        if self.closed {
            return Ok(());
        }
        self.decoder.push(bytes);
        loop {
            let result = self.decoder.next_message::<ClientMessage>();
            let msg = match result {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(()),
                // A request for a DBR type that does not exist: answer
                // ECA_BADTYPE and go on, as rsrv does.
                Err(ProtocolError::BadDbrType { header }) => {
                    let (cid, name) = self.cid_and_name(Sid(header.parameter1));
                    self.send_error(cid, EcaStatus::ECA_BADTYPE, header, &name);
                    continue;
                }
                // A request above EPICS_CA_MAX_ARRAY_BYTES: answered with
                // ECA_TOLARGE, its payload skipped, the circuit kept (rsrv
                // `camessage`).
                Err(ProtocolError::PayloadTooLarge { header, .. }) => {
                    let (cid, _) = self.cid_and_name(Sid(header.parameter1));
                    self.send_error(
                        cid,
                        EcaStatus::ECA_TOLARGE,
                        header,
                        "Server unable to load large request message",
                    );
                    continue;
                }
                Err(e) => {
                    self.closed = true;
                    return Err(e);
                }
            };
            if let Err(e) = self.handle_message(msg) {
                self.closed = true;
                return Err(e);
            }
        }
    }

    /// The cid and name of a channel, or rsrv's 0xFFFFFFFF cid and no name
    /// when the sid is unknown (`vsend_err`).
    fn cid_and_name(&self, sid: Sid) -> (Cid, String) {
        self.channels
            .get(&sid)
            .map_or((Cid(u32::MAX), String::new()), |c| {
                (c.cid, record_name(&c.name).to_owned())
            })
    }

    fn send_error(&mut self, cid: Cid, status: EcaStatus, request: Header, message: &str) {
        self.send(&ServerMessage::Error {
            cid,
            status,
            request,
            message: message.to_owned(),
        });
    }

    /// Looks up a channel for a request; an unknown sid is answered with
    /// ECA_INTERNAL "Bad Resource ID" and closes the circuit (rsrv
    /// `logBadId` in `camessage.c`).
    fn channel_for(&mut self, sid: Sid, request: Header) -> Result<&Channel, ProtocolError> {
        if !self.channels.contains_key(&sid) {
            self.send_error(
                Cid(u32::MAX),
                EcaStatus::ECA_INTERNAL,
                request,
                "Bad Resource ID",
            );
            return Err(ProtocolError::UnknownId {
                command: request.command,
                kind: "sid",
                id: sid.0,
            });
        }
        self.channels.get(&sid).ok_or(ProtocolError::UnknownId {
            command: request.command,
            kind: "sid",
            id: sid.0,
        })
    }

    fn handle_message(&mut self, msg: ClientMessage) -> Result<(), ProtocolError> {
        let header = msg.header();
        match msg {
            ClientMessage::Version {
                priority,
                minor_version,
                ..
            } => {
                self.client_minor_version = minor_version;
                self.events.push_back(ServerEvent::ClientVersion {
                    priority,
                    minor_version,
                });
            }
            ClientMessage::ClientName { name } => {
                self.events.push_back(ServerEvent::ClientName(name))
            }
            ClientMessage::HostName { name } => self.events.push_back(ServerEvent::HostName(name)),
            ClientMessage::CreateChan { cid, name, .. } => {
                if header.payload_size <= 1 {
                    // rsrv ignores a CREATE_CHAN without a name
                    // (`claim_ciu_action`).
                    return Ok(());
                }
                if name.is_empty() {
                    self.send(&ServerMessage::CreateChFail { cid });
                    return Ok(());
                }
                if self.channels.len() + self.pending_creates.len() >= self.config.max_channels {
                    self.send(&ServerMessage::CreateChFail { cid });
                } else {
                    self.pending_creates.insert(cid, name.clone());
                    self.events
                        .push_back(ServerEvent::CreateChannel { cid, name });
                }
            }
            ClientMessage::ReadNotify {
                data_type,
                count,
                sid,
                ioid,
            }
            | ClientMessage::Read {
                data_type,
                count,
                sid,
                ioid,
            } => {
                let notify = header.command == Command::READ_NOTIFY;
                let access = self.channel_for(sid, header)?.access;
                let req = ReadRequest {
                    sid,
                    ioid,
                    data_type,
                    count,
                    notify,
                };
                // A count above the native count is not refused: rsrv serves
                // what exists and zero-fills the rest (`read_reply`).
                if access.can_read() {
                    self.events.push_back(ServerEvent::Read(req));
                } else {
                    self.fail_read(&req, EcaStatus::ECA_NORDACCESS);
                }
            }
            ClientMessage::Write {
                data_type,
                count,
                sid,
                ioid,
                data,
            }
            | ClientMessage::WriteNotify {
                data_type,
                count,
                sid,
                ioid,
                data,
            } => {
                let notify = header.command == Command::WRITE_NOTIFY;
                let access = self.channel_for(sid, header)?.access;
                let status = if !access.can_write() {
                    Some(EcaStatus::ECA_NOWTACCESS)
                } else if data.len() < min_payload_size(data_type, count) {
                    Some(EcaStatus::ECA_BADCOUNT)
                } else {
                    None
                };
                let req = WriteRequest {
                    sid,
                    ioid,
                    data_type,
                    count,
                    data,
                    notify,
                    header,
                };
                match status {
                    Some(status) => self.fail_write(&req, status),
                    None if notify => self.start_or_queue_put(req),
                    None => self.events.push_back(ServerEvent::Write(req)),
                }
            }
            ClientMessage::EventAdd {
                data_type,
                count,
                sid,
                subid,
                mask,
                ..
            } => {
                // rsrv does not check the mask (`event_add_action`).
                let can_read = self.channel_for(sid, header)?.access.can_read();
                if let Some(chan) = self.channels.get_mut(&sid) {
                    if !chan.subs.contains(&subid) {
                        chan.subs.push(subid);
                    }
                }
                self.subs.insert(
                    subid,
                    Subscription {
                        sid,
                        data_type,
                        count,
                    },
                );
                if !can_read {
                    // The first update tells the client it cannot read
                    // (rsrv `no_read_access_event`).
                    self.send_no_read_access_update(subid);
                }
                self.events.push_back(ServerEvent::Subscribe {
                    sid,
                    subid,
                    data_type,
                    count,
                    mask,
                });
            }
            ClientMessage::EventCancel { sid, subid, .. } => {
                self.channel_for(sid, header)?;
                let owned = self.subs.get(&subid).is_some_and(|s| s.sid == sid);
                if let (true, Some(sub)) = (owned, self.subs.remove(&subid)) {
                    self.held.remove(&subid);
                    if let Some(chan) = self.channels.get_mut(&sid) {
                        chan.subs.retain(|s| *s != subid);
                    }
                    // The acknowledgement repeats the subscription's own
                    // type and count (rsrv `event_cancel_reply`).
                    self.send(&ServerMessage::EventCancelResponse {
                        data_type: sub.data_type,
                        count: sub.count,
                        sid,
                        subid,
                    });
                    self.events
                        .push_back(ServerEvent::Unsubscribe { sid, subid });
                } else {
                    let (cid, _) = self.cid_and_name(sid);
                    self.send_error(cid, EcaStatus::ECA_BADMONID, header, "");
                }
            }
            ClientMessage::ClearChannel { sid, cid } => {
                self.channel_for(sid, header)?;
                if let Some(chan) = self.channels.remove(&sid) {
                    for subid in chan.subs {
                        self.subs.remove(&subid);
                        self.held.remove(&subid);
                    }
                }
                self.send(&ServerMessage::ClearChannel { sid, cid });
                self.events
                    .push_back(ServerEvent::ChannelCleared { sid, cid });
            }
            ClientMessage::EventsOff => {
                self.events_off = true;
                self.events.push_back(ServerEvent::EventsPaused(true));
            }
            ClientMessage::EventsOn => {
                self.events_off = false;
                for (_, m) in std::mem::take(&mut self.held) {
                    self.send(&m);
                }
                self.events.push_back(ServerEvent::EventsPaused(false));
            }
            ClientMessage::Echo => self.send(&ServerMessage::Echo),
            // rsrv echoes READ_SYNC back (`read_sync_reply`).
            ClientMessage::ReadSync => self.send(&ServerMessage::ReadSync),
            ClientMessage::Search {
                reply, cid, name, ..
            } => self
                .events
                .push_back(ServerEvent::Search { cid, name, reply }),
            ClientMessage::RepeaterRegister { .. } => {
                return Err(ProtocolError::UnexpectedCommand {
                    command: Command::REPEATER_REGISTER,
                    context: "repeater registration is UDP-only",
                })
            }
            ClientMessage::Obsolete { header, .. } => {
                self.events.push_back(ServerEvent::Obsolete(header.command))
            }
        }
        Ok(())
    }

    /// Reports a failed read: for READ_NOTIFY a reply with the status and a
    /// zero-filled value of the requested type and count (count 0: the
    /// native count), as rsrv's `read_reply` / `no_read_access_event`; for the
    /// deprecated READ an ERROR naming the channel (rsrv `read_action`).
    fn fail_read(&mut self, req: &ReadRequest, status: EcaStatus) {
        let Some(chan) = self.channels.get(&req.sid) else {
            return;
        };
        let (cid, name, native_count) = (
            chan.cid,
            record_name(&chan.name).to_owned(),
            chan.native_count,
        );
        if req.notify {
            let n = if req.count == 0 {
                native_count
            } else {
                req.count
            };
            let size = payload_size(req.data_type, n);
            if size > self.config.max_payload as usize {
                // Never allocate what the client's count asks for beyond the
                // limit: rsrv answers ECA_TOLARGE when the reply does not fit
                // its buffer (`read_reply`, "server unable to load").
                let header = ClientMessage::ReadNotify {
                    data_type: req.data_type,
                    count: req.count,
                    sid: req.sid,
                    ioid: req.ioid,
                }
                .header();
                self.send_error(cid, EcaStatus::ECA_TOLARGE, header, &name);
                return;
            }
            let data = vec![0u8; size];
            self.send(&ServerMessage::ReadNotifyResponse {
                data_type: req.data_type,
                count: n,
                status,
                ioid: req.ioid,
                data,
            });
        } else {
            let header = ClientMessage::Read {
                data_type: req.data_type,
                count: req.count,
                sid: req.sid,
                ioid: req.ioid,
            }
            .header();
            self.send_error(cid, status, header, &name);
        }
    }

    /// Reports a failed write: WRITE_NOTIFY gets a reply with the status
    /// (rsrv `putNotifyErrorReply`), WRITE an ERROR naming the channel.
    fn fail_write(&mut self, req: &WriteRequest, status: EcaStatus) {
        let Some(chan) = self.channels.get(&req.sid) else {
            return;
        };
        let (cid, name) = (chan.cid, record_name(&chan.name).to_owned());
        if req.notify {
            self.send(&ServerMessage::WriteNotifyResponse {
                data_type: req.data_type,
                count: req.count,
                status,
                ioid: req.ioid,
            });
        } else {
            self.send_error(cid, status, req.header, &name);
        }
    }

    /// Accepts a channel requested with [`ServerEvent::CreateChannel`]: sends
    /// ACCESS_RIGHTS then the CREATE_CHAN reply (rsrv's order) and returns
    /// the new server id. `native_count` must not be 0 (libca refuses such a
    /// channel): advertise the capacity of an empty array.
    pub fn accept_channel(
        &mut self,
        cid: Cid,
        native_type: DbrType,
        native_count: u32,
        access: AccessRights,
    ) -> Result<Sid, UsageError> {
        if native_count == 0 {
            return Err(UsageError::BadCount {
                requested: 0,
                native: 0,
            });
        }
        if native_type.code() > DbrType::Double.code() {
            return Err(UsageError::Conversion(
                crate::dbr::ConversionError::Unsupported {
                    from: native_type.native(),
                    to: native_type.native(),
                },
            ));
        }
        let Some(name) = self.pending_creates.remove(&cid) else {
            return Err(UsageError::UnknownId {
                kind: "pending cid",
                id: cid.0,
            });
        };
        let channels = &self.channels;
        let sid = self
            .sids
            .allocate(|id| channels.contains_key(&Sid(id)))
            .map(Sid)
            .ok_or(UsageError::IdsExhausted)?;
        self.channels.insert(
            sid,
            Channel {
                cid,
                name,
                native_type,
                native_count,
                access,
                subs: Vec::new(),
                put_busy: false,
                queued_puts: VecDeque::new(),
            },
        );
        self.send(&ServerMessage::AccessRights {
            cid,
            rights: access,
        });
        self.send(&ServerMessage::CreateChanResponse {
            data_type: native_type,
            count: native_count,
            cid,
            sid,
        });
        Ok(sid)
    }

    /// Refuses a channel (CREATE_CH_FAIL).
    pub fn reject_channel(&mut self, cid: Cid) -> Result<(), UsageError> {
        if self.pending_creates.remove(&cid).is_none() {
            return Err(UsageError::UnknownId {
                kind: "pending cid",
                id: cid.0,
            });
        }
        self.send(&ServerMessage::CreateChFail { cid });
        Ok(())
    }

    /// Answers a [`ServerEvent::Read`]: `Ok((count, data))` with the DBR payload
    /// of `req.data_type` holding `count` elements, or `Err(status)`.
    /// A reply for a channel cleared meanwhile is dropped.
    pub fn read_reply(&mut self, req: &ReadRequest, result: Result<(u32, Vec<u8>), EcaStatus>) {
        let Some(chan) = self.channels.get(&req.sid) else {
            return;
        };
        let cid = chan.cid;
        match result {
            Ok((count, data)) if req.notify => self.send(&ServerMessage::ReadNotifyResponse {
                data_type: req.data_type,
                count,
                status: EcaStatus::ECA_NORMAL,
                ioid: req.ioid,
                data,
            }),
            Ok((count, data)) => self.send(&ServerMessage::ReadResponse {
                data_type: req.data_type,
                count,
                cid,
                ioid: req.ioid,
                data,
            }),
            Err(status) => self.fail_read(req, status),
        }
    }

    /// Answers a [`ServerEvent::Write`]: for WRITE_NOTIFY a reply with the
    /// status; for a plain WRITE only a failure is reported (as an ERROR
    /// message naming the channel, as rsrv does).
    pub fn write_reply(&mut self, req: &WriteRequest, result: Result<(), EcaStatus>) {
        if !self.channels.contains_key(&req.sid) {
            return;
        }
        match result {
            Ok(()) if req.notify => self.send(&ServerMessage::WriteNotifyResponse {
                data_type: req.data_type,
                count: req.count,
                status: EcaStatus::ECA_NORMAL,
                ioid: req.ioid,
            }),
            Ok(()) => {}
            Err(status) => self.fail_write(req, status),
        }
        if req.notify {
            self.next_put(req.sid);
        }
    }

    /// rsrv runs one WRITE_NOTIFY per channel at a time
    /// (`write_notify_action`, `pPutNotify->busy`); later ones wait, so
    /// their completions come back in order.
    fn start_or_queue_put(&mut self, req: WriteRequest) {
        let limit = self.config.max_queued_puts;
        let Some(chan) = self.channels.get_mut(&req.sid) else {
            return;
        };
        if !chan.put_busy {
            chan.put_busy = true;
            self.events.push_back(ServerEvent::Write(req));
        } else if chan.queued_puts.len() < limit {
            chan.queued_puts.push_back(req);
        } else {
            self.fail_write(&req, EcaStatus::ECA_PUTCBINPROG);
        }
    }

    /// The channel's pending WRITE_NOTIFY completed: hand over the next.
    fn next_put(&mut self, sid: Sid) {
        let Some(chan) = self.channels.get_mut(&sid) else {
            return;
        };
        match chan.queued_puts.pop_front() {
            Some(next) => self.events.push_back(ServerEvent::Write(next)),
            None => chan.put_busy = false,
        }
    }

    /// Answers a [`ServerEvent::Search`] that came over TCP: a reply naming
    /// this server when `found`, NOT_FOUND for a DO_REPLY miss, nothing
    /// otherwise (rsrv `search_reply_tcp`).
    pub fn search_reply(&mut self, cid: Cid, reply: u16, found: bool) {
        if found {
            self.send(&ServerMessage::SearchResponse {
                port: self.config.server_port,
                server_addr: crate::wire::ADDR_FROM_SENDER,
                cid,
                minor_version: None,
            });
        } else if reply == crate::wire::DO_REPLY {
            self.send(&ServerMessage::NotFound {
                reply,
                minor_version: CA_MINOR_VERSION,
                cid,
            });
        }
    }

    /// Sends a subscription the update that says "no read access": the
    /// ECA_NORDACCESS status and a zero-filled value of the requested type
    /// and count (rsrv `no_read_access_event`).
    fn send_no_read_access_update(&mut self, subid: SubId) {
        let Some(sub) = self.subs.get(&subid).copied() else {
            return;
        };
        let native_count = self.channels.get(&sub.sid).map_or(1, |c| c.native_count);
        let count = if sub.count == 0 {
            native_count
        } else {
            sub.count
        };
        self.held.remove(&subid);
        let size = payload_size(sub.data_type, count);
        if size > self.config.max_payload as usize {
            // As for reads: refuse rather than allocate a client-chosen size.
            let (cid, name) = self.cid_and_name(sub.sid);
            let header = ClientMessage::EventAdd {
                data_type: sub.data_type,
                count: sub.count,
                sid: sub.sid,
                subid,
                mask: crate::wire::EventMask::VALUE,
                deadband: [0.0; 3],
            }
            .header();
            self.send_error(cid, EcaStatus::ECA_TOLARGE, header, &name);
            return;
        }
        self.send(&ServerMessage::EventAddResponse {
            data_type: sub.data_type,
            count,
            status: EcaStatus::ECA_NORDACCESS,
            subid,
            data: vec![0; size],
        });
    }

    /// Posts a monitor update for `subid`: `count` elements of the
    /// subscription's type in `data`. Ignored for a subscription that no
    /// longer exists (cancelled meanwhile). While the client has events off,
    /// only the newest update per subscription is kept.
    pub fn post_event(&mut self, subid: SubId, status: EcaStatus, count: u32, data: Vec<u8>) {
        let Some(sub) = self.subs.get(&subid) else {
            return;
        };
        // Without read access a subscription only ever got the zero-filled
        // ECA_NORDACCESS update.
        if !self
            .channels
            .get(&sub.sid)
            .is_some_and(|c| c.access.can_read())
        {
            return;
        }
        let m = ServerMessage::EventAddResponse {
            data_type: sub.data_type,
            count,
            status,
            subid,
            data,
        };
        if self.events_off {
            self.held.insert(subid, m);
        } else {
            self.send(&m);
        }
    }

    /// The native type and count of a channel.
    pub fn channel_native(&self, sid: Sid) -> Option<(DbrType, u32)> {
        self.channels
            .get(&sid)
            .map(|c| (c.native_type, c.native_count))
    }

    /// The type and count a subscription asked for.
    pub fn subscription(&self, subid: SubId) -> Option<(Sid, DbrType, u32)> {
        self.subs.get(&subid).map(|s| (s.sid, s.data_type, s.count))
    }

    /// Changes a channel's access rights and tells the client.
    pub fn set_access_rights(&mut self, sid: Sid, access: AccessRights) -> Result<(), UsageError> {
        let chan = self.channels.get_mut(&sid).ok_or(UsageError::UnknownId {
            kind: "sid",
            id: sid.0,
        })?;
        let had_read = chan.access.can_read();
        chan.access = access;
        let cid = chan.cid;
        let subids = chan.subs.clone();
        self.send(&ServerMessage::AccessRights {
            cid,
            rights: access,
        });
        // rsrv re-posts every subscription when read access changes
        // (`casAccessRightsCB`).
        match (had_read, access.can_read()) {
            (true, false) => {
                for subid in subids {
                    self.send_no_read_access_update(subid);
                }
            }
            (false, true) if !subids.is_empty() => {
                self.events
                    .push_back(ServerEvent::RefreshSubscriptions { sid, subids });
            }
            _ => {}
        }
        Ok(())
    }

    /// Drops a channel from the server side (SERVER_DISCONN): the client
    /// will search for it again.
    pub fn disconnect_channel(&mut self, sid: Sid) -> Result<(), UsageError> {
        let chan = self.channels.remove(&sid).ok_or(UsageError::UnknownId {
            kind: "sid",
            id: sid.0,
        })?;
        for subid in &chan.subs {
            self.subs.remove(subid);
            self.held.remove(subid);
        }
        self.send(&ServerMessage::ServerDisconn { cid: chan.cid });
        Ok(())
    }

    /// Sends SERVER_DISCONN for every channel, for a graceful shutdown.
    pub fn shutdown(&mut self) {
        let mut sids: Vec<Sid> = self.channels.keys().copied().collect();
        sids.sort();
        for sid in sids {
            let _ = self.disconnect_channel(sid);
        }
    }

    /// Moves all bytes waiting to be sent into `out`; returns whether any.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        super::move_queued(&mut self.out, out)
    }

    /// WRITE_NOTIFY requests waiting behind a pending one, over all
    /// channels. A front-end uses it for back-pressure: it stops feeding
    /// input while many are queued, as rsrv blocks its receive thread until
    /// the pending put completes (`camessage.c` `write_notify_action`),
    /// rather than let the queue limit answer ECA_PUTCBINPROG to a client
    /// that merely pipelines many put-callbacks (EPICS `acctst`
    /// `multiple_sg_requests` sends 1000).
    pub fn queued_puts(&self) -> usize {
        self.channels.values().map(|c| c.queued_puts.len()).sum()
    }

    /// Bytes queued for sending (for back-pressure decisions).
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// The server circuit has no timers.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// The name an ERROR message gives for a channel: rsrv names the record,
/// not the channel (`send_err(..., RECORD_NAME(pciu->dbch))` in
/// camessage.c), so errors on "rec.EGU" say "rec".
fn record_name(channel: &str) -> &str {
    channel.split('.').next().unwrap_or(channel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Header, DONT_REPLY, DO_REPLY};

    fn now() -> Instant {
        // Tests may read the clock for a base instant; the circuit never does.
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    fn drain(c: &mut ServerCircuit) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        c.poll_transmit(&mut out);
        let mut d = StreamDecoder::new(1 << 20);
        d.push(&out);
        std::iter::from_fn(|| d.next_message::<ServerMessage>().unwrap()).collect()
    }

    fn bytes(msgs: &[ClientMessage]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            m.encode(&mut out);
        }
        out
    }

    fn with_channel() -> (ServerCircuit, Sid) {
        let t = now();
        let mut c = ServerCircuit::new(t, ServerCircuitConfig::default());
        c.handle_input(
            t,
            &bytes(&[ClientMessage::CreateChan {
                cid: Cid(1),
                minor_version: 13,
                name: "a".into(),
            }]),
        )
        .unwrap();
        assert_eq!(
            c.poll_event(),
            Some(ServerEvent::CreateChannel {
                cid: Cid(1),
                name: "a".into()
            })
        );
        let sid = c
            .accept_channel(Cid(1), DbrType::Double, 1, AccessRights::READ)
            .unwrap();
        drain(&mut c);
        (c, sid)
    }

    #[test]
    fn version_first_then_rights_before_create_reply() {
        let t = now();
        let mut c = ServerCircuit::new(t, ServerCircuitConfig::default());
        c.handle_input(
            t,
            &bytes(&[ClientMessage::CreateChan {
                cid: Cid(4),
                minor_version: 13,
                name: "a".into(),
            }]),
        )
        .unwrap();
        c.poll_event();
        let sid = c
            .accept_channel(Cid(4), DbrType::Long, 3, AccessRights::READ_WRITE)
            .unwrap();
        let sent = drain(&mut c);
        assert!(matches!(
            sent[0],
            ServerMessage::Version {
                minor_version: 13,
                ..
            }
        ));
        assert_eq!(
            sent[1],
            ServerMessage::AccessRights {
                cid: Cid(4),
                rights: AccessRights::READ_WRITE
            }
        );
        assert_eq!(
            sent[2],
            ServerMessage::CreateChanResponse {
                data_type: DbrType::Long,
                count: 3,
                cid: Cid(4),
                sid
            }
        );
    }

    #[test]
    fn native_count_zero_is_never_advertised() {
        let t = now();
        let mut c = ServerCircuit::new(t, ServerCircuitConfig::default());
        c.handle_input(
            t,
            &bytes(&[ClientMessage::CreateChan {
                cid: Cid(1),
                minor_version: 13,
                name: "a".into(),
            }]),
        )
        .unwrap();
        assert!(c
            .accept_channel(Cid(1), DbrType::Double, 0, AccessRights::READ)
            .is_err());
    }

    #[test]
    fn unknown_sid_gets_bad_resource_id_and_closes_the_circuit() {
        let (mut c, _) = with_channel();
        let req = ClientMessage::EventAdd {
            data_type: DbrType::Double,
            count: 1,
            sid: Sid(999),
            subid: SubId(1),
            mask: EventMask::VALUE,
            deadband: [0.0; 3],
        };
        let err = c
            .handle_input(now(), &bytes(std::slice::from_ref(&req)))
            .unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::UnknownId {
                kind: "sid",
                id: 999,
                ..
            }
        ));
        let sent = drain(&mut c);
        assert!(
            matches!(&sent[0], ServerMessage::Error { status: EcaStatus::ECA_INTERNAL, request, .. } if *request == req.header())
        );
        assert!(c.is_closed());
    }

    #[test]
    fn bad_dbr_type_is_answered_and_the_circuit_goes_on() {
        let (mut c, sid) = with_channel();
        let mut raw = Vec::new();
        Header {
            command: Command::READ_NOTIFY,
            data_type: 99,
            data_count: 1,
            parameter1: sid.0,
            parameter2: 7,
            payload_size: 0,
        }
        .encode(&mut raw);
        ClientMessage::Echo.encode(&mut raw);
        c.handle_input(now(), &raw).unwrap();
        let sent = drain(&mut c);
        assert!(matches!(
            &sent[0],
            ServerMessage::Error {
                status: EcaStatus::ECA_BADTYPE,
                cid: Cid(1),
                ..
            }
        ));
        assert_eq!(sent[1], ServerMessage::Echo);
    }

    #[test]
    fn oversized_request_is_refused_with_tolarge_and_the_circuit_goes_on() {
        let (mut c, sid) = with_channel();
        let mut raw = Vec::new();
        let request = Header {
            command: Command::WRITE,
            data_type: 6,
            data_count: 12_500,
            parameter1: sid.0,
            parameter2: 0,
            payload_size: 100_000,
        };
        request.encode(&mut raw);
        raw.resize(raw.len() + 100_000, 0x55);
        ClientMessage::Echo.encode(&mut raw);
        for piece in raw.chunks(4096) {
            c.handle_input(now(), piece).unwrap();
        }
        let sent = drain(&mut c);
        assert!(matches!(
            &sent[0],
            ServerMessage::Error { status: EcaStatus::ECA_TOLARGE, cid: Cid(1), request: r, .. } if *r == request
        ));
        assert_eq!(sent[1], ServerMessage::Echo);
        assert!(!c.is_closed());
        assert_eq!(c.poll_event(), None);
    }

    #[test]
    fn searches_over_tcp_are_answered_like_a_name_server() {
        let (mut c, _) = with_channel();
        c.handle_input(
            now(),
            &bytes(&[
                ClientMessage::Search {
                    reply: DO_REPLY,
                    minor_version: 13,
                    cid: Cid(7),
                    name: "here".into(),
                },
                ClientMessage::Search {
                    reply: DO_REPLY,
                    minor_version: 13,
                    cid: Cid(8),
                    name: "gone".into(),
                },
                ClientMessage::Search {
                    reply: DONT_REPLY,
                    minor_version: 13,
                    cid: Cid(9),
                    name: "gone".into(),
                },
            ]),
        )
        .unwrap();
        while let Some(ServerEvent::Search { cid, name, reply }) = c.poll_event() {
            c.search_reply(cid, reply, name == "here");
        }
        let sent = drain(&mut c);
        assert_eq!(
            sent,
            vec![
                ServerMessage::SearchResponse {
                    port: crate::DEFAULT_SERVER_PORT,
                    server_addr: crate::wire::ADDR_FROM_SENDER,
                    cid: Cid(7),
                    minor_version: None
                },
                ServerMessage::NotFound {
                    reply: DO_REPLY,
                    minor_version: 13,
                    cid: Cid(8)
                },
            ]
        );
    }

    #[test]
    fn write_notifies_on_one_channel_are_handed_over_one_at_a_time() {
        let t = now();
        let mut c = ServerCircuit::new(t, ServerCircuitConfig::default());
        c.handle_input(
            t,
            &bytes(&[ClientMessage::CreateChan {
                cid: Cid(1),
                minor_version: 13,
                name: "a".into(),
            }]),
        )
        .unwrap();
        c.poll_event();
        let sid = c
            .accept_channel(Cid(1), DbrType::Double, 1, AccessRights::READ_WRITE)
            .unwrap();
        let put = |ioid| ClientMessage::WriteNotify {
            data_type: DbrType::Double,
            count: 1,
            sid,
            ioid: IoId(ioid),
            data: 1.0f64.to_be_bytes().to_vec(),
        };
        c.handle_input(t, &bytes(&[put(1), put(2)])).unwrap();
        let Some(ServerEvent::Write(first)) = c.poll_event() else {
            panic!("no write")
        };
        assert_eq!(first.ioid, IoId(1));
        assert_eq!(
            c.poll_event(),
            None,
            "second put handed over while the first is pending"
        );
        c.write_reply(&first, Ok(()));
        let Some(ServerEvent::Write(second)) = c.poll_event() else {
            panic!("no second write")
        };
        assert_eq!(second.ioid, IoId(2));
        c.write_reply(&second, Err(EcaStatus::ECA_PUTFAIL));
        let sent = drain(&mut c);
        assert!(matches!(
            sent[sent.len() - 2],
            ServerMessage::WriteNotifyResponse {
                ioid: IoId(1),
                status: EcaStatus::ECA_NORMAL,
                ..
            }
        ));
        assert!(matches!(
            sent[sent.len() - 1],
            ServerMessage::WriteNotifyResponse {
                ioid: IoId(2),
                status: EcaStatus::ECA_PUTFAIL,
                ..
            }
        ));
    }

    #[test]
    fn queued_puts_counts_write_notifies_waiting_behind_a_pending_one() {
        let t = now();
        let mut c = ServerCircuit::new(t, ServerCircuitConfig::default());
        c.handle_input(
            t,
            &bytes(&[ClientMessage::CreateChan {
                cid: Cid(1),
                minor_version: 13,
                name: "a".into(),
            }]),
        )
        .unwrap();
        c.poll_event();
        let sid = c
            .accept_channel(Cid(1), DbrType::Double, 1, AccessRights::READ_WRITE)
            .unwrap();
        let put = |ioid| ClientMessage::WriteNotify {
            data_type: DbrType::Double,
            count: 1,
            sid,
            ioid: IoId(ioid),
            data: 1.0f64.to_be_bytes().to_vec(),
        };
        assert_eq!(c.queued_puts(), 0);
        c.handle_input(t, &bytes(&[put(1), put(2), put(3)]))
            .unwrap();
        assert_eq!(c.queued_puts(), 2);
        let Some(ServerEvent::Write(first)) = c.poll_event() else {
            panic!("no write")
        };
        c.write_reply(&first, Ok(()));
        assert_eq!(c.queued_puts(), 1);
    }

    #[test]
    fn losing_read_access_zero_fills_subscriptions_and_regaining_refreshes_them() {
        let (mut c, sid) = with_channel();
        let sub = ClientMessage::EventAdd {
            data_type: DbrType::TimeDouble,
            count: 1,
            sid,
            subid: SubId(5),
            mask: EventMask::VALUE,
            deadband: [0.0; 3],
        };
        c.handle_input(now(), &bytes(&[sub])).unwrap();
        assert!(matches!(
            c.poll_event(),
            Some(ServerEvent::Subscribe { .. })
        ));
        c.set_access_rights(sid, AccessRights::NONE).unwrap();
        let sent = drain(&mut c);
        assert!(matches!(
            &sent[1],
            ServerMessage::EventAddResponse { status: EcaStatus::ECA_NORDACCESS, subid: SubId(5), data, .. }
                if data.len() == payload_size(DbrType::TimeDouble, 1) && data.iter().all(|b| *b == 0)
        ));
        c.post_event(SubId(5), EcaStatus::ECA_NORMAL, 1, vec![1; 24]);
        assert!(
            drain(&mut c).is_empty(),
            "an update leaked without read access"
        );
        c.set_access_rights(sid, AccessRights::READ).unwrap();
        assert_eq!(
            c.poll_event(),
            Some(ServerEvent::RefreshSubscriptions {
                sid,
                subids: vec![SubId(5)]
            })
        );
    }

    #[test]
    fn absurd_counts_without_read_access_are_refused_not_allocated() {
        let (mut c, sid) = with_channel();
        c.set_access_rights(sid, AccessRights::NONE).unwrap();
        drain(&mut c);
        let huge = u32::MAX;
        c.handle_input(
            now(),
            &bytes(&[
                ClientMessage::ReadNotify {
                    data_type: DbrType::String,
                    count: huge,
                    sid,
                    ioid: IoId(1),
                },
                ClientMessage::EventAdd {
                    data_type: DbrType::Double,
                    count: huge,
                    sid,
                    subid: SubId(2),
                    mask: EventMask::VALUE,
                    deadband: [0.0; 3],
                },
            ]),
        )
        .unwrap();
        let sent = drain(&mut c);
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(|m| matches!(
            m,
            ServerMessage::Error {
                status: EcaStatus::ECA_TOLARGE,
                ..
            }
        )));
    }

    #[test]
    fn small_protocol_courtesies_match_rsrv() {
        let (mut c, sid) = with_channel();
        let sub = ClientMessage::EventAdd {
            data_type: DbrType::CtrlDouble,
            count: 1,
            sid,
            subid: SubId(3),
            mask: EventMask(0),
            deadband: [0.0; 3],
        };
        c.handle_input(
            now(),
            &bytes(&[
                sub,
                ClientMessage::EventCancel {
                    data_type: DbrType::Double,
                    count: 0,
                    sid,
                    subid: SubId(3),
                },
                ClientMessage::ReadSync,
                ClientMessage::CreateChan {
                    cid: Cid(9),
                    minor_version: 13,
                    name: String::new(),
                },
            ]),
        )
        .unwrap();
        let sent = drain(&mut c);
        // No mask check; the ack repeats the subscription's type and count.
        assert_eq!(
            sent[..3],
            [
                ServerMessage::EventCancelResponse {
                    data_type: DbrType::CtrlDouble,
                    count: 1,
                    sid,
                    subid: SubId(3)
                },
                ServerMessage::ReadSync,
                ServerMessage::CreateChFail { cid: Cid(9) },
            ]
        );
    }

    #[test]
    fn reads_without_access_or_beyond_the_count_fail_with_rsrv_statuses() {
        let (mut c, sid) = with_channel();
        c.set_access_rights(sid, AccessRights::NONE).unwrap();
        drain(&mut c);
        c.handle_input(
            now(),
            &bytes(&[ClientMessage::ReadNotify {
                data_type: DbrType::TimeDouble,
                count: 1,
                sid,
                ioid: IoId(3),
            }]),
        )
        .unwrap();
        let sent = drain(&mut c);
        match &sent[0] {
            ServerMessage::ReadNotifyResponse {
                status, data, ioid, ..
            } => {
                assert_eq!((*status, *ioid), (EcaStatus::ECA_NORDACCESS, IoId(3)));
                assert_eq!(data.len(), payload_size(DbrType::TimeDouble, 1));
                assert!(data.iter().all(|b| *b == 0));
            }
            other => panic!("unexpected {other:?}"),
        }
        c.set_access_rights(sid, AccessRights::READ).unwrap();
        drain(&mut c);
        // More than the native count goes to the application, which serves
        // what exists and zero-fills the rest as rsrv does (`read_reply`).
        let req = ClientMessage::ReadNotify {
            data_type: DbrType::Double,
            count: 2,
            sid,
            ioid: IoId(4),
        };
        c.handle_input(now(), &bytes(&[req])).unwrap();
        assert!(matches!(
            c.poll_event(),
            Some(ServerEvent::Read(ReadRequest { count: 2, .. }))
        ));
    }

    #[test]
    fn writes_without_access_are_refused_per_request_kind() {
        let (mut c, sid) = with_channel();
        let data = 1.0f64.to_be_bytes().to_vec();
        c.handle_input(
            now(),
            &bytes(&[
                ClientMessage::WriteNotify {
                    data_type: DbrType::Double,
                    count: 1,
                    sid,
                    ioid: IoId(5),
                    data: data.clone(),
                },
                ClientMessage::Write {
                    data_type: DbrType::Double,
                    count: 1,
                    sid,
                    ioid: IoId(6),
                    data,
                },
            ]),
        )
        .unwrap();
        let sent = drain(&mut c);
        assert!(matches!(
            sent[0],
            ServerMessage::WriteNotifyResponse {
                status: EcaStatus::ECA_NOWTACCESS,
                ioid: IoId(5),
                ..
            }
        ));
        assert!(matches!(
            sent[1],
            ServerMessage::Error {
                status: EcaStatus::ECA_NOWTACCESS,
                ..
            }
        ));
    }

    #[test]
    fn channel_limit_answers_create_ch_fail() {
        let t = now();
        let mut c = ServerCircuit::new(
            t,
            ServerCircuitConfig {
                max_channels: 1,
                ..Default::default()
            },
        );
        c.handle_input(
            t,
            &bytes(&[
                ClientMessage::CreateChan {
                    cid: Cid(1),
                    minor_version: 13,
                    name: "a".into(),
                },
                ClientMessage::CreateChan {
                    cid: Cid(2),
                    minor_version: 13,
                    name: "b".into(),
                },
            ]),
        )
        .unwrap();
        let sent = drain(&mut c);
        assert!(sent.contains(&ServerMessage::CreateChFail { cid: Cid(2) }));
    }

    #[test]
    fn cancel_of_an_unknown_subscription_is_badmonid() {
        let (mut c, sid) = with_channel();
        c.handle_input(
            now(),
            &bytes(&[ClientMessage::EventCancel {
                data_type: DbrType::Double,
                count: 1,
                sid,
                subid: SubId(42),
            }]),
        )
        .unwrap();
        assert!(matches!(
            drain(&mut c)[0],
            ServerMessage::Error {
                status: EcaStatus::ECA_BADMONID,
                ..
            }
        ));
    }

    #[test]
    fn errors_name_the_record_as_rsrv() {
        assert_eq!(record_name("rec.EGU"), "rec");
        assert_eq!(record_name("rec.VAL{\"dbnd\":{}}"), "rec");
        assert_eq!(record_name("simple:A"), "simple:A");
    }
}
