//! Discovery without sockets: a client SearchEngine talking to a server
//! SearchResponder, beacons from a BeaconEmitter into a BeaconTracker, all on
//! a virtual clock.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use caproto_core::udp::{
    BeaconEmitter, BeaconTracker, SearchConfig, SearchEngine, SearchEvent, SearchResponder,
};
use caproto_core::wire::{datagram_frames, ClientMessage, Message};
use caproto_core::Cid;

const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000);
const SERVER_UDP: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 25064);

/// Names searched in a datagram.
fn searched_names(datagram: &[u8]) -> Vec<String> {
    datagram_frames(datagram, 1 << 16)
        .filter_map(|f| {
            let (h, p) = f.unwrap();
            match ClientMessage::decode(&h, p).unwrap() {
                ClientMessage::Search { name, .. } => Some(name),
                _ => None,
            }
        })
        .collect()
}

struct Net {
    now: Instant,
    engine: SearchEngine,
    responder: SearchResponder,
    served: Vec<&'static str>,
    /// (time, names) of every search datagram sent.
    sent: Vec<(Duration, Vec<String>)>,
    found: Vec<(Cid, String, SocketAddrV4)>,
    start: Instant,
}

impl Net {
    fn new(served: Vec<&'static str>) -> Self {
        let now = base();
        Net {
            now,
            engine: SearchEngine::new(SearchConfig::default()),
            responder: SearchResponder::new(25064),
            served,
            sent: Vec::new(),
            found: Vec::new(),
            start: now,
        }
    }

    /// Sends whatever the engine wants to send now and delivers the replies.
    fn exchange(&mut self) {
        let mut dg = Vec::new();
        while self.engine.poll_transmit(self.now, &mut dg) {
            self.sent.push((self.now - self.start, searched_names(&dg)));
            let served = self.served.clone();
            let replies = self
                .responder
                .respond(CLIENT, &dg, |n| served.contains(&n))
                .unwrap();
            for r in replies {
                self.engine
                    .handle_datagram(self.now, SERVER_UDP, &r)
                    .unwrap();
            }
        }
        while let Some(SearchEvent::Found {
            cid, name, server, ..
        }) = self.engine.poll_event()
        {
            self.found.push((cid, name, server));
        }
    }

    /// Runs the engine's timers until `until` (virtual time since start).
    fn run_until(&mut self, until: Duration) {
        self.exchange();
        while let Some(t) = self.engine.poll_timeout() {
            if t > self.start + until {
                break;
            }
            self.now = self.now.max(t);
            self.engine.handle_timeout(self.now);
            self.exchange();
        }
        self.now = self.start + until;
    }

    fn times_searched(&self, name: &str) -> Vec<Duration> {
        self.sent
            .iter()
            .filter(|(_, names)| names.iter().any(|n| n == name))
            .map(|(t, _)| *t)
            .collect()
    }
}

#[allow(clippy::disallowed_methods)]
fn base() -> Instant {
    Instant::now()
}

#[test]
fn found_names_resolve_to_the_server_and_stop_being_searched() {
    let mut net = Net::new(vec!["t:ao", "t:ai"]);
    for (i, name) in ["t:ao", "t:ai", "t:missing"].iter().enumerate() {
        net.engine.add(net.now, Cid(i as u32 + 1), name).unwrap();
    }
    net.run_until(Duration::from_secs(10));
    let mut found: Vec<_> = net
        .found
        .iter()
        .map(|(c, n, s)| (c.0, n.as_str(), *s))
        .collect();
    found.sort();
    // ADDR_FROM_SENDER resolves to the replying address, with the TCP port
    // from the reply.
    assert_eq!(
        found,
        vec![(1, "t:ao", SERVER_UDP), (2, "t:ai", SERVER_UDP)]
    );
    assert_eq!(net.times_searched("t:ao").len(), 1);
    assert!(net.times_searched("t:missing").len() > 3);
    assert!(!net.engine.contains(Cid(1)));
    assert!(net.engine.contains(Cid(3)));
}

#[test]
fn unanswered_search_backs_off_exponentially_up_to_the_max_period() {
    let mut net = Net::new(vec![]);
    net.engine.add(net.now, Cid(1), "t:missing").unwrap();
    net.run_until(Duration::from_secs(3600));
    let times = net.times_searched("t:missing");
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() > 10, "{gaps:?}");
    // Never faster than the previous gap (backoff), never slower than
    // EPICS_CA_MAX_SEARCH_PERIOD (300 s by default).
    for w in gaps.windows(2) {
        assert!(w[1] >= w[0], "gaps shrank: {gaps:?}");
    }
    assert!(
        gaps.iter().all(|g| *g <= Duration::from_secs(300)),
        "{gaps:?}"
    );
    // It grows: the last gap is far longer than the first.
    assert!(*gaps.last().unwrap() >= gaps[0] * 64, "{gaps:?}");
}

#[test]
fn many_names_are_bundled_into_few_datagrams() {
    let mut net = Net::new(vec![]);
    for i in 0..1000u32 {
        net.engine
            .add(net.now, Cid(i), &format!("bundle:pv:{i:04}"))
            .unwrap();
    }
    net.exchange();
    let first_round: usize = net.sent.iter().map(|(_, n)| n.len()).sum();
    assert!(first_round > 0);
    let per_datagram = first_round / net.sent.len();
    assert!(per_datagram >= 20, "only {per_datagram} names per datagram");
}

#[test]
fn beacon_anomaly_after_a_server_restart_speeds_up_searching() {
    let mut net = Net::new(vec![]);
    net.engine.add(net.now, Cid(1), "t:later").unwrap();
    // Let the search back off for 20 minutes.
    net.run_until(Duration::from_secs(1200));
    let before = net.times_searched("t:later").len();

    // A server that has been beaconing at its 15 s period for a while...
    let mut tracker = BeaconTracker::new(net.start);
    let server_tcp = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 25064);
    let mut emitter = BeaconEmitter::new(net.start, 25064, Duration::from_secs(15));
    let beacon_at = |now: Instant, emitter: &mut BeaconEmitter, tracker: &mut BeaconTracker| {
        let mut anomalies = Vec::new();
        let mut dg = Vec::new();
        emitter.handle_timeout(now);
        while emitter.poll_transmit(now, &mut dg) {
            if let Some(a) = tracker.handle_datagram(now, SERVER_UDP, &dg).unwrap() {
                anomalies.push(a);
            }
        }
        anomalies
    };
    let mut t = net.start;
    while t < net.now {
        t = emitter.poll_timeout().unwrap();
        beacon_at(t, &mut emitter, &mut tracker);
    }
    // ... restarts: its ramp of fast beacons is an anomaly.
    let mut emitter = BeaconEmitter::new(net.now, 25064, Duration::from_secs(15));
    let mut anomalies = Vec::new();
    for _ in 0..4 {
        let t = emitter.poll_timeout().unwrap();
        anomalies.extend(beacon_at(t, &mut emitter, &mut tracker));
    }
    assert!(!anomalies.is_empty(), "restart not noticed");
    assert!(anomalies.iter().all(|a| a.server == server_tcp));

    net.served.push("t:later");
    net.engine.beacon_anomaly(net.now);
    let anomaly_at = net.now - net.start;
    net.run_until(anomaly_at + Duration::from_secs(10));
    assert!(net.times_searched("t:later").len() > before);
    assert_eq!(net.found.len(), 1, "found within 10 s of the anomaly");
}
