//! Server beacons: [`BeaconEmitter`] (server side) and [`BeaconTracker`]
//! (client side anomaly detection).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::for_each_server_message;
use crate::error::ProtocolError;
use crate::wire::{Command, Header, ServerMessage};
use crate::CA_MINOR_VERSION;

/// Delay between the first two beacons of a starting server; it doubles
/// after every beacon up to the beacon period (rsrv `online_notify.c`:
/// `delay = 0.02`).
pub const BEACON_INITIAL_DELAY: Duration = Duration::from_millis(20);

/// Servers not heard from for this long are forgotten by a
/// [`BeaconTracker`] (60 default beacon periods). Not in libca, which never
/// forgets.
pub const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// Most servers a [`BeaconTracker`] remembers. Not in libca (unbounded).
pub const DEFAULT_MAX_TRACKED_SERVERS: usize = 16_384;

/// Minor version from which beacons carry a sequence number (`caProto.h`
/// `CA_V410`).
const MINOR_WITH_BEACON_ID: u16 = 10;

/// Beacon ids at most this far behind the last one are duplicates from a
/// redundant route and are dropped (libca `bhe.cpp`:
/// `beaconSeqAdvance > ca_uint32_max - 256`).
const REORDER_WINDOW: u32 = 256;

/// Beacon ids 2 or 3 ahead of the last one are dropped as the result of a
/// duplicate route or an input queue overrun (libca `bhe.cpp`:
/// `beaconSeqAdvance > 1 && beaconSeqAdvance < 4`).
const SMALL_JUMP: core::ops::RangeInclusive<u32> = 2..=3;

/// A period this much longer than the average means missing beacons
/// (libca `bhe.cpp`, 1.25) and, from 3.25 × (three missing beacons in a
/// row), a server back on the network.
const MISSING_BEACON_FACTOR: f64 = 1.25;
const REAPPEARED_FACTOR: f64 = 3.25;

/// A period this much shorter than the average means a rebooted server in
/// its fast start-up ramp (libca `bhe.cpp`, 0.80).
const SHRUNK_FACTOR: f64 = 0.80;

/// Weight of a new period in the running average (libca `bhe.cpp`,
/// 0.125).
const AVERAGE_GAIN: f64 = 0.125;

/// A beacon (CA_PROTO_RSRV_IS_UP), as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Beacon {
    /// The server's minor protocol version (`data_type`).
    pub minor_version: u16,
    /// The server's TCP port (`count`; 0 from old servers: the default
    /// port).
    pub server_port: u16,
    /// Beacon sequence number (`parameter1`, CA 4.10 and later).
    pub beacon_id: u32,
    /// Server IPv4 address (`parameter2`); 0 means "the sender's address"
    /// (rsrv sends 0; the repeater fills in the sender).
    pub server_addr: u32,
}

impl Beacon {
    /// The beacon carried by `msg`, if it is one.
    pub fn from_message(msg: &ServerMessage) -> Option<Beacon> {
        match *msg {
            ServerMessage::Beacon {
                minor_version,
                server_port,
                beacon_id,
                server_addr,
            } => Some(Beacon {
                minor_version,
                server_port,
                beacon_id,
                server_addr,
            }),
            _ => None,
        }
    }

    /// Appends the 16-byte beacon message.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Header {
            command: Command::RSRV_IS_UP,
            payload_size: 0,
            data_type: self.minor_version,
            data_count: u32::from(self.server_port),
            parameter1: self.beacon_id,
            parameter2: self.server_addr,
        }
        .encode(out);
    }
}

/// Emits a server's beacons with rsrv's start-up ramp
/// (`online_notify.c`): one at once, then after 20 ms, 40 ms, 80 ms, ...
/// doubling until the beacon period (`EPICS_CAS_BEACON_PERIOD`, default
/// 15 s), then every period. Beacon ids count up from 0.
///
/// # Driving contract
///
/// Sleep until [`poll_timeout`](Self::poll_timeout), call
/// [`handle_timeout`](Self::handle_timeout), then
/// [`poll_transmit`](Self::poll_transmit) and send the 16 bytes to every
/// address of the beacon address list. `poll_transmit` runs a due timer
/// itself. If a deadline is handled late, the next delay counts from the
/// late time (rsrv sleeps after sending), and a missed beacon is not sent
/// twice.
///
/// Difference from rsrv: rsrv's first two beacons both carry id 0 (the
/// counter is applied after the first sleep); here ids are 0, 1, 2, ...
/// (libca drops a repeated id as a duplicate anyway).
#[derive(Debug, Clone)]
pub struct BeaconEmitter {
    server_port: u16,
    server_addr: u32,
    period: Duration,
    delay: Duration,
    next: Instant,
    next_id: u32,
    due: bool,
}

impl BeaconEmitter {
    /// An emitter for a server on TCP port `server_port` with steady beacon
    /// period `period`; the first beacon is due at `now`.
    pub fn new(now: Instant, server_port: u16, period: Duration) -> Self {
        BeaconEmitter {
            server_port,
            server_addr: 0,
            period,
            delay: BEACON_INITIAL_DELAY.min(period),
            next: now,
            next_id: 0,
            due: false,
        }
    }

    /// Announces `addr` as the server address instead of 0 ("use the
    /// sender's address").
    pub fn with_server_addr(mut self, addr: Ipv4Addr) -> Self {
        self.server_addr = u32::from(addr);
        self
    }

    /// Starts the fast ramp again (rsrv does when beacons are resumed after
    /// a pause), e.g. after the network configuration changed.
    pub fn restart(&mut self, now: Instant) {
        self.delay = BEACON_INITIAL_DELAY.min(self.period);
        self.next = now;
    }

    /// When the next beacon is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next)
    }

    /// Makes a beacon pending if one is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now >= self.next {
            self.due = true;
            self.next = now + self.delay;
            self.delay = (self.delay * 2).min(self.period);
        }
    }

    /// Writes the pending beacon into `out` (replacing its contents) and
    /// returns true, or returns false if none is due. Runs a due timer
    /// first.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        self.handle_timeout(now);
        if !self.due {
            return false;
        }
        self.due = false;
        out.clear();
        Beacon {
            minor_version: CA_MINOR_VERSION,
            server_port: self.server_port,
            beacon_id: self.next_id,
            server_addr: self.server_addr,
        }
        .encode(out);
        self.next_id = self.next_id.wrapping_add(1);
        true
    }

    /// The id the next beacon will carry.
    pub fn next_beacon_id(&self) -> u32 {
        self.next_id
    }
}

/// Why a beacon is anomalous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AnomalyReason {
    /// A server not seen before appeared: its second beacon came sooner
    /// after its first than the time this client had been running before
    /// seeing that first one, so it was not merely unnoticed (libca
    /// `bhe.cpp`, the second beacon).
    NewServer,
    /// The server's beacon ids started again from 0 (or jumped back by
    /// more than 256): it restarted. Not in libca, which sees a restart
    /// only through the short periods of the start-up ramp.
    Restarted,
    /// The beacon period dropped to 80 % of its average or less: a server
    /// in its start-up ramp, i.e. rebooted (libca `bhe.cpp`, "bal").
    PeriodShrank,
    /// The beacon period grew to 3.25 times its average or more: three
    /// beacons in a row went missing and the server is back, e.g. on a
    /// restored network segment (libca `bhe.cpp`, "bah").
    Reappeared,
}

/// A beacon anomaly: the client should search its unresolved channels
/// again soon ([`super::SearchEngine::beacon_anomaly`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BeaconAnomaly {
    /// The server's TCP address.
    pub server: SocketAddrV4,
    /// What was seen.
    pub reason: AnomalyReason,
    /// The id of the beacon that showed it.
    pub beacon_id: u32,
}

/// Limits of a [`BeaconTracker`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BeaconTrackerConfig {
    /// Port assumed for beacons that carry none (servers before CA 4.5;
    /// `EPICS_CA_SERVER_PORT`).
    pub default_server_port: u16,
    /// Most servers remembered; when full, the one heard from least
    /// recently is forgotten.
    pub max_servers: usize,
    /// Servers silent for this long are forgotten. A forgotten server that
    /// comes back is reported as [`AnomalyReason::NewServer`] at its second
    /// beacon, which has the same effect as libca's "reappeared".
    pub forget_after: Duration,
}

impl Default for BeaconTrackerConfig {
    fn default() -> Self {
        BeaconTrackerConfig {
            default_server_port: crate::DEFAULT_SERVER_PORT,
            max_servers: DEFAULT_MAX_TRACKED_SERVERS,
            forget_after: DEFAULT_FORGET_AFTER,
        }
    }
}

/// Tracks the beacons of every server and reports anomalies the way libca
/// does (`bhe.cpp` `updatePeriod`, `cac.cpp` `beaconNotify`).
///
/// Per server (keyed by its TCP address: the beacon's address field or else
/// the sender, and its port field or else the default port) it keeps the
/// time and id of the last beacon and a running average of the period
/// (`avg = 0.125 × period + 0.875 × avg`). For a beacon:
///
/// 1. first beacon of a server: remembered, never an anomaly;
/// 2. (CA 4.10+) same id as the last one, an id up to 256 behind, or 2–3
///    ahead: a duplicate or reordered beacon, ignored (its time is not
///    used); an id of 0 or more than 256 behind: [`AnomalyReason::Restarted`];
/// 3. second beacon: the average starts; [`AnomalyReason::NewServer`] if
///    the period is no longer than the time the tracker had been running
///    when the first beacon came;
/// 4. later beacons: [`AnomalyReason::Reappeared`] at 3.25 × the average
///    or more, [`AnomalyReason::PeriodShrank`] at 0.8 × or less.
///
/// As in libca, a server going through its start-up ramp produces several
/// anomalies in a row (each shorter period than the lagging average); each
/// only moves backed-off searches to the 8 s level, so repeats are cheap.
///
/// Memory is bounded: at most [`BeaconTrackerConfig::max_servers`] entries
/// (about 60 bytes each), and servers not heard from for
/// [`BeaconTrackerConfig::forget_after`] are dropped (checked at most every
/// quarter of that time, so the cost is amortised).
#[derive(Debug, Clone)]
pub struct BeaconTracker {
    servers: HashMap<SocketAddrV4, ServerBeacons>,
    program_begin: Instant,
    last_sweep: Instant,
    config: BeaconTrackerConfig,
}

#[derive(Debug, Clone)]
struct ServerBeacons {
    /// Time of the last beacon used for the period.
    last_beacon: Instant,
    /// Time of the last beacon of any kind (for forgetting).
    last_heard: Instant,
    last_id: u32,
    /// Average period in seconds, once two beacons were seen.
    average: Option<f64>,
}

impl BeaconTracker {
    /// A tracker for a client that started at `now` (libca
    /// `programBeginTime`).
    pub fn new(now: Instant) -> Self {
        BeaconTracker::with_config(now, BeaconTrackerConfig::default())
    }

    /// A tracker with explicit limits.
    pub fn with_config(now: Instant, config: BeaconTrackerConfig) -> Self {
        BeaconTracker {
            servers: HashMap::new(),
            program_begin: now,
            last_sweep: now,
            config,
        }
    }

    /// Handles one beacon received from `from` at `now`; returns the
    /// anomaly it shows, if any.
    pub fn handle_beacon(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        beacon: &Beacon,
    ) -> Option<BeaconAnomaly> {
        let ip = if beacon.server_addr != 0 {
            Ipv4Addr::from(beacon.server_addr)
        } else {
            *from.ip()
        };
        let port = if beacon.server_port != 0 {
            beacon.server_port
        } else {
            self.config.default_server_port
        };
        let server = SocketAddrV4::new(ip, port);
        self.sweep_if_due(now);

        let Some(entry) = self.servers.get_mut(&server) else {
            self.insert(now, server, beacon.beacon_id);
            return None;
        };
        entry.last_heard = now;
        let anomaly = |reason| {
            Some(BeaconAnomaly {
                server,
                reason,
                beacon_id: beacon.beacon_id,
            })
        };

        if beacon.minor_version >= MINOR_WITH_BEACON_ID {
            let id = beacon.beacon_id;
            let ahead = id.wrapping_sub(entry.last_id);
            let behind = entry.last_id.wrapping_sub(id);
            if ahead == 0 {
                return None; // duplicate
            }
            let restarted = (id == 0 && entry.last_id != u32::MAX)
                || (behind > REORDER_WINDOW && behind < 1 << 31);
            if restarted {
                entry.last_id = id;
                entry.last_beacon = now;
                return anomaly(AnomalyReason::Restarted);
            }
            if behind <= REORDER_WINDOW {
                return None; // an older beacon by another route
            }
            entry.last_id = id;
            if SMALL_JUMP.contains(&ahead) {
                return None;
            }
        }

        let period = now
            .saturating_duration_since(entry.last_beacon)
            .as_secs_f64();
        let reason = match entry.average {
            None => {
                entry.average = Some(period);
                let running = entry
                    .last_beacon
                    .saturating_duration_since(self.program_begin)
                    .as_secs_f64();
                (period <= running).then_some(AnomalyReason::NewServer)
            }
            Some(avg) => {
                let reason = if period >= avg * MISSING_BEACON_FACTOR {
                    (period >= avg * REAPPEARED_FACTOR).then_some(AnomalyReason::Reappeared)
                } else if period <= avg * SHRUNK_FACTOR {
                    Some(AnomalyReason::PeriodShrank)
                } else {
                    None
                };
                entry.average = Some(period * AVERAGE_GAIN + avg * (1.0 - AVERAGE_GAIN));
                reason
            }
        };
        entry.last_beacon = now;
        reason.and_then(anomaly)
    }

    /// Handles every beacon of a datagram (other messages are ignored);
    /// returns the last anomaly found. A malformed message ends the
    /// datagram with an error; beacons before it have been handled.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        bytes: &[u8],
    ) -> Result<Option<BeaconAnomaly>, ProtocolError> {
        let mut found = None;
        for_each_server_message(bytes, |_, msg| {
            if let Some(b) = Beacon::from_message(&msg) {
                if let Some(a) = self.handle_beacon(now, from, &b) {
                    found = Some(a);
                }
            }
        })?;
        Ok(found)
    }

    /// The average beacon period of `server`, once two beacons were seen
    /// (libca `ca_beacon_period`).
    pub fn period(&self, server: SocketAddrV4) -> Option<Duration> {
        self.servers
            .get(&server)
            .and_then(|s| s.average)
            .map(Duration::from_secs_f64)
    }

    /// Forgets `server` (its next beacon is treated as a first one).
    pub fn forget(&mut self, server: SocketAddrV4) -> bool {
        self.servers.remove(&server).is_some()
    }

    /// Number of servers remembered.
    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    fn insert(&mut self, now: Instant, server: SocketAddrV4, id: u32) {
        if self.servers.len() >= self.config.max_servers {
            self.sweep(now);
        }
        if self.servers.len() >= self.config.max_servers {
            let oldest = self
                .servers
                .iter()
                .min_by_key(|(_, s)| s.last_heard)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.servers.remove(&k);
            }
        }
        if self.config.max_servers > 0 {
            self.servers.insert(
                server,
                ServerBeacons {
                    last_beacon: now,
                    last_heard: now,
                    last_id: id,
                    average: None,
                },
            );
        }
    }

    fn sweep_if_due(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_sweep) >= self.config.forget_after / 4 {
            self.sweep(now);
        }
    }

    fn sweep(&mut self, now: Instant) {
        let forget_after = self.config.forget_after;
        self.servers
            .retain(|_, s| now.saturating_duration_since(s.last_heard) < forget_after);
        self.last_sweep = now;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::wire::Message;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const IOC: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 5), 44090);

    fn beacon(id: u32) -> Beacon {
        Beacon {
            minor_version: 13,
            server_port: 5064,
            beacon_id: id,
            server_addr: 0,
        }
    }

    fn server() -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 5), 5064)
    }

    #[test]
    fn emitter_ramp_matches_rsrv() {
        let t0 = base();
        let mut e = BeaconEmitter::new(t0, 25064, secs(15));
        let mut out = Vec::new();
        let mut times = Vec::new();
        let mut now = t0;
        while now < t0 + secs(60) {
            if e.poll_transmit(now, &mut out) {
                times.push((now - t0, out.clone()));
            }
            now = e.poll_timeout().unwrap();
        }
        let t: Vec<Duration> = times.iter().map(|(t, _)| *t).collect();
        // ioc-startup-beacons.pcap: 0, 20.1, 60.3, 140.5, 300.6, 620.8 ms,
        // 1.261 s, 2.541 s (plus scheduling jitter).
        let expected_ms = [
            0, 20, 60, 140, 300, 620, 1260, 2540, 5100, 10220, 20460, 35460, 50460,
        ];
        assert_eq!(t, expected_ms.map(ms).to_vec());
        // The first beacon as captured (port 25064 = 0x61e8), then ids count up.
        assert_eq!(times[0].1, hex("000d0000000d61e80000000000000000"));
        assert_eq!(times[2].1, hex("000d0000000d61e80000000200000000"));
        let msg = {
            let (h, n) = Header::decode(&times[7].1).unwrap();
            ServerMessage::decode(&h, &times[7].1[n..]).unwrap()
        };
        assert_eq!(
            Beacon::from_message(&msg),
            Some(Beacon {
                minor_version: 13,
                server_port: 25064,
                beacon_id: 7,
                server_addr: 0
            })
        );
    }

    #[test]
    fn emitter_late_handling_and_restart() {
        let t0 = base();
        let mut e =
            BeaconEmitter::new(t0, 5064, secs(15)).with_server_addr(Ipv4Addr::new(192, 168, 0, 2));
        let mut out = Vec::new();
        assert!(e.poll_transmit(t0, &mut out));
        assert_eq!(&out[12..16], &[192, 168, 0, 2]);
        assert!(!e.poll_transmit(t0, &mut out));
        // Handled 1 s late: one beacon, and the next delay counts from then.
        let late = t0 + secs(1);
        assert!(e.poll_transmit(late, &mut out));
        assert!(!e.poll_transmit(late, &mut out));
        assert_eq!(e.poll_timeout(), Some(late + ms(40)));
        assert_eq!(e.next_beacon_id(), 2);
        e.restart(late + secs(2));
        assert_eq!(e.poll_timeout(), Some(late + secs(2)));
        assert!(e.poll_transmit(late + secs(2), &mut out));
        assert_eq!(e.poll_timeout(), Some(late + secs(2) + ms(20)));
        // A period shorter than the initial delay is used as is.
        let mut fast = BeaconEmitter::new(t0, 5064, ms(10));
        assert!(fast.poll_transmit(t0, &mut out));
        assert_eq!(fast.poll_timeout(), Some(t0 + ms(10)));
    }

    /// Feeds a steady 15 s beacon stream for `n` beacons starting at `t`,
    /// asserting no anomaly; returns the time of the last one and its id.
    fn steady(tr: &mut BeaconTracker, t: Instant, first_id: u32, n: u32) -> (Instant, u32) {
        let mut now = t;
        for k in 0..n {
            now = t + secs(15) * k;
            assert_eq!(
                tr.handle_beacon(now, IOC, &beacon(first_id + k)),
                None,
                "beacon {k}"
            );
        }
        (now, first_id + n - 1)
    }

    #[test]
    fn servers_running_before_us_are_not_new() {
        let t0 = base();
        let mut tr = BeaconTracker::new(t0);
        // First beacon 1 s after start, then every 15 s: 15 > 1, not new.
        let (_, _) = steady(&mut tr, t0 + secs(1), 100, 20);
        assert_eq!(tr.server_count(), 1);
        let p = tr.period(server()).unwrap();
        assert!((p.as_secs_f64() - 15.0).abs() < 1e-6);
    }

    #[test]
    fn a_new_server_is_reported_at_its_second_beacon() {
        let t0 = base();
        let mut tr = BeaconTracker::new(t0);
        let start = t0 + secs(600);
        // rsrv ramp: ids 0, 0, 1, 2 at 0, 20, 60, 140 ms.
        assert_eq!(tr.handle_beacon(start, IOC, &beacon(0)), None);
        assert_eq!(tr.handle_beacon(start + ms(20), IOC, &beacon(0)), None);
        assert_eq!(
            tr.handle_beacon(start + ms(60), IOC, &beacon(1)),
            Some(BeaconAnomaly {
                server: server(),
                reason: AnomalyReason::NewServer,
                beacon_id: 1
            })
        );
    }

    #[test]
    fn shrinking_period_is_an_anomaly() {
        let t0 = base();
        let mut tr = BeaconTracker::new(t0);
        let (last, id) = steady(&mut tr, t0 + secs(1), 500, 10);
        // Beacon after 10 s instead of 15 s (<= 80 %).
        let a = tr.handle_beacon(last + secs(10), IOC, &beacon(id + 1));
        assert_eq!(a.map(|a| a.reason), Some(AnomalyReason::PeriodShrank));
    }

    #[test]
    fn three_missing_beacons_mean_the_server_reappeared() {
        let t0 = base();
        let mut tr = BeaconTracker::new(t0);
        let (last, id) = steady(&mut tr, t0 + secs(1), 500, 10);
        // One missing beacon (30 s): not an anomaly.
        assert_eq!(
            tr.handle_beacon(last + secs(30), IOC, &beacon(id + 4)),
            None
        );
        let (last, id) = steady(&mut tr, last + secs(45), id + 5, 30);
        // Four periods of silence and an id 5 ahead.
        let a = tr.handle_beacon(last + secs(60), IOC, &beacon(id + 5));
        assert_eq!(a.map(|a| a.reason), Some(AnomalyReason::Reappeared));
    }

    #[test]
    fn restart_is_seen_from_the_beacon_id() {
        let t0 = base();
        let mut tr = BeaconTracker::new(t0);
        let (last, _) = steady(&mut tr, t0 + secs(1), 40, 5);
        // The server restarts: ids begin at 0 again, 20 ms apart.
        let r = last + secs(3);
        assert_eq!(
            tr.handle_beacon(r, IOC, &beacon(0)).map(|a| a.reason),
            Some(AnomalyReason::Restarted)
        );
        assert_eq!(tr.handle_beacon(r + ms(20), IOC, &beacon(0)), None);
        // Then the ramp's short periods, as libca sees them.
        assert_eq!(
            tr.handle_beacon(r + ms(60), IOC, &beacon(1))
                .map(|a| a.reason),
            Some(AnomalyReason::PeriodShrank)
        );
        // A backwards jump by more than 256 is a restart too.
        let mut tr = BeaconTracker::new(t0);
        let (last, _) = steady(&mut tr, t0 + secs(1), 100_000, 5);
        assert_eq!(
            tr.handle_beacon(last + secs(15), IOC, &beacon(7))
                .map(|a| a.reason),
            Some(AnomalyReason::Restarted)
        );
    }

    #[test]
    fn duplicates_and_small_jumps_are_ignored() {
        let t0 = base();
        let mut tr = BeaconTracker::new(t0);
        let (last, id) = steady(&mut tr, t0 + secs(1), 1000, 5);
        // The same beacon by a second route, an older one, a jump of 2.
        assert_eq!(tr.handle_beacon(last + ms(1), IOC, &beacon(id)), None);
        assert_eq!(tr.handle_beacon(last + ms(2), IOC, &beacon(id - 3)), None);
        assert_eq!(tr.handle_beacon(last + ms(3), IOC, &beacon(id + 2)), None);
        // The stream goes on with no anomaly (timestamps not disturbed).
        steady(&mut tr, last + secs(15), id + 3, 5);
        // Servers before CA 4.10 have no ids: only periods count.
        let mut old = beacon(0);
        old.minor_version = 9;
        let mut tr = BeaconTracker::new(t0);
        for k in 0..5 {
            assert_eq!(
                tr.handle_beacon(t0 + secs(1) + secs(15) * k, IOC, &old),
                None
            );
        }
    }

    #[test]
    fn address_and_port_fields_identify_the_server() {
        let t0 = base();
        let mut tr = BeaconTracker::new(t0);
        let mut b = beacon(1);
        b.server_addr = u32::from(Ipv4Addr::new(192, 168, 5, 5));
        b.server_port = 0; // old server: default port
        tr.handle_beacon(t0, IOC, &b);
        let key = SocketAddrV4::new(Ipv4Addr::new(192, 168, 5, 5), 5064);
        assert!(tr.forget(key));
        assert!(!tr.forget(key));
    }

    #[test]
    fn memory_is_bounded() {
        let t0 = base();
        let mut tr = BeaconTracker::with_config(
            t0,
            BeaconTrackerConfig {
                default_server_port: 5064,
                max_servers: 100,
                forget_after: secs(60),
            },
        );
        for i in 0..1000u32 {
            let from = SocketAddrV4::new(Ipv4Addr::from(0x0a00_0000 + i), 5000);
            tr.handle_beacon(t0 + ms(u64::from(i)), from, &beacon(1));
        }
        assert_eq!(tr.server_count(), 100);
        // Silent servers are forgotten.
        let later = t0 + secs(120);
        let from = SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 5000);
        tr.handle_beacon(later, from, &beacon(1));
        assert_eq!(tr.server_count(), 1);
    }

    #[test]
    fn datagrams_are_decoded() {
        let t0 = base();
        let mut tr = BeaconTracker::new(t0);
        let d = hex("000d0000000d61e80000000000000000");
        let from = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 44090);
        assert_eq!(tr.handle_datagram(t0 + secs(100), from, &d).unwrap(), None);
        let d2 = hex("000d0000000d61e80000000100000000");
        let a = tr
            .handle_datagram(t0 + secs(100) + ms(60), from, &d2)
            .unwrap();
        assert_eq!(
            a,
            Some(BeaconAnomaly {
                server: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 25064),
                reason: AnomalyReason::NewServer,
                beacon_id: 1
            })
        );
        // Search replies are ignored; garbage is an error.
        let reply = hex("0006000861e80000ffffffff00000001000d000000000000");
        assert_eq!(
            tr.handle_datagram(t0 + secs(101), from, &reply).unwrap(),
            None
        );
        assert!(tr
            .handle_datagram(t0 + secs(101), from, &hex("000d00"))
            .is_err());
        // encode/decode round trip
        let mut v = Vec::new();
        ServerMessage::Beacon {
            minor_version: 13,
            server_port: 25064,
            beacon_id: 1,
            server_addr: 0,
        }
        .encode(&mut v);
        assert_eq!(v, d2);
    }
}
