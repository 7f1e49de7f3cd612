//! The CA repeater: [`Repeater`] (the `caRepeater` daemon's logic) and
//! [`RepeaterRegistration`] (a client registering with it).
//!
//! Several client processes on one host cannot all bind the beacon port, so
//! one repeater binds it (`EPICS_CA_REPEATER_PORT`) and forwards every
//! datagram it receives to the clients registered with it (CA protocol
//! spec, "Repeater Operation"; libca `repeater.cpp`).

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::for_each_server_message;
use crate::error::ProtocolError;
use crate::wire::{Command, Header, ServerMessage, HEADER_SIZE, MAX_UDP_RECV};

/// Most clients a [`Repeater`] serves (not in libca, which has no limit).
pub const DEFAULT_MAX_REPEATER_CLIENTS: usize = 4096;

/// Datagrams waiting in a [`Repeater`] to be fanned out beyond which new
/// ones are dropped (a caller that never drains must not make it grow).
const MAX_QUEUED_FANOUTS: usize = 1024;

/// Delay before libca's first registration attempt (libca
/// `repeaterSubscribeTimer.cpp` `repeaterSubscribeTimerInitialPeriod`, 10 s).
/// [`RepeaterRegistration::new`] registers at once instead; use
/// [`RepeaterRegistration::with_initial_delay`] for libca's timing.
pub const REPEATER_SUBSCRIBE_INITIAL_DELAY: Duration = Duration::from_secs(10);

/// Interval between registration attempts until the repeater confirms
/// (libca `repeaterSubscribeTimer.cpp` `repeaterSubscribeTimerPeriod`, 1 s).
pub const REPEATER_SUBSCRIBE_PERIOD: Duration = Duration::from_secs(1);

/// Unanswered attempts after which libca warns that the repeater cannot be
/// reached (`repeaterSubscribeTimer.cpp` `nTriesToMsg`, 50). It keeps
/// trying; so does [`RepeaterRegistration`].
pub const REPEATER_TRIES_BEFORE_WARNING: u32 = 50;

/// Settings of a [`Repeater`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepeaterConfig {
    /// Most registered clients; further registrations are refused.
    pub max_clients: usize,
    /// Addresses of this host's interfaces. Registrations are accepted from
    /// the loopback network and from these (libca checks that it can bind
    /// the sender's address, i.e. that the client is local).
    pub local_addrs: Vec<Ipv4Addr>,
}

impl Default for RepeaterConfig {
    fn default() -> Self {
        RepeaterConfig {
            max_clients: DEFAULT_MAX_REPEATER_CLIENTS,
            local_addrs: Vec::new(),
        }
    }
}

/// What a [`Repeater`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RepeaterEvent {
    /// A new client registered. libca then checks that every registered
    /// client still exists (`verifyClients`: a bind test on each client's
    /// port); the front-end should probe [`Repeater::clients`] and call
    /// [`Repeater::remove_client`] for the dead ones.
    ClientAdded(SocketAddrV4),
    /// A registration was refused.
    ClientRefused {
        /// The sender.
        from: SocketAddrV4,
        /// Why.
        reason: &'static str,
    },
}

/// The repeater's state machine (libca `repeater.cpp` `ca_repeater`).
///
/// # Driving contract
///
/// Pass every datagram received on the repeater port to
/// [`handle_datagram`](Self::handle_datagram) with its sender, then drain
/// [`poll_transmit`](Self::poll_transmit) (each call yields one datagram
/// and its destination) and [`poll_event`](Self::poll_event). The repeater
/// has no timers. When sending to a client fails, or after
/// [`RepeaterEvent::ClientAdded`], the front-end probes the clients (libca
/// tries to bind each client's port: if it can, the client is gone) and
/// calls [`remove_client`](Self::remove_client) for the dead ones.
///
/// Behaviour, as libca's:
/// - an empty datagram, or one starting with REPEATER_REGISTER, registers
///   its sender (only from a local address); clients are identified by
///   port. The client gets a REPEATER_CONFIRM whose address field is the
///   address it registered from, and every other client gets an empty
///   VERSION message ("noop") so that dead clients are noticed even when
///   no beacons arrive. What follows the 16-byte REPEATER_REGISTER, if
///   anything, is fanned out;
/// - any other datagram is forwarded unchanged to every client except its
///   sender, except that a beacon (RSRV_IS_UP first) whose address field is
///   0 gets the sender's address filled in.
#[derive(Debug)]
pub struct Repeater {
    clients: BTreeMap<u16, SocketAddrV4>,
    config: RepeaterConfig,
    queue: VecDeque<Fanout>,
    events: VecDeque<RepeaterEvent>,
    dropped: u64,
}

#[derive(Debug)]
struct Fanout {
    bytes: Vec<u8>,
    dests: Vec<SocketAddrV4>,
    next: usize,
}

impl Default for Repeater {
    fn default() -> Self {
        Repeater::new(RepeaterConfig::default())
    }
}

impl Repeater {
    /// A repeater with no clients.
    pub fn new(config: RepeaterConfig) -> Self {
        Repeater {
            clients: BTreeMap::new(),
            config,
            queue: VecDeque::new(),
            events: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Handles a datagram received on the repeater port from `from`.
    pub fn handle_datagram(&mut self, from: SocketAddrV4, bytes: &[u8]) {
        if bytes.len() > MAX_UDP_RECV {
            return;
        }
        let header = Header::decode(bytes).map(|(h, _)| h);
        let mut rest = bytes;
        match header {
            _ if bytes.is_empty() => {
                self.register(from);
                return;
            }
            Some(h) if h.command == Command::REPEATER_REGISTER => {
                self.register(from);
                rest = bytes.get(HEADER_SIZE..).unwrap_or_default();
                if rest.is_empty() {
                    return;
                }
            }
            _ => {}
        }
        let mut message = rest.to_vec();
        if header.is_some_and(|h| h.command == Command::RSRV_IS_UP && h.parameter2 == 0)
            && rest.len() == bytes.len()
        {
            if let Some(field) = message.get_mut(12..16) {
                field.copy_from_slice(&from.ip().octets());
            }
        }
        self.fan_out(from, message);
    }

    /// The next datagram to send: writes it into `out` (replacing its
    /// contents) and returns its destination, or `None` when there is
    /// nothing to send.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<SocketAddrV4> {
        loop {
            let front = self.queue.front_mut()?;
            match front.dests.get(front.next) {
                Some(dest) => {
                    let dest = *dest;
                    front.next += 1;
                    out.clear();
                    out.extend_from_slice(&front.bytes);
                    if front.next >= front.dests.len() {
                        self.queue.pop_front();
                    }
                    return Some(dest);
                }
                None => {
                    self.queue.pop_front();
                }
            }
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<RepeaterEvent> {
        self.events.pop_front()
    }

    /// Unregisters `client` (found dead by the front-end's probe). Returns
    /// false if it was not registered. Datagrams already queued for it are
    /// not sent.
    pub fn remove_client(&mut self, client: SocketAddrV4) -> bool {
        if self.clients.get(&client.port()) != Some(&client) {
            return false;
        }
        self.clients.remove(&client.port());
        for f in &mut self.queue {
            let done = f.dests.get(..f.next).map_or(0, |d| d.len());
            let mut i = 0;
            f.dests.retain(|d| {
                let keep = i < done || *d != client;
                i += 1;
                keep
            });
        }
        true
    }

    /// The registered clients, in port order.
    pub fn clients(&self) -> impl Iterator<Item = SocketAddrV4> + '_ {
        self.clients.values().copied()
    }

    /// Number of registered clients.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Datagrams dropped because the caller did not drain
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// libca `repeater.cpp` `register_new_client`.
    fn register(&mut self, from: SocketAddrV4) {
        let ip = *from.ip();
        if !(ip.is_loopback() || self.config.local_addrs.contains(&ip)) {
            self.events.push_back(RepeaterEvent::ClientRefused {
                from,
                reason: "not a local address",
            });
            return;
        }
        let client = match self.clients.get(&from.port()) {
            Some(existing) => *existing,
            None => {
                if self.clients.len() >= self.config.max_clients {
                    self.events.push_back(RepeaterEvent::ClientRefused {
                        from,
                        reason: "too many clients",
                    });
                    return;
                }
                self.clients.insert(from.port(), from);
                self.events.push_back(RepeaterEvent::ClientAdded(from));
                from
            }
        };
        let mut confirm = Vec::with_capacity(HEADER_SIZE);
        Header {
            command: Command::REPEATER_CONFIRM,
            payload_size: 0,
            data_type: 0,
            data_count: 0,
            parameter1: 0,
            parameter2: u32::from(*client.ip()),
        }
        .encode(&mut confirm);
        // The confirmation is never dropped.
        self.queue.push_back(Fanout {
            bytes: confirm,
            dests: vec![client],
            next: 0,
        });
        // A noop to everybody else, so that dead clients show up.
        self.fan_out(from, vec![0; HEADER_SIZE]);
    }

    /// Queues `bytes` for every client except `from` (libca `fanOut`).
    fn fan_out(&mut self, from: SocketAddrV4, bytes: Vec<u8>) {
        let dests: Vec<SocketAddrV4> = self
            .clients
            .values()
            .copied()
            .filter(|c| *c != from)
            .collect();
        if dests.is_empty() {
            return;
        }
        if self.queue.len() >= MAX_QUEUED_FANOUTS {
            self.dropped += 1;
            return;
        }
        self.queue.push_back(Fanout {
            bytes,
            dests,
            next: 0,
        });
    }
}

/// What a [`RepeaterRegistration`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrationEvent {
    /// The repeater confirmed the registration.
    Confirmed {
        /// The address in the confirmation (the one the repeater saw the
        /// registration come from).
        addr: Ipv4Addr,
    },
    /// [`REPEATER_TRIES_BEFORE_WARNING`] attempts went unanswered (reported
    /// once; attempts go on, as in libca): is a repeater running?
    Unreachable {
        /// Attempts so far.
        attempts: u32,
    },
}

/// A client's registration with the repeater (libca
/// `repeaterSubscribeTimer.cpp`, `udpiiu.cpp` `caRepeaterRegistrationMessage`).
///
/// # Driving contract
///
/// Sleep until [`poll_timeout`](Self::poll_timeout), call
/// [`handle_timeout`](Self::handle_timeout) and send what
/// [`poll_transmit`](Self::poll_transmit) writes to the repeater
/// (`127.0.0.1:EPICS_CA_REPEATER_PORT`) from the client's UDP socket — the
/// one on which beacons should arrive. Offer datagrams received on that
/// socket to [`handle_datagram`](Self::handle_datagram) (or call
/// [`handle_confirm`](Self::handle_confirm) on a REPEATER_CONFIRM); once
/// confirmed there is no timeout any more. Attempts are 1 s apart and never
/// stop; after 50 an [`RegistrationEvent::Unreachable`] is reported once.
///
/// Differences from libca: libca sends an empty datagram (the repeater
/// treats it as a registration) and alternates the destination between the
/// loopback and the first interface address; this sends a 16-byte
/// REPEATER_REGISTER carrying 127.0.0.1 (CA protocol spec; the repeater
/// accepts both). libca waits 10 s before the first attempt; this one
/// registers at once unless built with
/// [`with_initial_delay`](Self::with_initial_delay).
#[derive(Debug, Clone)]
pub struct RepeaterRegistration {
    next: Option<Instant>,
    attempts: u32,
    due: bool,
    confirmed: bool,
    warned: bool,
    events: VecDeque<RegistrationEvent>,
}

impl RepeaterRegistration {
    /// A registration whose first attempt is due at `now`.
    pub fn new(now: Instant) -> Self {
        RepeaterRegistration::with_initial_delay(now, Duration::ZERO)
    }

    /// A registration whose first attempt is due at `now + delay` (libca
    /// uses [`REPEATER_SUBSCRIBE_INITIAL_DELAY`]).
    pub fn with_initial_delay(now: Instant, delay: Duration) -> Self {
        RepeaterRegistration {
            next: Some(now + delay),
            attempts: 0,
            due: false,
            confirmed: false,
            warned: false,
            events: VecDeque::new(),
        }
    }

    /// The 16-byte REPEATER_REGISTER message announcing `client_addr`.
    pub fn register_message(client_addr: Ipv4Addr) -> [u8; HEADER_SIZE] {
        let mut v = Vec::with_capacity(HEADER_SIZE);
        Header {
            command: Command::REPEATER_REGISTER,
            payload_size: 0,
            data_type: 0,
            data_count: 0,
            parameter1: 0,
            parameter2: u32::from(client_addr),
        }
        .encode(&mut v);
        let mut out = [0u8; HEADER_SIZE];
        out.copy_from_slice(v.get(..HEADER_SIZE).unwrap_or(&[0; HEADER_SIZE]));
        out
    }

    /// When the next attempt is due; `None` once confirmed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.confirmed {
            None
        } else {
            self.next
        }
    }

    /// Makes an attempt pending if one is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.confirmed {
            return;
        }
        let Some(next) = self.next else {
            return;
        };
        if now < next {
            return;
        }
        if self.attempts >= REPEATER_TRIES_BEFORE_WARNING && !self.warned {
            self.warned = true;
            self.events.push_back(RegistrationEvent::Unreachable {
                attempts: self.attempts,
            });
        }
        self.due = true;
        self.attempts = self.attempts.saturating_add(1);
        self.next = Some(now + REPEATER_SUBSCRIBE_PERIOD);
    }

    /// Writes the pending registration message into `out` (replacing its
    /// contents) and returns true, or returns false if no attempt is due.
    /// Runs a due timer first.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        self.handle_timeout(now);
        if !self.due {
            return false;
        }
        self.due = false;
        out.clear();
        out.extend_from_slice(&Self::register_message(Ipv4Addr::LOCALHOST));
        true
    }

    /// The repeater confirmed (REPEATER_CONFIRM with address `addr`).
    pub fn handle_confirm(&mut self, addr: u32) {
        self.due = false;
        if !self.confirmed {
            self.confirmed = true;
            self.events.push_back(RegistrationEvent::Confirmed {
                addr: Ipv4Addr::from(addr),
            });
        }
    }

    /// Looks for a REPEATER_CONFIRM in a datagram received on the client's
    /// socket; returns true if there was one. Other messages are ignored; a
    /// malformed message is an error.
    pub fn handle_datagram(&mut self, bytes: &[u8]) -> Result<bool, ProtocolError> {
        let mut confirm = None;
        for_each_server_message(bytes, |_, msg| {
            if let ServerMessage::RepeaterConfirm { repeater_addr } = msg {
                confirm = Some(repeater_addr);
            }
        })?;
        match confirm {
            Some(addr) => {
                self.handle_confirm(addr);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Registers again from the start (e.g. the repeater was restarted).
    pub fn reset(&mut self, now: Instant) {
        *self = RepeaterRegistration::new(now);
    }

    /// True once the repeater confirmed.
    pub fn is_registered(&self) -> bool {
        self.confirmed
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<RegistrationEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn local(port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)
    }

    fn drain(r: &mut Repeater) -> Vec<(SocketAddrV4, Vec<u8>)> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(dest) = r.poll_transmit(&mut buf) {
            out.push((dest, buf.clone()));
        }
        out
    }

    const REGISTER: &str = "0018000000000000000000007f000001";
    const CONFIRM: &str = "0011000000000000000000007f000001";

    #[test]
    fn register_confirm_and_noop() {
        let mut r = Repeater::default();
        r.handle_datagram(local(40001), &hex(REGISTER));
        assert_eq!(
            r.poll_event(),
            Some(RepeaterEvent::ClientAdded(local(40001)))
        );
        assert_eq!(drain(&mut r), vec![(local(40001), hex(CONFIRM))]);
        // A second client: confirmed, and the first gets a noop.
        r.handle_datagram(local(40002), &[]);
        assert_eq!(
            drain(&mut r),
            vec![(local(40002), hex(CONFIRM)), (local(40001), vec![0; 16]),]
        );
        // Registering again: no new client, confirmed again.
        r.handle_datagram(local(40002), &hex(REGISTER));
        assert_eq!(r.client_count(), 2);
        let out = drain(&mut r);
        assert_eq!(out[0].0, local(40002));
        assert_eq!(out[0].1[..2], [0x00, 0x11]);
        let events: Vec<_> = std::iter::from_fn(|| r.poll_event()).collect();
        assert_eq!(events, vec![RepeaterEvent::ClientAdded(local(40002))]);
    }

    #[test]
    fn beacons_fan_out_with_the_sender_address_filled_in() {
        let mut r = Repeater::default();
        for p in [40001, 40002, 40003] {
            r.handle_datagram(local(p), &[]);
        }
        drain(&mut r);
        // ioc-startup-beacons.pcap: a beacon with address 0 from softIoc.
        let ioc = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 5), 44090);
        r.handle_datagram(ioc, &hex("000d0000000d61e80000000100000000"));
        let out = drain(&mut r);
        assert_eq!(out.len(), 3);
        for (k, (dest, bytes)) in out.iter().enumerate() {
            assert_eq!(dest.port(), 40001 + k as u16);
            assert_eq!(bytes, &hex("000d0000000d61e8000000010a000005"));
        }
        // A beacon with an address keeps it; other datagrams pass unchanged,
        // and never back to their sender.
        let b = hex("000d0000000d61e800000002c0a80001");
        r.handle_datagram(ioc, &b);
        assert!(drain(&mut r).iter().all(|(_, d)| *d == b));
        let junk = hex("00ff00");
        r.handle_datagram(local(40002), &junk);
        let out = drain(&mut r);
        assert_eq!(
            out.iter().map(|(d, _)| d.port()).collect::<Vec<_>>(),
            vec![40001, 40003]
        );
        assert!(out.iter().all(|(_, d)| *d == junk));
    }

    #[test]
    fn register_with_trailing_messages_forwards_the_rest() {
        let mut r = Repeater::default();
        r.handle_datagram(local(40001), &[]);
        drain(&mut r);
        let mut d = hex(REGISTER);
        d.extend(hex("000d0000000d13c80000000700000000"));
        r.handle_datagram(local(40002), &d);
        let out = drain(&mut r);
        // confirm to 40002, noop to 40001, then the beacon (unpatched: it
        // did not come first) to 40001.
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[2],
            (local(40001), hex("000d0000000d13c80000000700000000"))
        );
    }

    #[test]
    fn remote_registrations_are_refused_and_clients_bounded() {
        let remote = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 5000);
        let mut r = Repeater::new(RepeaterConfig {
            max_clients: 2,
            local_addrs: vec![Ipv4Addr::new(192, 168, 1, 2)],
        });
        r.handle_datagram(remote, &[]);
        assert!(matches!(
            r.poll_event(),
            Some(RepeaterEvent::ClientRefused {
                reason: "not a local address",
                ..
            })
        ));
        r.handle_datagram(SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 2), 40001), &[]);
        r.handle_datagram(local(40002), &[]);
        r.handle_datagram(local(40003), &[]);
        assert_eq!(r.client_count(), 2);
        let events: Vec<_> = std::iter::from_fn(|| r.poll_event()).collect();
        assert!(matches!(
            events.last(),
            Some(RepeaterEvent::ClientRefused {
                reason: "too many clients",
                ..
            })
        ));
    }

    #[test]
    fn dead_clients_are_removed() {
        let mut r = Repeater::default();
        for p in [40001, 40002] {
            r.handle_datagram(local(p), &[]);
        }
        drain(&mut r);
        r.handle_datagram(local(9999), &hex("000d0000000d13c80000000700000000"));
        assert!(r.remove_client(local(40001)));
        assert!(!r.remove_client(local(40001)));
        assert!(!r.remove_client(SocketAddrV4::new(Ipv4Addr::new(1, 2, 3, 4), 40002)));
        let out = drain(&mut r);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, local(40002));
        assert_eq!(r.clients().collect::<Vec<_>>(), vec![local(40002)]);
    }

    #[test]
    fn undrained_queue_is_bounded() {
        let mut r = Repeater::default();
        r.handle_datagram(local(40001), &[]);
        for _ in 0..5000 {
            r.handle_datagram(local(9999), &hex("000d0000000d13c80000000700000000"));
        }
        assert!(r.queue.len() <= MAX_QUEUED_FANOUTS + 1);
        assert!(r.dropped() > 0);
    }

    #[test]
    fn registration_retries_every_second_and_warns_once() {
        let t0 = base();
        let mut reg = RepeaterRegistration::new(t0);
        let mut out = Vec::new();
        assert_eq!(reg.poll_timeout(), Some(t0));
        assert!(reg.poll_transmit(t0, &mut out));
        assert_eq!(out, hex(REGISTER));
        assert_eq!(
            RepeaterRegistration::register_message(Ipv4Addr::LOCALHOST).to_vec(),
            out
        );
        assert!(!reg.poll_transmit(t0, &mut out));
        assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(1)));
        let mut now = t0;
        for _ in 0..60 {
            now = reg.poll_timeout().unwrap();
            assert!(reg.poll_transmit(now, &mut out));
        }
        assert_eq!(reg.attempts(), 61);
        assert_eq!(
            std::iter::from_fn(|| reg.poll_event()).collect::<Vec<_>>(),
            vec![RegistrationEvent::Unreachable { attempts: 50 }]
        );
        // The repeater answers (with a beacon in the same datagram).
        let mut d = hex("000d0000000d13c80000000700000000");
        d.extend(hex(CONFIRM));
        assert!(reg.handle_datagram(&d).unwrap());
        assert!(reg.is_registered());
        assert_eq!(reg.poll_timeout(), None);
        assert!(!reg.poll_transmit(now + Duration::from_secs(5), &mut out));
        assert_eq!(
            reg.poll_event(),
            Some(RegistrationEvent::Confirmed {
                addr: Ipv4Addr::LOCALHOST
            })
        );
        assert!(!reg
            .handle_datagram(&hex("000d0000000d13c80000000700000000"))
            .unwrap());
        assert!(reg.handle_datagram(&hex("0011")).is_err());
        reg.reset(now);
        assert!(!reg.is_registered());
        assert_eq!(reg.poll_timeout(), Some(now));
    }

    #[test]
    fn libca_initial_delay() {
        let t0 = base();
        let mut reg =
            RepeaterRegistration::with_initial_delay(t0, REPEATER_SUBSCRIBE_INITIAL_DELAY);
        let mut out = Vec::new();
        assert!(!reg.poll_transmit(t0, &mut out));
        assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(10)));
        reg.handle_confirm(0x7f00_0001);
        assert_eq!(reg.poll_timeout(), None);
    }
}
