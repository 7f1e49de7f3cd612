//! The server runtime: UDP search responders, TCP listeners, one task per
//! client circuit, beacons, graceful shutdown.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Instant;

use caproto_core::circuit::ServerCircuitConfig;
use caproto_core::config::{AddrListEntry, ServerConfig};
use caproto_core::udp::{BeaconEmitter, SearchResponder};
use caproto_core::wire::MAX_UDP_RECV;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, info, trace, warn};

use crate::circuit::{self, Shared};
use crate::group::{Group, PrefixedSource};
use crate::pv::Pv;

/// Room for the largest DBR metadata block above `EPICS_CA_MAX_ARRAY_BYTES`
/// in a request payload (`dbr_size[DBR_CTRL_DOUBLE]` is 80; rsrv sizes its
/// receive buffer as `MAX_TCP + rsrvSizeofLargeBufTCP`).
const METADATA_ROOM: u32 = 512;

/// How long a graceful shutdown waits for circuits to flush their
/// SERVER_DISCONN messages before closing them anyway.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How a server is set up: the CA environment plus limits.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Ports, interfaces, beacon and ignore lists (`EPICS_CAS_*` /
    /// `EPICS_CA_*`).
    pub config: ServerConfig,
    /// Most client circuits at once; further connections are closed at
    /// once (logged).
    pub max_circuits: usize,
    /// Most channels per circuit; beyond, CREATE_CHAN gets CREATE_CH_FAIL.
    pub max_channels_per_circuit: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            config: ServerConfig::default(),
            max_circuits: 4096,
            max_channels_per_circuit: 1 << 20,
        }
    }
}

impl ServerOptions {
    /// Options from the process environment (`EPICS_CAS_*`, `EPICS_CA_*`).
    pub fn from_env() -> Result<ServerOptions, crate::Error> {
        let config = ServerConfig::from_lookup(|k| std::env::var(k).ok())
            .map_err(|e| crate::Error::Config(e.to_string()))?;
        Ok(ServerOptions {
            config,
            ..ServerOptions::default()
        })
    }

    /// Serve on these interfaces only (`EPICS_CAS_INTF_ADDR_LIST`).
    pub fn interfaces(mut self, addrs: &[Ipv4Addr]) -> Self {
        let port = self.config.server_port;
        self.config.intf_addr_list = addrs
            .iter()
            .map(|ip| AddrListEntry::Ip(SocketAddrV4::new(*ip, port)))
            .collect();
        self
    }

    /// Serve on this port (`EPICS_CAS_SERVER_PORT`).
    pub fn port(mut self, port: u16) -> Self {
        self.config.server_port = port;
        for e in &mut self.config.intf_addr_list {
            if let AddrListEntry::Ip(a) = e {
                a.set_port(port);
            }
        }
        self
    }

    /// Send beacons to these addresses (`EPICS_CAS_BEACON_ADDR_LIST`), and
    /// nowhere else (`EPICS_CAS_AUTO_BEACON_ADDR_LIST=NO`).
    pub fn beacons_to(mut self, addrs: &[SocketAddrV4]) -> Self {
        self.config.beacon_addr_list = addrs.iter().map(|a| AddrListEntry::Ip(*a)).collect();
        self.config.auto_beacon_addr_list = false;
        self
    }
}

/// A Channel Access server for a set of PVs.
///
/// ```no_run
/// # async fn demo() -> Result<(), caproto_server::Error> {
/// use caproto_server::{Group, Pv, Server};
/// let mut pvs = Group::new("demo:");
/// pvs.pv("A", Pv::int(1));
/// let server = Server::new(&pvs)?.start().await?;
/// server.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Server {
    pvs: BTreeMap<String, Pv>,
    sources: Vec<PrefixedSource>,
    options: ServerOptions,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("pvs", &self.pvs)
            .field("sources", &self.sources.len())
            .field("options", &self.options)
            .finish()
    }
}

/// A running server: its addresses, and the way to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    tcp: Vec<SocketAddr>,
    udp: Vec<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    circuits: Arc<std::sync::Mutex<JoinSet<()>>>,
}

impl Server {
    /// A server for every PV of `pvs`, configured from the environment.
    pub fn new(pvs: &Group) -> Result<Server, crate::Error> {
        Ok(Server::with_options(pvs, ServerOptions::from_env()?))
    }

    /// A server for every PV of `pvs` with explicit options.
    pub fn with_options(pvs: &Group, options: ServerOptions) -> Server {
        let pvs_group = pvs;
        let pvs = pvs_group.flatten();
        for (name, pv) in &pvs {
            pv.set_served_name(name);
        }
        Server {
            pvs,
            sources: pvs_group.sources_flat(),
            options,
        }
    }

    /// The served names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pvs.keys().map(String::as_str)
    }

    /// Binds every socket and starts serving; returns once clients can
    /// connect.
    ///
    /// Per interface (`EPICS_CAS_INTF_ADDR_LIST`, default 0.0.0.0): a UDP
    /// socket on the server port with `SO_REUSEADDR`, so several servers on
    /// one host all see broadcast searches (rsrv `caservertask.c` does the
    /// same with `epicsSocketEnableAddressUseForDatagramFanout`), and a TCP
    /// listener on the same port, or on an ephemeral port when that one is
    /// taken (rsrv `rsrv_grab_tcp`), which search replies then announce.
    pub async fn start(self) -> Result<ServerHandle, crate::Error> {
        let config = &self.options.config;
        let mut interfaces: Vec<Ipv4Addr> = config
            .intf_addr_list
            .iter()
            .filter_map(AddrListEntry::ip)
            .filter(|ip| !ip.is_multicast())
            .collect();
        if interfaces.is_empty() {
            interfaces.push(Ipv4Addr::UNSPECIFIED);
        }
        let port = config.server_port;
        let ignored: Vec<Ipv4Addr> = config
            .ignore_addr_list
            .iter()
            .filter_map(AddrListEntry::ip)
            .collect();

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let circuits = Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let limit = Arc::new(Semaphore::new(self.options.max_circuits));
        let mut tcp_addrs = Vec::new();
        let mut udp_addrs = Vec::new();
        let mut listeners = Vec::new();
        for ip in &interfaces {
            let listener = match TcpListener::bind(SocketAddrV4::new(*ip, port)).await {
                Ok(l) => l,
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    warn!("TCP port {port} on {ip} is taken; using an ephemeral port");
                    TcpListener::bind(SocketAddrV4::new(*ip, 0)).await?
                }
                Err(e) => return Err(e.into()),
            };
            let tcp_port = listener.local_addr()?.port();
            tcp_addrs.push(listener.local_addr()?);
            let udp = bind_udp(SocketAddrV4::new(*ip, port))?;
            udp_addrs.push(udp.local_addr()?);
            let responder = SearchResponder::new(tcp_port).with_ignored(ignored.iter().copied());
            listeners.push((listener, udp, responder, tcp_port));
        }

        // With EPICS_CA_AUTO_ARRAY_BYTES (the default) rsrv accepts requests
        // as large as its biggest field needs (`rsrvSizeofLargeBufTCP`
        // follows the largest array); here: the largest PV, even written
        // as strings (40 bytes an element), and never less than
        // EPICS_CA_MAX_ARRAY_BYTES.
        let largest = self
            .pvs
            .values()
            .map(|pv| {
                pv.capacity()
                    .saturating_mul(caproto_core::dbr::MAX_STRING_SIZE)
            })
            .chain(self.sources.iter().map(|(_, s)| {
                s.max_capacity()
                    .saturating_mul(caproto_core::dbr::MAX_STRING_SIZE)
            }))
            .max()
            .unwrap_or(0);
        let array_bytes = if config.auto_array_bytes {
            u32::try_from(largest)
                .unwrap_or(u32::MAX)
                .max(config.max_array_bytes)
        } else {
            config.max_array_bytes
        };
        let mut circuit_config = ServerCircuitConfig {
            max_payload: array_bytes.saturating_add(METADATA_ROOM),
            max_channels: self.options.max_channels_per_circuit,
            ..ServerCircuitConfig::default()
        };
        let first_port = listeners.first().map_or(port, |l| l.3);
        circuit_config.server_port = first_port;
        let pvs = Arc::new(self.pvs);
        for (listener, udp, responder, tcp_port) in listeners {
            let mut cfg = circuit_config.clone();
            cfg.server_port = tcp_port;
            let shared = Arc::new(Shared {
                pvs: (*pvs).clone(),
                sources: self.sources.clone(),
                circuit_config: cfg,
            });
            tasks.spawn(serve_udp(
                udp,
                responder,
                shared.clone(),
                shutdown_rx.clone(),
            ));
            tasks.spawn(accept_loop(
                listener,
                shared,
                limit.clone(),
                circuits.clone(),
                shutdown_rx.clone(),
            ));
        }

        let beacon_dests = beacon_destinations(config, &interfaces).await;
        info!(
            tcp = ?tcp_addrs,
            udp = ?udp_addrs,
            beacons = ?beacon_dests,
            pvs = pvs.len(),
            "Channel Access server running"
        );
        tasks.spawn(beacons(
            BeaconEmitter::new(Instant::now(), first_port, config.beacon_period),
            beacon_dests,
            shutdown_rx,
        ));
        Ok(ServerHandle {
            tcp: tcp_addrs,
            udp: udp_addrs,
            shutdown,
            tasks,
            circuits,
        })
    }
}

impl ServerHandle {
    /// The TCP port clients connect to (of the first interface).
    pub fn tcp_port(&self) -> u16 {
        self.tcp.first().map_or(0, SocketAddr::port)
    }

    /// The TCP addresses listened on.
    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp
    }

    /// The UDP addresses searches are answered on.
    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp
    }

    /// Stops serving: every client gets SERVER_DISCONN for each of its
    /// channels and its circuit is closed, then the sockets close.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        let mut circuits =
            std::mem::take(&mut *self.circuits.lock().unwrap_or_else(|e| e.into_inner()));
        // A circuit stuck writing to a client that stopped reading would
        // never see the signal: give them all a grace period, then abort.
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while circuits.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                "{} circuit(s) did not close within {SHUTDOWN_GRACE:?}; aborting them",
                circuits.len()
            );
            circuits.abort_all();
            while circuits.join_next().await.is_some() {}
        }
    }
}

/// The UDP socket of one interface, with `SO_REUSEADDR`.
fn bind_udp(addr: SocketAddrV4) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::V4(addr).into())?;
    UdpSocket::from_std(s.into())
}

async fn serve_udp(
    udp: UdpSocket,
    responder: SearchResponder,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; MAX_UDP_RECV];
    loop {
        let (n, from) = tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    // ICMP errors surface here on Linux: not fatal.
                    debug!("UDP receive: {e}");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let SocketAddr::V4(from) = from else {
            continue;
        };
        let request = buf.get(..n).unwrap_or_default();
        let found = |name: &str| {
            let has = shared.contains(name);
            trace!(%from, name, has, "search");
            has
        };
        match responder.respond(from, request, found) {
            Ok(replies) => {
                for r in replies {
                    if let Err(e) = udp.send_to(&r, from).await {
                        debug!(%from, "search reply not sent: {e}");
                    }
                }
            }
            Err(e) => debug!(%from, "bad search datagram ({n} bytes): {e}"),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    limit: Arc<Semaphore>,
    circuits: Arc<std::sync::Mutex<JoinSet<()>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: log, go on.
                    warn!("accept failed: {e}");
                    tokio::task::yield_now().await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            warn!(%peer, "too many circuits; connection refused");
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        let rx = shutdown.clone();
        let mut set = circuits.lock().unwrap_or_else(|e| e.into_inner());
        // Reap finished circuits so the set does not grow.
        while set.try_join_next().is_some() {}
        set.spawn(async move {
            circuit::run(stream, peer, shared, rx).await;
            drop(permit);
        });
    }
}

/// `EPICS_CAS_BEACON_ADDR_LIST` plus, with the auto list on, the
/// broadcast address of every served interface (rsrv
/// `caservertask.c`/`online_notify.c` use
/// `osiSockDiscoverBroadcastAddresses`), and the loopback address so that a
/// repeater on this host always hears us.
async fn beacon_destinations(config: &ServerConfig, interfaces: &[Ipv4Addr]) -> Vec<SocketAddrV4> {
    let mut out = Vec::new();
    for e in &config.beacon_addr_list {
        match e {
            AddrListEntry::Ip(a) => out.push(*a),
            AddrListEntry::Host { host, port } => {
                match tokio::net::lookup_host((host.as_str(), *port)).await {
                    Ok(addrs) => out.extend(addrs.filter_map(|a| match a {
                        SocketAddr::V4(a) => Some(a),
                        SocketAddr::V6(_) => None,
                    })),
                    Err(e) => warn!("beacon address {host}: {e}"),
                }
            }
            other => warn!("beacon address {other} not understood"),
        }
    }
    if config.auto_beacon_addr_list {
        let port = config.beacon_port;
        if let Ok(ifs) = if_addrs::get_if_addrs() {
            for i in ifs {
                let if_addrs::IfAddr::V4(v4) = i.addr else {
                    continue;
                };
                let selected = interfaces
                    .iter()
                    .any(|ip| ip.is_unspecified() || *ip == v4.ip);
                if !selected {
                    continue;
                }
                let dest = if v4.ip.is_loopback() {
                    Some(v4.ip)
                } else {
                    v4.broadcast
                };
                if let Some(b) = dest {
                    out.push(SocketAddrV4::new(b, port));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

async fn beacons(
    mut emitter: BeaconEmitter,
    dests: Vec<SocketAddrV4>,
    mut shutdown: watch::Receiver<bool>,
) {
    let sock = match bind_beacon_socket() {
        Ok(s) => s,
        Err(e) => {
            warn!("no beacons: {e}");
            return;
        }
    };
    let mut buf = Vec::new();
    loop {
        let now = Instant::now();
        if emitter.poll_transmit(now, &mut buf) {
            for d in &dests {
                if let Err(e) = sock.send_to(&buf, d).await {
                    debug!(dest = %d, "beacon not sent: {e}");
                }
            }
        }
        let Some(next) = emitter.poll_timeout() else {
            return;
        };
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn bind_beacon_socket() -> io::Result<UdpSocket> {
    let s = std::net::UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
    s.set_broadcast(true)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s)
}
