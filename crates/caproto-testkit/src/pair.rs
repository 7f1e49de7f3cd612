//! An in-memory client <-> server pair driven by a virtual clock: whole CA
//! sessions run without sockets, deterministically.
//!
//! [`Pair`] shuttles bytes between a [`ClientCircuit`] and a
//! [`ServerCircuit`], optionally in small pieces to exercise incremental
//! decoding, and lets a [`MemoryIoc`] answer the server's events with real
//! DBR encoding and conversion.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use caproto_core::circuit::{
    ClientCircuit, ClientCircuitConfig, ClientEvent, ServerCircuit, ServerCircuitConfig,
    ServerEvent,
};
use caproto_core::dbr::{self, ConvertContext, DbrType, DbrValues, Metadata};
use caproto_core::wire::EventMask;
use caproto_core::{AccessRights, EcaStatus, Sid, SubId};

/// A client and a server circuit joined by an in-memory "connection".
pub struct Pair {
    /// The virtual clock.
    pub now: Instant,
    /// The client side.
    pub client: ClientCircuit,
    /// The server side.
    pub server: ServerCircuit,
    /// Client events collected by [`Pair::drive`], oldest first.
    pub client_events: Vec<ClientEvent>,
    /// Largest piece in which bytes are delivered (usize::MAX: all at once).
    pub chunk: usize,
    /// Bytes the client sent, in total (the server's view of the stream).
    pub to_server_log: Vec<u8>,
    /// Whether the server side still reads (false simulates a hung server).
    pub server_alive: bool,
}

impl Pair {
    /// A pair with default configurations, created at a fresh virtual time.
    pub fn new() -> Self {
        Self::with_config(ClientCircuitConfig {
            client_name: "tester".into(),
            host_name: "testhost".into(),
            ..ClientCircuitConfig::default()
        })
    }

    /// A pair with the given client configuration.
    pub fn with_config(config: ClientCircuitConfig) -> Self {
        // The one place a real clock is read: the base of the virtual clock.
        let now = Instant::now();
        let client = match ClientCircuit::new(now, config) {
            Ok(c) => c,
            Err(e) => panic!("bad client config: {e}"),
        };
        let server = ServerCircuit::new(
            now,
            ServerCircuitConfig {
                max_payload: 4 << 20,
                ..Default::default()
            },
        );
        Self {
            now,
            client,
            server,
            client_events: Vec::new(),
            chunk: usize::MAX,
            to_server_log: Vec::new(),
            server_alive: true,
        }
    }

    /// Moves bytes both ways until neither side has anything to send, letting
    /// `ioc` answer every server event. Panics on a protocol error (a test
    /// failure: our own peers must never produce one).
    pub fn drive(&mut self, ioc: &mut MemoryIoc) {
        for _ in 0..10_000 {
            let mut progressed = false;
            let mut buf = Vec::new();
            if self.client.poll_transmit(&mut buf) {
                progressed = true;
                self.to_server_log.extend_from_slice(&buf);
                if self.server_alive {
                    for piece in buf.chunks(self.chunk.max(1)) {
                        if let Err(e) = self.server.handle_input(self.now, piece) {
                            panic!("server rejected client bytes: {e}");
                        }
                    }
                }
            }
            while let Some(ev) = self.server.poll_event() {
                progressed = true;
                ioc.handle(&mut self.server, ev);
            }
            let mut buf = Vec::new();
            if self.server_alive && self.server.poll_transmit(&mut buf) {
                progressed = true;
                for piece in buf.chunks(self.chunk.max(1)) {
                    if let Err(e) = self.client.handle_input(self.now, piece) {
                        panic!("client rejected server bytes: {e}");
                    }
                }
            }
            while let Some(ev) = self.client.poll_event() {
                progressed = true;
                self.client_events.push(ev);
            }
            if !progressed {
                return;
            }
        }
        panic!("pair did not settle");
    }

    /// Advances the virtual clock by `d`, firing the client's timers at their
    /// deadlines on the way, and drives the pair after each.
    pub fn advance(&mut self, d: Duration, ioc: &mut MemoryIoc) {
        let end = self.now + d;
        while let Some(deadline) = self.client.poll_timeout() {
            if deadline > end {
                break;
            }
            self.now = self.now.max(deadline);
            self.client.handle_timeout(self.now);
            self.drive(ioc);
        }
        self.now = end;
        self.drive(ioc);
    }

    /// Removes and returns the collected client events.
    pub fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.client_events)
    }
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}

/// A PV served by [`MemoryIoc`].
#[derive(Clone, Debug)]
pub struct MemoryPv {
    /// Native values (their type is the channel's native type).
    pub values: DbrValues,
    /// Element capacity advertised to clients.
    pub capacity: u32,
    /// Metadata.
    pub meta: Metadata,
    /// Access rights given to every client.
    pub access: AccessRights,
    /// Writes fail with ECA_PUTFAIL (like a disabled record).
    pub reject_writes: bool,
    /// What DBR_CLASS_NAME reads (the record type, e.g. "ao").
    pub class_name: String,
}

impl MemoryPv {
    /// A read-write PV with default metadata.
    pub fn new(values: DbrValues) -> Self {
        let capacity = values.len().max(1) as u32;
        Self {
            values,
            capacity,
            meta: Metadata::default(),
            access: AccessRights::READ_WRITE,
            reject_writes: false,
            class_name: "memory".into(),
        }
    }
}

/// A tiny IOC for tests: serves [`MemoryPv`]s by name, converts to any
/// requested DBR type with `caproto_core::dbr`, stores writes, and posts
/// monitor updates on every write.
#[derive(Default)]
pub struct MemoryIoc {
    /// PVs by name.
    pub pvs: HashMap<String, MemoryPv>,
    names: HashMap<Sid, String>,
    subs: HashMap<SubId, (String, EventMask)>,
    /// Channels the client asked for that do not exist.
    pub rejected: HashSet<String>,
    /// Every server event seen, in order (for assertions).
    pub seen: Vec<ServerEvent>,
}

impl MemoryIoc {
    /// An IOC with no PVs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a PV.
    pub fn add(&mut self, name: &str, pv: MemoryPv) -> &mut Self {
        self.pvs.insert(name.to_owned(), pv);
        self
    }

    fn encode(pv: &MemoryPv, data_type: DbrType, count: u32) -> Result<(u32, Vec<u8>), EcaStatus> {
        let ctx = ConvertContext {
            precision: pv.meta.precision,
            enum_strings: &pv.meta.enum_strings,
        };
        let mut values = if data_type == DbrType::ClassName {
            DbrValues::String(vec![pv.class_name.clone()])
        } else {
            // A value that does not convert (e.g. "hello" as a number) is a
            // failed get, as in rsrv's `read_reply`.
            dbr::convert(&pv.values, data_type.native(), &ctx)
                .map_err(|_| EcaStatus::ECA_GETFAIL)?
        };
        let n = if count == 0 {
            values.len().max(1)
        } else {
            count as usize
        };
        resize_values(&mut values, n);
        let mut out = Vec::new();
        let written = dbr::encode(data_type, &pv.meta, &values, &mut out)
            .map_err(|_| EcaStatus::ECA_NOCONVERT)?;
        Ok((written, out))
    }

    /// Handles one server event the way an IOC would.
    pub fn handle(&mut self, server: &mut ServerCircuit, ev: ServerEvent) {
        self.seen.push(ev.clone());
        match ev {
            ServerEvent::CreateChannel { cid, name } => match self.pvs.get(&name) {
                Some(pv) => {
                    let native =
                        DbrType::from_parts(dbr::DbrFamily::Plain, pv.values.native_type())
                            .unwrap_or(DbrType::Double);
                    match server.accept_channel(cid, native, pv.capacity, pv.access) {
                        Ok(sid) => {
                            self.names.insert(sid, name);
                        }
                        Err(e) => panic!("accept_channel: {e}"),
                    }
                }
                None => {
                    self.rejected.insert(name);
                    let _ = server.reject_channel(cid);
                }
            },
            ServerEvent::Read(req) => {
                let result = match self.names.get(&req.sid).and_then(|n| self.pvs.get(n)) {
                    Some(pv) => Self::encode(pv, req.data_type, req.count),
                    None => Err(EcaStatus::ECA_BADCHID),
                };
                server.read_reply(&req, result);
            }
            ServerEvent::Write(req) => {
                let Some(name) = self.names.get(&req.sid).cloned() else {
                    return;
                };
                let result = self.apply_write(&name, req.data_type, req.count, &req.data);
                server.write_reply(&req, result);
                if result.is_ok() {
                    self.post_all(server, &name, EventMask::VALUE);
                }
            }
            ServerEvent::Subscribe {
                sid,
                subid,
                data_type,
                count,
                mask,
            } => {
                let Some(name) = self.names.get(&sid).cloned() else {
                    return;
                };
                self.subs.insert(subid, (name.clone(), mask));
                if let Some(pv) = self.pvs.get(&name) {
                    if let Ok((n, data)) = Self::encode(pv, data_type, count) {
                        server.post_event(subid, EcaStatus::ECA_NORMAL, n, data);
                    }
                }
            }
            ServerEvent::Unsubscribe { subid, .. } => {
                self.subs.remove(&subid);
            }
            ServerEvent::ChannelCleared { sid, .. } => {
                self.names.remove(&sid);
            }
            _ => {}
        }
    }

    fn apply_write(
        &mut self,
        name: &str,
        data_type: DbrType,
        count: u32,
        data: &[u8],
    ) -> Result<(), EcaStatus> {
        let pv = self.pvs.get_mut(name).ok_or(EcaStatus::ECA_BADCHID)?;
        if pv.reject_writes {
            return Err(EcaStatus::ECA_PUTFAIL);
        }
        let decoded = dbr::decode(data_type, count, data).map_err(|_| EcaStatus::ECA_BADTYPE)?;
        let ctx = ConvertContext {
            precision: pv.meta.precision,
            enum_strings: &pv.meta.enum_strings,
        };
        let values = dbr::convert(&decoded.values, pv.values.native_type(), &ctx)
            .map_err(|_| EcaStatus::ECA_BADTYPE)?;
        pv.values = values;
        Ok(())
    }

    /// Posts the current value of `name` to every subscription whose mask
    /// matches `mask`.
    pub fn post_all(&mut self, server: &mut ServerCircuit, name: &str, mask: EventMask) {
        let Some(pv) = self.pvs.get(name) else { return };
        let mut subs: Vec<SubId> = self
            .subs
            .iter()
            .filter(|(_, (n, m))| n == name && m.intersects(mask))
            .map(|(s, _)| *s)
            .collect();
        subs.sort();
        for subid in subs {
            if let Some((_, data_type, count)) = server.subscription(subid) {
                if let Ok((n, data)) = Self::encode(pv, data_type, count) {
                    server.post_event(subid, EcaStatus::ECA_NORMAL, n, data);
                }
            }
        }
    }
}

/// Truncates or zero-fills `values` to `n` elements, as a server does for a
/// request of a fixed count (INTEROP.md: the rest is zero-filled).
pub fn resize_values(values: &mut DbrValues, n: usize) {
    match values {
        DbrValues::String(v) => v.resize(n, String::new()),
        DbrValues::Short(v) => v.resize(n, 0),
        DbrValues::Float(v) => v.resize(n, 0.0),
        DbrValues::Enum(v) => v.resize(n, 0),
        DbrValues::Char(v) => v.resize(n, 0),
        DbrValues::Long(v) => v.resize(n, 0),
        DbrValues::Double(v) => v.resize(n, 0.0),
    }
}
