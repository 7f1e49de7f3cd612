//! The task that drives one [`ClientCircuit`] over one TCP connection.
//!
//! Writes are batched: every command waiting in the queue is applied to the
//! circuit before its output is taken with one `poll_transmit`, and a
//! separate writer task joins whatever is queued into one `write_all`, so
//! 1,000 reads issued together leave in a handful of `write` calls.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Duration;

use caproto_core::circuit::{ClientCircuit, ClientCircuitConfig, ClientEvent, DbrPayload};
use caproto_core::{Cid, IoId, SubId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::context::InternalTx;
use crate::error::OpError;
use crate::shared::{ChanState, CircuitCmd, CircuitTx, ConnectionStatus, SubItem, SubQueue};

/// What every circuit of a context shares.
#[derive(Debug)]
pub(crate) struct CircuitSettings {
    pub(crate) circuit: ClientCircuitConfig,
    pub(crate) internal: InternalTx,
    pub(crate) connect_timeout: Duration,
    /// Closed when the context task ends: circuits then shut down (channels
    /// hold senders to their circuit, so the command queue alone would never
    /// close).
    pub(crate) shutdown: watch::Receiver<()>,
}

/// Most commands applied before output is flushed (bounds the latency of
/// the first one when a flood arrives).
const MAX_BATCH: usize = 8192;

/// Size of one socket read.
const READ_CHUNK: usize = 256 * 1024;

pub(crate) fn spawn_circuit(
    server: SocketAddrV4,
    id: u64,
    settings: Arc<CircuitSettings>,
    first: Arc<ChanState>,
) -> CircuitTx {
    let (tx, rx) = mpsc::unbounded_channel();
    let me = tx.clone();
    tokio::spawn(async move {
        let mut rx = rx;
        let stream =
            tokio::time::timeout(settings.connect_timeout, TcpStream::connect(server)).await;
        let stream = match stream {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(%server, "connect failed: {e}");
                return connect_failed(server, id, &settings, first, rx);
            }
            Err(_) => {
                tracing::debug!(%server, "connect timed out");
                return connect_failed(server, id, &settings, first, rx);
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok(circuit) = ClientCircuit::new(Instant::now().into_std(), settings.circuit.clone())
        else {
            return connect_failed(server, id, &settings, first, rx);
        };
        let mut task = CircuitTask {
            server,
            settings: settings.clone(),
            circuit,
            me,
            channels: HashMap::new(),
            pending: HashMap::new(),
            subs: HashMap::new(),
            sub_ids: HashMap::new(),
            unresponsive: false,
            faulty: false,
        };
        task.attach(first);
        let cids = task.run(stream, &mut rx).await;
        settings
            .internal
            .circuit_gone(server, id, cids, task.faulty);
    });
    tx
}

fn connect_failed(
    server: SocketAddrV4,
    id: u64,
    settings: &CircuitSettings,
    first: Arc<ChanState>,
    mut rx: mpsc::UnboundedReceiver<CircuitCmd>,
) {
    rx.close();
    let mut cids = vec![first.cid];
    while let Ok(cmd) = rx.try_recv() {
        if let CircuitCmd::Attach(c) = cmd {
            cids.push(c.cid);
        }
    }
    settings.internal.circuit_gone(server, id, cids, true);
}

enum Pending {
    Read(oneshot::Sender<Result<DbrPayload, OpError>>),
    Write(oneshot::Sender<Result<(), OpError>>),
    /// A re-read of a subscription's value after the circuit came back
    /// (libca `tcpiiu::responsiveCircuitNotify` ->
    /// `subscriptionUpdateRequest`).
    Refresh(Arc<SubQueue>),
}

struct SubEntry {
    cid: Cid,
    key: u64,
    queue: Arc<SubQueue>,
}

struct CircuitTask {
    server: SocketAddrV4,
    settings: Arc<CircuitSettings>,
    circuit: ClientCircuit,
    me: CircuitTx,
    channels: HashMap<Cid, Arc<ChanState>>,
    pending: HashMap<IoId, Pending>,
    subs: HashMap<SubId, SubEntry>,
    sub_ids: HashMap<(Cid, u64), SubId>,
    unresponsive: bool,
    /// The server sent malformed input: its channels are searched again
    /// only after a delay, so a faulty server is not hammered.
    faulty: bool,
}

impl CircuitTask {
    /// Runs until the connection ends; returns the cids of the channels
    /// still attached (to be searched again).
    async fn run(
        &mut self,
        stream: TcpStream,
        rx: &mut mpsc::UnboundedReceiver<CircuitCmd>,
    ) -> Vec<Cid> {
        let (mut rd, wr) = stream.into_split();
        let (wtx, wrx) = mpsc::unbounded_channel::<Vec<u8>>();
        let mut writer = tokio::spawn(writer(wr, wrx));
        let mut writer_done = false;
        let mut shutdown = self.settings.shutdown.clone();
        let mut buf = vec![0u8; READ_CHUNK];
        let mut out = Vec::new();
        loop {
            if self.circuit.poll_transmit(&mut out) && wtx.send(std::mem::take(&mut out)).is_err() {
                // The writer failed: the reader sees the end soon.
                tracing::debug!(server = %self.server, "writer gone");
            }
            if self.circuit.is_closed() {
                break;
            }
            if self.channels.is_empty() {
                // libca shuts a circuit down when its last channel goes
                // (`tcpiiu::uninstallChan`). Requests still pending belong
                // to cleared channels: nobody waits for them.
                break;
            }
            let deadline = self.circuit.poll_timeout().map(Instant::from_std);
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => {
                        self.command(cmd);
                        let mut n = 1;
                        while n < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(cmd) => self.command(cmd),
                                Err(_) => break,
                            }
                            n += 1;
                        }
                    }
                    // The context is gone.
                    None => { self.circuit.close(); }
                },
                r = rd.read(&mut buf) => {
                    let now = Instant::now().into_std();
                    match r {
                        Ok(0) | Err(_) => self.circuit.handle_eof(now),
                        Ok(n) => {
                            if let Err(e) = self.circuit.handle_input(now, buf.get(..n).unwrap_or(&[])) {
                                tracing::warn!(server = %self.server, "protocol error, closing the circuit: {e}");
                                self.faulty = true;
                            }
                        }
                    }
                }
                _ = sleep_until_opt(deadline) => {
                    self.circuit.handle_timeout(Instant::now().into_std());
                }
                _ = shutdown.changed() => self.circuit.close(),
                // A failed write (e.g. the peer vanished and TCP gave up)
                // ends the circuit like an end of stream.
                _ = &mut writer, if !writer_done => {
                    writer_done = true;
                    self.circuit.handle_eof(Instant::now().into_std());
                }
            }
            self.events();
        }
        // Flush what is left (e.g. CLEAR_CHANNELs) and stop the writer.
        if self.circuit.poll_transmit(&mut out) {
            let _ = wtx.send(out);
        }
        drop(wtx);
        if !writer_done {
            let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
        }
        rx.close();
        let mut cids: Vec<Cid> = Vec::new();
        for (cid, chan) in self.channels.drain() {
            chan.set_disconnected();
            cids.push(cid);
        }
        while let Ok(cmd) = rx.try_recv() {
            if let CircuitCmd::Attach(c) = cmd {
                cids.push(c.cid);
            }
        }
        // Pending operations fail (their senders drop): Disconnected.
        self.pending.clear();
        cids
    }

    fn attach(&mut self, chan: Arc<ChanState>) {
        let cid = chan.cid;
        if let Err(e) = self.circuit.create_channel(cid, &chan.name) {
            tracing::warn!(name = %chan.name, "cannot create channel: {e}");
            return;
        }
        self.channels.insert(cid, chan);
    }

    fn command(&mut self, cmd: CircuitCmd) {
        match cmd {
            CircuitCmd::Attach(chan) => self.attach(chan),
            CircuitCmd::Detach(cid) => {
                if let Some(chan) = self.channels.remove(&cid) {
                    chan.lock().circuit = None;
                }
                self.subs.retain(|_, s| s.cid != cid);
                self.sub_ids.retain(|(c, _), _| *c != cid);
                let _ = self.circuit.clear_channel(cid);
            }
            CircuitCmd::Read {
                cid,
                data_type,
                count,
                reply,
            } => {
                if self.unresponsive {
                    let _ = reply.send(Err(OpError::Disconnected));
                    return;
                }
                match self.circuit.read(cid, data_type, count) {
                    Ok(ioid) => {
                        self.pending.insert(ioid, Pending::Read(reply));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(OpError::Usage(e)));
                    }
                }
            }
            CircuitCmd::Write {
                cid,
                data_type,
                count,
                data,
                notify,
                reply,
            } => {
                if self.unresponsive {
                    let _ = reply.send(Err(OpError::Disconnected));
                    return;
                }
                if notify {
                    match self.circuit.write_notify(cid, data_type, count, data) {
                        Ok(ioid) => {
                            self.pending.insert(ioid, Pending::Write(reply));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(OpError::Usage(e)));
                        }
                    }
                } else {
                    let r = self.circuit.write(cid, data_type, count, data);
                    let _ = reply.send(r.map_err(OpError::Usage));
                }
            }
            CircuitCmd::Subscribe { cid, key } => self.subscribe(cid, key),
            CircuitCmd::Unsubscribe { cid, key } => {
                if let Some(subid) = self.sub_ids.remove(&(cid, key)) {
                    self.subs.remove(&subid);
                    let _ = self.circuit.unsubscribe(subid);
                }
            }
            CircuitCmd::Beacon => self.circuit.handle_beacon(Instant::now().into_std()),
        }
    }

    fn subscribe(&mut self, cid: Cid, key: u64) {
        if self.sub_ids.contains_key(&(cid, key)) {
            return;
        }
        let Some(chan) = self.channels.get(&cid) else {
            return;
        };
        let Some(reg) = chan.lock().subs.get(&key).cloned() else {
            return;
        };
        match self
            .circuit
            .subscribe(cid, reg.data_type, reg.count, reg.mask)
        {
            Ok(subid) => {
                self.sub_ids.insert((cid, key), subid);
                self.subs.insert(
                    subid,
                    SubEntry {
                        cid,
                        key,
                        queue: reg.queue,
                    },
                );
            }
            Err(e) => reg.queue.push(SubItem::Failed(OpError::Usage(e))),
        }
    }

    fn events(&mut self) {
        while let Some(ev) = self.circuit.poll_event() {
            self.event(ev);
        }
    }

    fn event(&mut self, ev: ClientEvent) {
        tracing::trace!(server = %self.server, event = ?ev, "circuit event");
        match ev {
            ClientEvent::Connected { cid, info } => {
                let Some(chan) = self.channels.get(&cid).cloned() else {
                    return;
                };
                let keys: Vec<u64> = {
                    let mut inner = chan.lock();
                    inner.circuit = Some(self.me.clone());
                    inner.subs.keys().copied().collect()
                };
                let server = self.server;
                chan.state.send_modify(|s| {
                    s.status = ConnectionStatus::Connected;
                    s.info = Some(info);
                    s.server = Some(server);
                    s.connections = s.connections.saturating_add(1);
                });
                // Subscriptions made while disconnected, or to renew.
                for key in keys {
                    self.subscribe(cid, key);
                }
            }
            ClientEvent::CreateFailed { cid } => {
                if let Some(chan) = self.channels.remove(&cid) {
                    tracing::debug!(name = %chan.name, server = %self.server, "server refused to create the channel");
                    chan.set_disconnected();
                    self.me_research(cid, true);
                }
            }
            ClientEvent::AccessRights { cid, rights } => {
                if let Some(chan) = self.channels.get(&cid) {
                    chan.state.send_modify(|s| {
                        if let Some(info) = s.info.as_mut() {
                            info.access = rights;
                        }
                    });
                }
            }
            ClientEvent::ReadDone { ioid, result, .. } => match self.pending.remove(&ioid) {
                Some(Pending::Read(reply)) => {
                    let _ = reply.send(result.map_err(OpError::Remote));
                }
                Some(Pending::Refresh(queue)) => match result {
                    Ok(payload) => queue.push(SubItem::Data(payload)),
                    Err(e) => queue.push(SubItem::Failed(OpError::Remote(e))),
                },
                Some(Pending::Write(_)) | None => {}
            },
            ClientEvent::WriteDone { ioid, result, .. } => {
                if let Some(Pending::Write(reply)) = self.pending.remove(&ioid) {
                    let _ = reply.send(result.map_err(OpError::Remote));
                }
            }
            ClientEvent::Update {
                subid,
                payload,
                status,
                ..
            } => {
                if let Some(sub) = self.subs.get(&subid) {
                    if status.is_success() {
                        sub.queue.push(SubItem::Data(payload));
                    } else {
                        sub.queue.push(SubItem::Failed(OpError::Remote(
                            caproto_core::circuit::RemoteError {
                                status,
                                message: String::new(),
                            },
                        )));
                    }
                }
            }
            ClientEvent::SubscriptionFailed { subid, error, .. } => {
                if let Some(sub) = self.subs.get(&subid) {
                    sub.queue.push(SubItem::Failed(OpError::Remote(error)));
                }
            }
            ClientEvent::ChannelDisconnected { cid, .. } => {
                // The subscriptions stay registered on the channel and are
                // renewed when it reconnects (libca `nciu::serviceShutdownNotify`).
                self.subs.retain(|_, s| s.cid != cid);
                self.sub_ids.retain(|(c, _), _| *c != cid);
                if let Some(chan) = self.channels.remove(&cid) {
                    chan.set_disconnected();
                    self.me_research(cid, false);
                }
            }
            ClientEvent::Error {
                cid,
                error,
                request,
            } => {
                let name = cid
                    .and_then(|c| self.channels.get(&c))
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                tracing::warn!(%name, command = %request.command, "server error: {} {}", error.status.message(), error.message);
            }
            ClientEvent::Unresponsive => {
                // libca reports the channels disconnected but keeps them on
                // the circuit (`tcpiiu::unresponsiveCircuitNotify`).
                self.unresponsive = true;
                for chan in self.channels.values() {
                    chan.state.send_modify(|s| {
                        if s.status == ConnectionStatus::Connected {
                            s.status = ConnectionStatus::Disconnected;
                        }
                    });
                }
            }
            ClientEvent::Responsive => {
                self.unresponsive = false;
                for chan in self.channels.values() {
                    if self.circuit.channel_info(chan.cid).is_some() {
                        chan.state
                            .send_modify(|s| s.status = ConnectionStatus::Connected);
                    }
                }
                let refresh: Vec<(Cid, Arc<SubQueue>, u64)> = self
                    .subs
                    .values()
                    .map(|s| (s.cid, s.queue.clone(), s.key))
                    .collect();
                for (cid, queue, key) in refresh {
                    let reg = self
                        .channels
                        .get(&cid)
                        .and_then(|c| c.lock().subs.get(&key).cloned());
                    if let Some(reg) = reg {
                        if let Ok(ioid) = self.circuit.read(cid, reg.data_type, reg.count) {
                            self.pending.insert(ioid, Pending::Refresh(queue));
                        }
                    }
                }
            }
            ClientEvent::Closed { reason } => {
                tracing::debug!(server = %self.server, ?reason, "circuit closed");
            }
            ClientEvent::ServerVersion { .. }
            | ClientEvent::SubscriptionCancelled { .. }
            | ClientEvent::ChannelCleared { .. } => {}
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn me_research(&self, cid: Cid, delayed: bool) {
        // Through the context's internal queue (it owns the search).
        self.settings.internal.research(cid, delayed);
    }
}

async fn writer(mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(mut buf) = rx.recv().await {
        // Join everything queued meanwhile into one write.
        while let Ok(more) = rx.try_recv() {
            buf.extend_from_slice(&more);
        }
        if let Err(e) = wr.write_all(&buf).await {
            tracing::debug!("circuit write failed: {e}");
            return;
        }
    }
    let _ = wr.shutdown().await;
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
