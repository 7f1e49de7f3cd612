//! One task per client: drives a [`ServerCircuit`] over a TCP connection.
//!
//! The loop reads from the socket, feeds the circuit, answers its events
//! from the PV table, and writes everything the circuit queued in one
//! `write_all` (batching: one syscall for all replies produced by one read).
//! While a write is blocked on a slow client nothing else is read, and
//! monitor updates pile up in the [`Outbox`], one slot per subscription,
//! newest value only: memory stays flat however slow the client.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use caproto_core::circuit::{
    ReadRequest, ServerCircuit, ServerCircuitConfig, ServerEvent, WriteRequest,
};
use caproto_core::dbr::{decode, payload_size, DbrType};
use caproto_core::status::EcaStatus;
use caproto_core::wire::{
    ClientMessage, Command, ServerMessage, StreamDecoder, EXTENDED_HEADER_SIZE, HEADER_SIZE,
};
use caproto_core::{Sid, SubId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, trace, warn};

use crate::group::PrefixedSource;
use crate::pv::{Outbox, Pv};

/// What every circuit shares.
pub(crate) struct Shared {
    pub(crate) pvs: BTreeMap<String, Pv>,
    pub(crate) sources: Vec<PrefixedSource>,
    pub(crate) circuit_config: ServerCircuitConfig,
}

impl Shared {
    /// Whether `name` is served: a fixed PV or one a source can make.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.pvs.contains_key(name)
            || self.sources.iter().any(|(prefix, s)| {
                name.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| s.contains(rest))
            })
    }

    /// The PV serving `name`.
    pub(crate) fn lookup(&self, name: &str) -> Option<Pv> {
        if let Some(pv) = self.pvs.get(name) {
            return Some(pv.clone());
        }
        self.sources.iter().find_map(|(prefix, s)| {
            let pv = s.resolve(name.strip_prefix(prefix.as_str())?)?;
            pv.set_served_name(name);
            Some(pv)
        })
    }
}

/// Size of one socket read.
const READ_CHUNK: usize = 64 * 1024;

/// The length of the run of whole messages at the start of `bytes` that
/// ends at the first WRITE_NOTIFY (or at the last whole message, or after
/// [`MAX_RUN`] messages), and the
/// length of the first message when it has not fully arrived.
fn message_run(bytes: &[u8]) -> (usize, Option<usize>) {
    let mut end = 0usize;
    let mut messages = 0usize;
    while let Some(rest) = bytes.get(end..) {
        if messages == MAX_RUN {
            break;
        }
        messages += 1;
        let Some(n) = frame_len(rest) else {
            break;
        };
        if n > rest.len() {
            return (end, (end == 0).then_some(n));
        }
        end += n;
        let command = rest
            .first_chunk::<2>()
            .map_or(0, |c| u16::from_be_bytes(*c));
        if command == Command::WRITE_NOTIFY.0 {
            break;
        }
    }
    (end, None)
}

/// Most messages fed to the circuit between two yields to the scheduler. A
/// client flooding requests must not keep this task on the thread while
/// other clients' monitors wait: tokio's cooperative budget alone let one
/// writer starve subscribers down to a few events per second (measured with
/// `examples/bench_server.rs`, flood mode).
const MAX_RUN: usize = 32;

/// The length of the CA message starting at `bytes` (header plus padded
/// payload; an extended header when the 16-bit size is 0xFFFF, as rsrv
/// `camessage.c` reads it), or `None` until its header is complete.
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let size = u16::from_be_bytes(*bytes.get(2..4)?.first_chunk::<2>()?);
    if size != 0xFFFF {
        return Some(HEADER_SIZE + usize::from(size));
    }
    let size = u32::from_be_bytes(*bytes.get(16..20)?.first_chunk::<4>()?);
    Some(EXTENDED_HEADER_SIZE.saturating_add(usize::try_from(size).unwrap_or(usize::MAX)))
}

/// Runs one client's circuit until the client leaves, misbehaves, or the
/// server shuts down.
pub(crate) async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut c = Circuit {
        circuit: ServerCircuit::new(Instant::now(), shared.circuit_config.clone()),
        shared,
        peer,
        outbox: Arc::new(Outbox::default()),
        channels: HashMap::new(),
        rights: HashMap::new(),
        subs: HashMap::new(),
        user: String::new(),
        host: String::new(),
        trace_in: tracing::enabled!(tracing::Level::TRACE).then(|| StreamDecoder::new(u32::MAX)),
        trace_out: tracing::enabled!(tracing::Level::TRACE).then(|| StreamDecoder::new(u32::MAX)),
        notify_in_flight: 0,
    };
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut buf = vec![0u8; READ_CHUNK];
    // Received bytes not yet fed to the circuit, and how many bytes of the
    // message being fed are still to come.
    let mut inbuf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut to_boundary = 0usize;
    let mut out = Vec::new();
    debug!(%peer, "circuit open");
    let reason: String = 'circuit: loop {
        // Feed input one message at a time and answer it before the next.
        // While a WRITE_NOTIFY waits behind a pending one on its channel,
        // feed nothing more and read nothing: rsrv blocks the circuit's
        // receive thread until the pending put completes
        // (`write_notify_action`), so later requests never overtake queued
        // puts (EPICS `acctst` `verifyHighThroughputWriteCallback` reads
        // after 10000 put-callbacks and expects the last value).
        while fed < inbuf.len() && !c.puts_queued() {
            let rest = inbuf.get(fed..).unwrap_or_default();
            // What to feed now: the rest of a message begun earlier, or a
            // run of whole messages ending at the first WRITE_NOTIFY (no
            // request in a run can overtake a queued put), or the start of
            // a message larger than what has arrived.
            let take = if to_boundary > 0 {
                to_boundary.min(rest.len())
            } else {
                let (run, partial) = message_run(rest);
                if run == 0 {
                    match partial {
                        Some(n) => {
                            to_boundary = n;
                            n.min(rest.len())
                        }
                        None => break, // an incomplete header: read more
                    }
                } else {
                    run
                }
            };
            let bytes = rest.get(..take).unwrap_or_default();
            fed += take;
            to_boundary = to_boundary.saturating_sub(take);
            if let Err(e) = c.circuit.handle_input(Instant::now(), bytes) {
                // Send what the circuit answered (the ERROR) first.
                let _ = c.flush(&mut wr, &mut out).await;
                warn!(%peer, user = %c.user, host = %c.host, "closing circuit: {e}");
                break 'circuit format!("protocol error: {e}");
            }
            if to_boundary == 0 {
                c.process_events(&done_tx).await;
                // Let the other circuits (subscribers) run between runs.
                tokio::task::yield_now().await;
            }
        }
        inbuf.drain(..fed.min(inbuf.len()));
        fed = 0;
        if let Err(e) = c.flush(&mut wr, &mut out).await {
            break format!("write failed: {e}");
        }
        tokio::select! {
            r = rd.read(&mut buf), if !c.puts_queued() => match r {
                Ok(0) => break "client closed the connection".into(),
                Ok(n) => {
                    let bytes = buf.get(..n).unwrap_or_default();
                    c.trace_input(bytes);
                    inbuf.extend_from_slice(bytes);
                }
                Err(e) => break format!("read failed: {e}"),
            },
            _ = c.outbox.notify.notified() => c.post_pending(),
            Some((req, result)) = done_rx.recv() => {
                c.notify_in_flight = c.notify_in_flight.saturating_sub(1);
                // Monitor updates the write caused go first, as rsrv posts
                // them while processing, before the put callback.
                c.post_pending();
                c.circuit.write_reply(&req, result);
                c.process_events(&done_tx).await;
            }
            _ = shutdown.changed() => {
                // SERVER_DISCONN for every channel, so clients search again at once.
                c.circuit.shutdown();
                let _ = c.flush(&mut wr, &mut out).await;
                let _ = wr.shutdown().await;
                break "server shutting down".into();
            }
        }
    };
    for (subid, (pv, _, _)) in c.subs.drain() {
        pv.unsubscribe(&c.outbox, subid);
    }
    info!(%peer, user = %c.user, host = %c.host, "circuit closed: {reason}");
}

/// A write finished: the request and its CA result.
type Done = (WriteRequest, Result<(), EcaStatus>);

struct Circuit {
    circuit: ServerCircuit,
    shared: Arc<Shared>,
    peer: SocketAddr,
    outbox: Arc<Outbox>,
    channels: HashMap<Sid, Pv>,
    /// The rights each channel was last given.
    rights: HashMap<Sid, caproto_core::AccessRights>,
    subs: HashMap<SubId, (Pv, DbrType, u32)>,
    user: String,
    host: String,
    trace_in: Option<StreamDecoder>,
    trace_out: Option<StreamDecoder>,
    /// WRITE_NOTIFY requests handed to a write task and not yet answered.
    notify_in_flight: usize,
}

impl Circuit {
    /// True while a WRITE_NOTIFY waits behind a pending one (only possible
    /// while a put runs in a task).
    fn puts_queued(&self) -> bool {
        self.notify_in_flight > 0 && self.circuit.queued_puts() > 0
    }

    async fn flush(
        &mut self,
        wr: &mut tokio::net::tcp::OwnedWriteHalf,
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        out.clear();
        if !self.circuit.poll_transmit(out) {
            return Ok(());
        }
        if let Some(d) = &mut self.trace_out {
            d.push(out);
            while let Ok(Some(m)) = d.next_message::<ServerMessage>() {
                trace!(peer = %self.peer, "-> {m:?}");
            }
        }
        wr.write_all(out).await
    }

    fn trace_input(&mut self, bytes: &[u8]) {
        if let Some(d) = &mut self.trace_in {
            d.push(bytes);
            while let Ok(Some(m)) = d.next_message::<ClientMessage>() {
                trace!(peer = %self.peer, "<- {m:?}");
            }
        }
    }

    /// Answers everything the circuit asked of the application.
    async fn process_events(&mut self, done: &mpsc::UnboundedSender<Done>) {
        while let Some(ev) = self.circuit.poll_event() {
            match &ev {
                // Not the payload: it may be megabytes.
                ServerEvent::Write(w) => debug!(
                    peer = %self.peer,
                    "Write {{ sid: {}, ioid: {}, type: {}, count: {}, notify: {} }}",
                    w.sid.0, w.ioid.0, w.data_type, w.count, w.notify
                ),
                ev => debug!(peer = %self.peer, "{ev:?}"),
            }
            self.handle_event(ev, done).await;
        }
    }

    async fn handle_event(&mut self, ev: ServerEvent, done: &mpsc::UnboundedSender<Done>) {
        match ev {
            // rsrv re-evaluates access security when these change
            // (`client_name_action`, `host_name_action`).
            ServerEvent::ClientName(name) => {
                self.user = name;
                self.refresh_rights();
            }
            ServerEvent::HostName(name) => {
                self.host = name;
                self.refresh_rights();
            }
            ServerEvent::CreateChannel { cid, name } => match self.shared.lookup(&name) {
                Some(pv) => {
                    let count = u32::try_from(pv.capacity()).unwrap_or(u32::MAX).max(1);
                    let native =
                        DbrType::from_u16(pv.native_type().code()).unwrap_or(DbrType::String);
                    // Attach before reading the rights, so that a change
                    // racing with this is either seen here or notified.
                    pv.attach(&self.outbox);
                    let access = pv.access_for(&self.host, &self.user);
                    match self.circuit.accept_channel(cid, native, count, access) {
                        Ok(sid) => {
                            self.channels.insert(sid, pv);
                            self.rights.insert(sid, access);
                        }
                        Err(e) => warn!(peer = %self.peer, "cannot accept {name}: {e}"),
                    }
                }
                None => {
                    let _ = self.circuit.reject_channel(cid);
                }
            },
            ServerEvent::Read(req) => self.read(&req),
            ServerEvent::Write(req) => self.write(req, done).await,
            ServerEvent::Subscribe {
                sid,
                subid,
                data_type,
                count,
                mask,
            } => {
                let Some(pv) = self.channels.get(&sid).cloned() else {
                    return;
                };
                pv.subscribe(&self.outbox, subid, mask);
                self.subs.insert(subid, (pv.clone(), data_type, count));
                // The first update carries the current value (rsrv
                // `event_add_action` posts it at once).
                self.post(subid, &pv.snapshot());
            }
            ServerEvent::Unsubscribe { subid, .. } => {
                if let Some((pv, _, _)) = self.subs.remove(&subid) {
                    pv.unsubscribe(&self.outbox, subid);
                }
            }
            ServerEvent::ChannelCleared { sid, .. } => {
                self.rights.remove(&sid);
                if let Some(pv) = self.channels.remove(&sid) {
                    let gone: Vec<SubId> = self
                        .subs
                        .iter()
                        .filter(|(_, (p, _, _))| p.name() == pv.name())
                        .filter(|(subid, _)| self.circuit.subscription(**subid).is_none())
                        .map(|(s, _)| *s)
                        .collect();
                    for subid in gone {
                        self.subs.remove(&subid);
                        pv.unsubscribe(&self.outbox, subid);
                    }
                }
            }
            ServerEvent::Search { cid, name, reply } => {
                let found = self.shared.contains(&name);
                self.circuit.search_reply(cid, reply, found);
            }
            ServerEvent::RefreshSubscriptions { subids, .. } => {
                for subid in subids {
                    if let Some((pv, _, _)) = self.subs.get(&subid) {
                        let snap = pv.snapshot();
                        self.post(subid, &snap);
                    }
                }
            }
            ServerEvent::EventsPaused(paused) => {
                debug!(peer = %self.peer, paused, "client flow control");
                self.outbox.set_paused(paused);
            }
            ServerEvent::ClientVersion { .. } | ServerEvent::Obsolete(_) => {}
            // Events added to the core later are logged above and need no answer.
            _ => {}
        }
    }

    /// True if a reply of `count` elements of `data_type` fits the
    /// largest message this server sends (rsrv answers ECA_TOLARGE when
    /// `cas_copy_in_header` cannot fit it). A client's count is never
    /// trusted for an allocation.
    fn fits(&self, data_type: DbrType, count: u32) -> bool {
        let limit = usize::try_from(self.shared.circuit_config.max_payload).unwrap_or(usize::MAX);
        count == 0 || payload_size(data_type, count) <= limit
    }

    fn read(&mut self, req: &ReadRequest) {
        let Some(pv) = self.channels.get(&req.sid) else {
            return;
        };
        if !self.fits(req.data_type, req.count) {
            // Answered with the status and a zero-filled value of the
            // channel's size, never of the absurd size asked for (rsrv
            // sends an ERROR here; libca fails the request either way).
            let capped = ReadRequest {
                count: u32::try_from(pv.capacity()).unwrap_or(1),
                ..*req
            };
            debug!(peer = %self.peer, pv = pv.name(), count = req.count, "read too large");
            self.circuit
                .read_reply(&capped, Err(EcaStatus::ECA_TOLARGE));
            return;
        }
        let result = pv.encode_read(&pv.snapshot(), req.data_type, req.count);
        if let Err(status) = result {
            debug!(peer = %self.peer, pv = pv.name(), "read as {} failed: {status}", req.data_type);
        }
        self.circuit.read_reply(req, result);
    }

    /// Carries out a write; a WRITE_NOTIFY is answered when the write
    /// handler finishes.
    async fn write(&mut self, req: WriteRequest, done: &mpsc::UnboundedSender<Done>) {
        let Some(pv) = self.channels.get(&req.sid).cloned() else {
            return;
        };
        let values = match decode(req.data_type, req.count, &req.data) {
            Ok(d) if !req.data_type.is_put_only() => d.values,
            // PUT_ACKT / PUT_ACKS: there is no alarm acknowledgement to do.
            Ok(_) => {
                self.circuit.write_reply(&req, Ok(()));
                return;
            }
            Err(e) => {
                debug!(peer = %self.peer, pv = pv.name(), "undecodable write: {e}");
                self.circuit.write_reply(&req, Err(EcaStatus::ECA_BADTYPE));
                return;
            }
        };
        let peer = self.peer;
        let name = pv.name().to_owned();
        let kind = if req.notify {
            crate::pv::PutKind::WriteNotify
        } else {
            crate::pv::PutKind::Write
        };
        let mut write = Box::pin(async move {
            pv.client_write(values, kind).await.map_err(|e| {
                debug!(%peer, pv = %name, "write refused: {e}");
                e.status
            })
        });
        // Run the write as far as it goes at once: a PV without a handler,
        // or whose handler does not wait, completes here, so that a READ
        // after the WRITE_NOTIFY sees the new value, as with a passive
        // record in rsrv (EPICS `acctst` `arrayTest` checks it). A handler
        // that waits (an "asynchronous record") goes on in a task.
        let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
        match first {
            Poll::Ready(result) => {
                // Monitor updates the write caused go first, as rsrv posts
                // them while processing, before the put callback.
                self.post_pending();
                self.circuit.write_reply(&req, result);
            }
            Poll::Pending if req.notify => {
                self.notify_in_flight += 1;
                let done = done.clone();
                tokio::spawn(async move {
                    let result = write.await;
                    let _ = done.send((req, result));
                });
            }
            // A plain WRITE is carried out before the next request (rsrv's
            // `dbPutField` is synchronous).
            Poll::Pending => {
                let result = write.await;
                self.post_pending();
                self.circuit.write_reply(&req, result);
            }
        }
    }

    /// Sends ACCESS_RIGHTS for every channel whose rights changed.
    fn refresh_rights(&mut self) {
        let changed: Vec<(Sid, caproto_core::AccessRights)> = self
            .channels
            .iter()
            .filter_map(|(sid, pv)| {
                let now = pv.access_for(&self.host, &self.user);
                (self.rights.get(sid) != Some(&now)).then_some((*sid, now))
            })
            .collect();
        for (sid, access) in changed {
            self.rights.insert(sid, access);
            let _ = self.circuit.set_access_rights(sid, access);
        }
    }

    /// Sends the pending monitor updates, and new access rights.
    fn post_pending(&mut self) {
        if self.outbox.take_rights_changed() {
            self.refresh_rights();
        }
        for (subid, snaps) in self.outbox.take() {
            for snap in snaps {
                self.post(subid, &snap);
            }
        }
    }

    fn post(&mut self, subid: SubId, snap: &crate::pv::Snapshot) {
        let Some((pv, data_type, count)) = self.subs.get(&subid) else {
            return;
        };
        if !self.fits(*data_type, *count) {
            let n = u32::try_from(pv.capacity()).unwrap_or(1);
            let data = vec![0; payload_size(*data_type, n)];
            self.circuit
                .post_event(subid, EcaStatus::ECA_TOLARGE, n, data);
            return;
        }
        match pv.encode_read(snap, *data_type, *count) {
            Ok((n, data)) => self
                .circuit
                .post_event(subid, EcaStatus::ECA_NORMAL, n, data),
            Err(status) => {
                // As rsrv's `read_reply` for an event whose conversion
                // failed: the status and a zero-filled value.
                let n = if *count == 0 {
                    u32::try_from(pv.capacity()).unwrap_or(1)
                } else {
                    *count
                };
                let data = vec![0; payload_size(*data_type, n)];
                self.circuit.post_event(subid, status, n, data);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caproto_core::wire::Message;

    #[test]
    fn runs_end_at_write_notify_and_partial_messages_are_measured() {
        let mut b = Vec::new();
        ClientMessage::Echo.encode(&mut b);
        ClientMessage::WriteNotify {
            data_type: DbrType::Double,
            count: 1,
            sid: Sid(0),
            ioid: caproto_core::IoId(1),
            data: 1.0f64.to_be_bytes().to_vec(),
        }
        .encode(&mut b);
        ClientMessage::Echo.encode(&mut b);
        assert_eq!(message_run(&b), (16 + 24, None));
        assert_eq!(message_run(&b[40..]), (16, None));
        assert_eq!(message_run(&b[16..30]), (0, Some(24)));
        assert_eq!(message_run(&b[..10]), (0, Some(16)));
        assert_eq!(message_run(&b[..3]), (0, None));
        // A flood of requests is fed in bounded runs, with yields between.
        let mut flood = Vec::new();
        for _ in 0..100 {
            ClientMessage::Echo.encode(&mut flood);
        }
        assert_eq!(message_run(&flood), (16 * MAX_RUN, None));
        // Extended header: 0xFFFF size, then the 32-bit size.
        let mut ext = vec![0, 4, 0xFF, 0xFF, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&0x10_0000u32.to_be_bytes());
        ext.extend_from_slice(&1u32.to_be_bytes());
        assert_eq!(frame_len(&ext), Some(24 + 0x10_0000));
        assert_eq!(frame_len(&ext[..20]), Some(24 + 0x10_0000));
        assert_eq!(frame_len(&ext[..17]), None);
    }
}
