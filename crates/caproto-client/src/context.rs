//! [`Context`]: the search socket, the circuits, and the task that runs them.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use caproto_core::circuit::{ClientCircuitConfig, DEFAULT_MAX_PAYLOAD};
use caproto_core::config::{AddrListEntry, ClientConfig, MIN_RECV_BYTES};
use caproto_core::udp::BeaconTracker;
use caproto_core::udp::{
    RegistrationEvent, RepeaterRegistration, SearchConfig, SearchEngine, SearchEvent,
};
use caproto_core::Cid;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::channel::{Channel, ChannelOwner};
use crate::circuit::{spawn_circuit, CircuitSettings};
use crate::error::{usage, Error};
use crate::nameserver::{spawn_name_server, NsCmd, NsTx};
use crate::shared::{ChanState, CircuitCmd, CircuitTx};

/// Default timeout of every operation (connect, read, write): 5 s, as
/// pyepics' default `timeout` for `caget`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default depth of a subscription's queue before updates are coalesced.
pub const DEFAULT_MONITOR_QUEUE: usize = 1024;

/// Room above the array bytes for DBR metadata (a `DBR_CTRL_DOUBLE` header
/// is 80 bytes; the core's own default keeps 512).
const METADATA_ROOM: u32 = DEFAULT_MAX_PAYLOAD - MIN_RECV_BYTES;

/// Largest payload accepted when `EPICS_CA_AUTO_ARRAY_BYTES=YES` (the EPICS 7
/// default: libca then sizes buffers to each message). Still bounded, so a
/// hostile header cannot make the client allocate more than this.
pub const AUTO_ARRAY_BYTES_LIMIT: u32 = 1 << 30;

/// Delay before searching again for channels whose server accepted the
/// search but refused the TCP connection, refused to create the channel or
/// sent malformed input, so that such a server is not hammered. libca keeps
/// every disconnected channel out of the search until the next tick of its
/// 10 s disconnect governor (`disconnectGovernorTimer.cpp`); this client
/// searches again at once after a clean disconnection (an IOC restart is
/// then seen within its start-up time) and waits this long after a fault.
const CONNECT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Builds a [`Context`] from a [`ClientConfig`] plus client-side choices.
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    config: ClientConfig,
    timeout: Duration,
    monitor_queue: usize,
    max_array_bytes: Option<u32>,
    client_name: Option<String>,
    host_name: Option<String>,
}

impl ContextBuilder {
    /// A builder for `config`.
    pub fn new(config: ClientConfig) -> ContextBuilder {
        ContextBuilder {
            config,
            timeout: DEFAULT_TIMEOUT,
            monitor_queue: DEFAULT_MONITOR_QUEUE,
            max_array_bytes: None,
            client_name: None,
            host_name: None,
        }
    }

    /// A builder configured from the process environment (`EPICS_CA_*`).
    pub fn from_env() -> Result<ContextBuilder, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// A builder configured through a lookup function (a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ContextBuilder, Error> {
        Ok(ContextBuilder::new(ClientConfig::from_lookup(lookup)?))
    }

    /// The default timeout of every operation (each [`Channel`] can
    /// override it with [`Channel::with_timeout`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest array payload accepted from servers, overriding
    /// `EPICS_CA_MAX_ARRAY_BYTES` / `EPICS_CA_AUTO_ARRAY_BYTES`. Replies
    /// above it fail their request with `ECA_TOLARGE`; the circuit stays up.
    pub fn max_array_bytes(mut self, bytes: u32) -> Self {
        self.max_array_bytes = Some(bytes);
        self
    }

    /// How many monitor updates a subscription queues before the newest
    /// replaces the last queued one.
    pub fn monitor_queue(mut self, updates: usize) -> Self {
        self.monitor_queue = updates.max(1);
        self
    }

    /// The user name sent in CLIENT_NAME (default: `$USER`).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// The host name sent in HOST_NAME (default: the system's host name).
    pub fn host_name(mut self, name: impl Into<String>) -> Self {
        self.host_name = Some(name.into());
        self
    }

    /// The configuration it will use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The payload limit in bytes this builder gives circuits.
    fn payload_limit(&self) -> u32 {
        let array = match self.max_array_bytes {
            Some(b) => b.max(MIN_RECV_BYTES),
            None if self.config.auto_array_bytes => {
                AUTO_ARRAY_BYTES_LIMIT.max(self.config.max_recv_bytes())
            }
            // libca cac.cpp: EPICS_CA_MAX_ARRAY_BYTES, never below 16384.
            None => self.config.max_recv_bytes(),
        };
        array.saturating_add(METADATA_ROOM)
    }

    /// Binds the search socket, resolves the address list and starts the
    /// context's task on the current tokio runtime.
    pub async fn build(self) -> Result<Context, Error> {
        let addrs = search_addresses(&self.config).await?;
        let name_server_addrs = name_servers(&self.config).await?;
        if addrs.is_empty() && name_server_addrs.is_empty() {
            tracing::warn!(
                "the search address list is empty: no channel can be found (set EPICS_CA_ADDR_LIST)"
            );
        }
        let sock = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
            .await
            .map_err(|e| Error::io("binding the search socket", e))?;
        sock.set_broadcast(true)
            .map_err(|e| Error::io("enabling broadcast on the search socket", e))?;
        let circuit = ClientCircuitConfig {
            client_name: self.client_name.clone().unwrap_or_else(default_user),
            host_name: self.host_name.clone().unwrap_or_else(default_host),
            max_payload: self.payload_limit(),
            conn_timeout: self.config.conn_timeout,
            ..ClientCircuitConfig::default()
        };
        let (user_tx, user_rx) = mpsc::unbounded_channel();
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let (shutdown_tx, shutdown) = tokio::sync::watch::channel(());
        let (registered_tx, registered) = tokio::sync::watch::channel(false);
        let now = Instant::now().into_std();
        let task = SearchTask {
            repeater: SocketAddr::from((Ipv4Addr::LOCALHOST, self.config.repeater_port)),
            sock,
            addrs,
            search: SearchEngine::new(SearchConfig::from(&self.config)),
            beacons: BeaconTracker::new(now),
            registration: RepeaterRegistration::new(now),
            channels: HashMap::new(),
            placement: HashMap::new(),
            circuits: HashMap::new(),
            retry: Vec::new(),
            user_rx,
            internal_rx,
            settings: Arc::new(CircuitSettings {
                circuit,
                internal: InternalTx(internal_tx),
                connect_timeout: self.config.conn_timeout.min(Duration::from_secs(10)),
                shutdown,
            }),
            _shutdown: shutdown_tx,
            registered: registered_tx,
            name_servers: Vec::new(),
            next_circuit: 0,
        };
        let mut task = task;
        task.name_servers = name_server_addrs
            .into_iter()
            .map(|a| spawn_name_server(a, task.settings.clone()))
            .collect();
        tokio::spawn(task.run());
        Ok(Context {
            inner: Arc::new(ContextInner {
                tx: user_tx,
                next_cid: AtomicU32::new(1),
                timeout: self.timeout,
                monitor_queue: self.monitor_queue,
                registered,
            }),
        })
    }
}

fn default_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "caproto".to_owned())
}

fn default_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The destinations of search datagrams: `EPICS_CA_ADDR_LIST` (host names
/// resolved, explicit ports kept) plus, with `EPICS_CA_AUTO_ADDR_LIST=YES`,
/// the broadcast address of every IPv4 interface that has one (libca
/// `iocinf.cpp` `configureChannelAccessAddressList` with
/// `osiSockDiscoverBroadcastAddresses`). There is no silent fallback to
/// 255.255.255.255.
async fn search_addresses(config: &ClientConfig) -> Result<Vec<SocketAddr>, Error> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for entry in &config.addr_list {
        match entry {
            AddrListEntry::Ip(a) => out.push(SocketAddr::V4(*a)),
            AddrListEntry::Host { host, port } => {
                let found = tokio::net::lookup_host((host.as_str(), *port))
                    .await
                    .map_err(|e| Error::io(format!("EPICS_CA_ADDR_LIST: resolving {host}"), e))?;
                match found.into_iter().find(SocketAddr::is_ipv4) {
                    Some(a) => out.push(a),
                    None => {
                        tracing::warn!(%host, "EPICS_CA_ADDR_LIST: no IPv4 address, entry ignored")
                    }
                }
            }
            // A future kind of entry: nothing to send to.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
    if config.auto_addr_list {
        match if_addrs::get_if_addrs() {
            Ok(ifs) => {
                for i in ifs {
                    if let if_addrs::IfAddr::V4(v4) = i.addr {
                        if let Some(b) = v4.broadcast.filter(|_| !v4.is_loopback()) {
                            out.push(SocketAddr::from((b, config.server_port)));
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("EPICS_CA_AUTO_ADDR_LIST: cannot list interfaces: {e}"),
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| seen.insert(*a));
    Ok(out)
}

/// `EPICS_CA_NAME_SERVERS`, host names resolved.
async fn name_servers(config: &ClientConfig) -> Result<Vec<SocketAddrV4>, Error> {
    let mut out = Vec::new();
    for entry in &config.name_servers {
        match entry {
            AddrListEntry::Ip(a) => out.push(*a),
            AddrListEntry::Host { host, port } => {
                let found = tokio::net::lookup_host((host.as_str(), *port))
                    .await
                    .map_err(|e| {
                        Error::io(format!("EPICS_CA_NAME_SERVERS: resolving {host}"), e)
                    })?;
                match found.into_iter().find_map(|a| match a {
                    SocketAddr::V4(v4) => Some(v4),
                    SocketAddr::V6(_) => None,
                }) {
                    Some(a) => out.push(a),
                    None => {
                        tracing::warn!(%host, "EPICS_CA_NAME_SERVERS: no IPv4 address, entry ignored")
                    }
                }
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
    Ok(out)
}

/// A Channel Access client context: one UDP search socket, one TCP circuit
/// per server shared by all channels on it, and a task running them on the
/// tokio runtime it was built on. Cheap to clone; the task stops when the
/// last clone and the last [`Channel`] are dropped.
///
/// ```no_run
/// # async fn f() -> Result<(), caproto_client::Error> {
/// let ctx = caproto_client::Context::new().await?;
/// let pv = ctx.channel("sim:temperature")?;
/// let t: f64 = pv.get().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

#[derive(Debug)]
pub(crate) struct ContextInner {
    pub(crate) tx: mpsc::UnboundedSender<CtxCmd>,
    next_cid: AtomicU32,
    pub(crate) timeout: Duration,
    pub(crate) monitor_queue: usize,
    registered: tokio::sync::watch::Receiver<bool>,
}

#[derive(Debug)]
pub(crate) enum CtxCmd {
    Create(Arc<ChanState>),
    Drop(Cid),
}

impl Context {
    /// A context configured from the environment (`EPICS_CA_*`).
    pub async fn new() -> Result<Context, Error> {
        ContextBuilder::from_env()?.build().await
    }

    /// A builder, to configure from a lookup function or set timeouts.
    pub fn builder(config: ClientConfig) -> ContextBuilder {
        ContextBuilder::new(config)
    }

    /// The default operation timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Whether a CA repeater (`caRepeater` on `EPICS_CA_REPEATER_PORT`)
    /// confirmed this client's registration; it then forwards server
    /// beacons, whose anomalies (a restarted server) make unresolved
    /// channels be searched again soon. Registration is retried every
    /// second (libca `repeaterSubscribeTimer.cpp`); none is started.
    pub fn repeater_registered(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.registered.clone()
    }

    /// Creates a channel: the search starts at once and the channel
    /// connects (and reconnects) in the background. Fails only for a name
    /// that cannot be sent (empty, with NUL, too long).
    pub fn channel(&self, name: &str) -> Result<Channel, Error> {
        caproto_core::wire::validate_name(name).map_err(|e| usage(name.to_owned(), e))?;
        // Cids are never reused while the context lives: 2^32 channel
        // creations would be needed to wrap.
        let cid = Cid(self.inner.next_cid.fetch_add(1, Ordering::Relaxed));
        let state = Arc::new(ChanState::new(cid, name.to_owned()));
        self.inner
            .tx
            .send(CtxCmd::Create(state.clone()))
            .map_err(|_| Error::ContextClosed)?;
        Ok(Channel::new(
            Arc::new(ChannelOwner {
                state,
                ctx: self.clone(),
            }),
            self.inner.timeout,
        ))
    }

    /// Creates a channel and waits (within the default timeout) until it is
    /// connected.
    pub async fn connect(&self, name: &str) -> Result<Channel, Error> {
        let ch = self.channel(name)?;
        ch.wait_connected().await?;
        Ok(ch)
    }
}

enum Internal {
    /// A circuit ended (or never connected): its channels need a new search.
    CircuitGone {
        server: SocketAddrV4,
        id: u64,
        cids: Vec<Cid>,
        /// Search again only after [`CONNECT_RETRY_DELAY`].
        connect_failed: bool,
    },
    /// The server dropped a channel or refused to create it: search again.
    Research { cid: Cid, delayed: bool },
    /// A name server (`EPICS_CA_NAME_SERVERS`) resolved a channel.
    NameServerFound { cid: Cid, server: SocketAddrV4 },
}

pub(crate) struct InternalTx(mpsc::UnboundedSender<Internal>);

impl InternalTx {
    pub(crate) fn circuit_gone(
        &self,
        server: SocketAddrV4,
        id: u64,
        cids: Vec<Cid>,
        connect_failed: bool,
    ) {
        let _ = self.0.send(Internal::CircuitGone {
            server,
            id,
            cids,
            connect_failed,
        });
    }
    pub(crate) fn research(&self, cid: Cid, delayed: bool) {
        let _ = self.0.send(Internal::Research { cid, delayed });
    }
    pub(crate) fn name_server_found(&self, cid: Cid, server: SocketAddrV4) {
        let _ = self.0.send(Internal::NameServerFound { cid, server });
    }
}

impl std::fmt::Debug for InternalTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalTx")
    }
}

struct SearchTask {
    sock: UdpSocket,
    addrs: Vec<SocketAddr>,
    repeater: SocketAddr,
    search: SearchEngine,
    beacons: BeaconTracker,
    registration: RepeaterRegistration,
    channels: HashMap<Cid, Arc<ChanState>>,
    /// The server each found channel was handed to.
    placement: HashMap<Cid, SocketAddrV4>,
    circuits: HashMap<SocketAddrV4, (u64, CircuitTx)>,
    /// Channels to search again at the given time.
    retry: Vec<(Instant, Cid)>,
    user_rx: mpsc::UnboundedReceiver<CtxCmd>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    settings: Arc<CircuitSettings>,
    next_circuit: u64,
    /// One task per `EPICS_CA_NAME_SERVERS` entry.
    name_servers: Vec<NsTx>,
    /// Dropped with the task: tells the circuits to close.
    _shutdown: tokio::sync::watch::Sender<()>,
    registered: tokio::sync::watch::Sender<bool>,
}

impl SearchTask {
    async fn run(mut self) {
        let mut buf = vec![0u8; 65536];
        let mut out = Vec::with_capacity(1024);
        loop {
            self.transmit(&mut out).await;
            let now = Instant::now();
            let deadline = [
                self.search.poll_timeout().map(Instant::from_std),
                self.registration.poll_timeout().map(Instant::from_std),
                self.retry.iter().map(|(t, _)| *t).min(),
            ]
            .into_iter()
            .flatten()
            .min();
            tokio::select! {
                cmd = self.user_rx.recv() => match cmd {
                    Some(cmd) => {
                        self.user_cmd(cmd);
                        while let Ok(cmd) = self.user_rx.try_recv() {
                            self.user_cmd(cmd);
                        }
                    }
                    // Every Context and Channel is gone.
                    None => break,
                },
                Some(msg) = self.internal_rx.recv() => self.internal(msg),
                r = self.sock.recv_from(&mut buf) => match r {
                    Ok((n, SocketAddr::V4(from))) => {
                        if let Some(bytes) = buf.get(..n) {
                            self.datagram(from, bytes);
                        }
                    }
                    Ok(_) => {}
                    // e.g. ICMP port unreachable from a search address: keep going.
                    Err(e) => tracing::debug!("search socket: {e}"),
                },
                _ = sleep_until_opt(deadline) => {}
            }
            let now_after = Instant::now().max(now);
            self.run_retries(now_after);
            self.events();
        }
        // Stop the circuits: dropping the senders ends them.
        self.circuits.clear();
        for chan in self.channels.values() {
            chan.set_disconnected();
        }
    }

    fn user_cmd(&mut self, cmd: CtxCmd) {
        let now = Instant::now().into_std();
        match cmd {
            CtxCmd::Create(chan) => {
                let cid = chan.cid;
                if let Err(e) = self.search.add(now, cid, &chan.name) {
                    tracing::warn!(name = %chan.name, "cannot search: {e}");
                }
                for ns in &self.name_servers {
                    let _ = ns.send(NsCmd::Search(cid, chan.name.clone()));
                }
                self.channels.insert(cid, chan);
            }
            CtxCmd::Drop(cid) => {
                self.search.cancel(cid);
                for ns in &self.name_servers {
                    let _ = ns.send(NsCmd::Cancel(cid));
                }
                self.retry.retain(|(_, c)| *c != cid);
                if let Some(chan) = self.channels.remove(&cid) {
                    chan.lock().circuit = None;
                }
                if let Some(server) = self.placement.remove(&cid) {
                    if let Some((_, tx)) = self.circuits.get(&server) {
                        let _ = tx.send(CircuitCmd::Detach(cid));
                    }
                }
            }
        }
    }

    fn internal(&mut self, msg: Internal) {
        let now = Instant::now();
        match msg {
            Internal::CircuitGone {
                server,
                id,
                cids,
                connect_failed,
            } => {
                if self.circuits.get(&server).is_some_and(|(i, _)| *i == id) {
                    self.circuits.remove(&server);
                }
                for cid in cids {
                    if self.placement.get(&cid) == Some(&server) {
                        self.placement.remove(&cid);
                    }
                    if connect_failed {
                        self.retry.push((now + CONNECT_RETRY_DELAY, cid));
                    } else {
                        self.research(cid);
                    }
                }
            }
            Internal::NameServerFound { cid, server } => {
                if self.channels.contains_key(&cid) && !self.placement.contains_key(&cid) {
                    self.search.cancel(cid);
                    self.found(cid, server);
                }
            }
            Internal::Research { cid, delayed } => {
                self.placement.remove(&cid);
                if delayed {
                    self.retry.push((now + CONNECT_RETRY_DELAY, cid));
                } else {
                    self.research(cid);
                }
            }
        }
    }

    fn research(&mut self, cid: Cid) {
        if let Some(chan) = self.channels.get(&cid) {
            if self.placement.contains_key(&cid) {
                return;
            }
            if let Err(e) = self.search.add(Instant::now().into_std(), cid, &chan.name) {
                tracing::warn!(name = %chan.name, "cannot search: {e}");
            }
            for ns in &self.name_servers {
                let _ = ns.send(NsCmd::Search(cid, chan.name.clone()));
            }
        }
    }

    fn run_retries(&mut self, now: Instant) {
        if self.retry.iter().all(|(t, _)| *t > now) {
            return;
        }
        let (due, keep): (Vec<_>, Vec<_>) = self.retry.drain(..).partition(|(t, _)| *t <= now);
        self.retry = keep;
        for (_, cid) in due {
            self.research(cid);
        }
    }

    fn datagram(&mut self, from: SocketAddrV4, bytes: &[u8]) {
        let now = Instant::now().into_std();
        if let Err(e) = self.search.handle_datagram(now, from, bytes) {
            tracing::debug!(%from, "malformed datagram: {e}");
            return;
        }
        match self.beacons.handle_datagram(now, from, bytes) {
            Ok(Some(anomaly)) => {
                tracing::debug!(?anomaly, "beacon anomaly: searching again soon");
                self.search.beacon_anomaly(now);
            }
            Ok(None) => {}
            Err(_) => return,
        }
        // Any datagram from a server we have a circuit with counts as a sign
        // of life for it (libca `tcpRecvWatchdog::beaconArrivalNotify`).
        for (server, (_, tx)) in &self.circuits {
            if server.ip() == from.ip() {
                let _ = tx.send(CircuitCmd::Beacon);
            }
        }
        if let Ok(true) = self.registration.handle_datagram(bytes) {
            while let Some(ev) = self.registration.poll_event() {
                if let RegistrationEvent::Confirmed { addr } = ev {
                    tracing::debug!(%addr, "registered with the CA repeater");
                    self.registered.send_replace(true);
                }
            }
        }
    }

    async fn transmit(&mut self, out: &mut Vec<u8>) {
        let now = Instant::now().into_std();
        while self.search.poll_transmit(now, out) {
            for addr in &self.addrs {
                if let Err(e) = self.sock.send_to(out, addr).await {
                    tracing::debug!(%addr, "search send: {e}");
                }
            }
        }
        if self.registration.poll_transmit(now, out) {
            // No repeater may be running: an error here is expected.
            let _ = self.sock.send_to(out, self.repeater).await;
        }
        while let Some(ev) = self.registration.poll_event() {
            if let RegistrationEvent::Unreachable { attempts } = ev {
                tracing::debug!(attempts, "no CA repeater answers; beacons will not be seen");
            }
        }
    }

    fn events(&mut self) {
        while let Some(ev) = self.search.poll_event() {
            // SearchEvent is non-exhaustive; other kinds need nothing here.
            #[allow(irrefutable_let_patterns)]
            if let SearchEvent::Found { cid, server, .. } = ev {
                self.found(cid, server);
            }
        }
    }

    fn found(&mut self, cid: Cid, server: SocketAddrV4) {
        let Some(chan) = self.channels.get(&cid).cloned() else {
            return;
        };
        if self.placement.contains_key(&cid) {
            return;
        }
        for ns in &self.name_servers {
            let _ = ns.send(NsCmd::Cancel(cid));
        }
        self.placement.insert(cid, server);
        chan.state.send_modify(|s| s.server = Some(server));
        if let Some((_, tx)) = self.circuits.get(&server) {
            match tx.send(CircuitCmd::Attach(chan)) {
                Ok(()) => return,
                Err(mpsc::error::SendError(cmd)) => {
                    // The circuit is shutting down: start a new one below.
                    self.circuits.remove(&server);
                    if let CircuitCmd::Attach(c) = cmd {
                        return self.new_circuit(server, c);
                    }
                    return;
                }
            }
        }
        self.new_circuit(server, chan);
    }

    fn new_circuit(&mut self, server: SocketAddrV4, chan: Arc<ChanState>) {
        self.next_circuit += 1;
        let id = self.next_circuit;
        let tx = spawn_circuit(server, id, self.settings.clone(), chan);
        self.circuits.insert(server, (id, tx));
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addr_list_keeps_ports_and_resolves_names() {
        let cfg = ClientConfig::from_lookup(|n| match n {
            "EPICS_CA_ADDR_LIST" => Some("127.0.0.1 localhost:5999 127.0.0.1".into()),
            "EPICS_CA_AUTO_ADDR_LIST" => Some("NO".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let addrs = search_addresses(&cfg)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            addrs,
            vec![
                SocketAddr::from(([127, 0, 0, 1], 5064)),
                SocketAddr::from(([127, 0, 0, 1], 5999)),
            ]
        );
    }

    #[test]
    fn payload_limit_follows_max_array_bytes() {
        let cfg = ClientConfig::from_lookup(|n| match n {
            "EPICS_CA_MAX_ARRAY_BYTES" => Some("100000".into()),
            "EPICS_CA_AUTO_ARRAY_BYTES" => Some("NO".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let b = ContextBuilder::new(cfg);
        assert_eq!(b.payload_limit(), 100000 + 24 + METADATA_ROOM);
        assert_eq!(
            b.clone().max_array_bytes(10).payload_limit(),
            16384 + METADATA_ROOM
        );
        assert_eq!(
            b.max_array_bytes(8_000_000).payload_limit(),
            8_000_000 + METADATA_ROOM
        );
    }
}
