//! The client's name resolution: [`SearchEngine`].
//!
//! (The algorithm is documented on [`SearchEngine`].)

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::{for_each_server_message, SEQUENCE_NO_IS_VALID};
use crate::config::ClientConfig;
use crate::error::{ProtocolError, UsageError};
use crate::ids::Cid;
use crate::wire::{
    padded_len, validate_name, Command, Header, ServerMessage, ADDR_FROM_SENDER, DONT_REPLY,
    HEADER_SIZE, MAX_UDP_SEND,
};
use crate::CA_MINOR_VERSION;

/// Lower bound of the search round-trip estimate, and its initial value
/// (libca `udpiiu.h` `minRoundTripEstimate`, 32 ms).
pub const MIN_ROUND_TRIP_ESTIMATE: Duration = Duration::from_millis(32);

/// Upper bound of a measured search round trip (libca `udpiiu.h`
/// `maxRoundTripEstimate`, 30 s).
pub const MAX_ROUND_TRIP_ESTIMATE: Duration = Duration::from_secs(30);

/// Search period that channels are moved down to after a beacon anomaly
/// (libca `udpiiu.h` `beaconAnomalySearchPeriod`, 5 s; the level used is
/// `floor(log2(5 s / 32 ms) + 1)` = 8, period 8.2 s).
pub const BEACON_ANOMALY_SEARCH_PERIOD: Duration = Duration::from_secs(5);

/// Most datagrams one level sends per expiry (libca `searchTimer.cpp`
/// `maxTriesPerFrame`).
pub const MAX_FRAMES_PER_TRY: u32 = 64;

/// Datagrams per expiry at start (libca `searchTimer.cpp`
/// `initialTriesPerFrame`).
const INITIAL_FRAMES_PER_TRY: f64 = 1.0;

/// Most levels libca supports (`nciu.h`: `cs_searchReqPending0` to
/// `cs_searchReqPending16`).
const MAX_LEVELS: usize = 17;

/// Datagrams built but not yet taken by [`SearchEngine::poll_transmit`]
/// beyond which no more are built (a caller that never drains must not make
/// the engine grow). Not in libca, which sends as it builds.
const MAX_QUEUED_DATAGRAMS: usize = 1024;

/// Weight of a new RTT sample in the mean (libca `udpiiu.cpp` `updateRTTE`).
const RTTE_GAIN: f64 = 0.125;

/// Weight of a new deviation sample (libca `udpiiu.cpp` `updateRTTE`).
const RTTE_DEV_GAIN: f64 = 0.25;

/// Minor version below which a search reply carries no server port and the
/// default server port is assumed (`caProto.h` `CA_V45`).
const MINOR_WITH_PORT: u16 = 5;

/// Minor version from which a search reply carries the server address in
/// `parameter1` (`caProto.h` `CA_V48`).
const MINOR_WITH_ADDR: u16 = 8;

/// Settings of a [`SearchEngine`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchConfig {
    /// `EPICS_CA_MAX_SEARCH_PERIOD` (values below 60 s are raised to 60 s).
    pub max_search_period: Duration,
    /// `EPICS_CA_SERVER_PORT`: the port assumed for servers older than
    /// CA 4.5, whose replies carry none.
    pub server_port: u16,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            max_search_period: crate::config::DEFAULT_MAX_SEARCH_PERIOD,
            server_port: crate::DEFAULT_SERVER_PORT,
        }
    }
}

impl From<&ClientConfig> for SearchConfig {
    fn from(c: &ClientConfig) -> Self {
        SearchConfig {
            max_search_period: c.max_search_period,
            server_port: c.server_port,
        }
    }
}

/// What the [`SearchEngine`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchEvent {
    /// A server has the channel. The channel is no longer searched.
    Found {
        /// The channel.
        cid: Cid,
        /// Its name.
        name: String,
        /// The server's TCP address: the address in the reply, or the
        /// reply's sender when the reply says [`ADDR_FROM_SENDER`] (or is
        /// from a server older than CA 4.8).
        server: SocketAddrV4,
        /// The server's minor protocol version (0 when the reply carried
        /// none, `CA_UKN_MINOR_VERSION`).
        minor_version: u16,
    },
}

/// The client's search state machine: which names are unresolved, when to
/// search them again, and what the replies say.
///
/// # Driving contract
///
/// | class | methods |
/// |---|---|
/// | commands | [`add`](Self::add), [`cancel`](Self::cancel), [`search_now`](Self::search_now), [`reset_backoff`](Self::reset_backoff), [`beacon_anomaly`](Self::beacon_anomaly) |
/// | inputs | [`handle_datagram`](Self::handle_datagram), [`handle_timeout`](Self::handle_timeout) |
/// | outputs | [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout) |
///
/// After every command or input, drain `poll_transmit` (send each datagram
/// to every address of the search address list, as libca does) and
/// `poll_event`, then sleep until `poll_timeout` and call `handle_timeout`.
/// `poll_transmit` runs due timers itself, so a caller that only calls it
/// at `poll_timeout` is also correct. `now` must never go backwards.
///
/// # Algorithm (libca `searchTimer.cpp`, `udpiiu.cpp`)
///
/// Unresolved channels sit on *levels* 0..N. Level `i` is a timer with
/// period `2^i × RTTE`, where RTTE is the search round-trip estimate (mean +
/// 4 × mean deviation of measured reply delays, each clamped to
/// [`MIN_ROUND_TRIP_ESTIMATE`]..=[`MAX_ROUND_TRIP_ESTIMATE`]; it starts at 32
/// ms). N is `1 + floor(log2(max_search_period / 32 ms))`, 14 for the
/// default 300 s. When a level's timer expires:
///
/// 1. channels it searched last time and that got no reply move to level
///    `i + 1` (the last level keeps them): the per-channel interval doubles
///    (32 ms, 64 ms, 128 ms, ...);
/// 2. if any reply came in on a level above the *beacon anomaly level*
///    (the first level whose period reaches
///    [`BEACON_ANOMALY_SEARCH_PERIOD`], level 8), its waiting channels are
///    boosted down to that level;
/// 3. the number of datagrams this level may send per expiry
///    ("frames per try", 1 to [`MAX_FRAMES_PER_TRY`]) adapts like TCP's
///    congestion window: when every search of the last round was answered it
///    doubles up to a threshold, then grows by `1 / frames`; when any went
///    unanswered the threshold becomes half the current value and frames
///    per try drops to 1 (the active branch of libca's
///    `searchTimer::expire`);
/// 4. waiting channels are packed, as many names per datagram as fit in
///    [`MAX_UDP_SEND`] bytes behind one VERSION message carrying the
///    datagram sequence number, up to frames-per-try datagrams.
///
/// A reply counts for the RTT estimate and the success tally only if its
/// sequence number falls in the range of datagrams that level sent last
/// (late replies to older rounds do not reset anything). When every search
/// of a round has been answered and channels are still waiting, the level
/// fires again at once. [`Self::beacon_anomaly`] moves every
/// channel above the beacon anomaly level down to it, so a restarted server
/// is found within seconds rather than minutes.
///
/// Every step costs time proportional to the channels it moves or sends,
/// never to all pending channels: 100,000 unresolved names cost nothing per
/// tick beyond the datagrams actually built.
///
/// # Differences from libca, on purpose
///
/// - libca's level timers run all the time, so a new channel waits up to
///   32 ms for level 0's next tick. Here a level with nothing to do has no
///   timer, and when channels arrive on an idle level it fires at once:
///   the first search of [`Self::add`] goes out on the next
///   [`Self::poll_transmit`]. Names added together before the
///   caller drains `poll_transmit` are still bundled. The retry times that
///   follow are libca's (32, 96, 224, 480 ms ... after the first search,
///   as in the `not-found` capture).
/// - libca bounds the longest interval only through the number of levels,
///   assuming a 32 ms RTTE (so 262 s for the 300 s default); here the
///   interval is also capped at `max_search_period` when the RTTE is larger.
/// - A found channel leaves the engine; libca keeps it through the TCP
///   connect and the disconnect governor. After a failed connect or a lost
///   circuit, `add` it again.
#[derive(Debug)]
pub struct SearchEngine {
    channels: HashMap<Cid, Channel>,
    levels: Vec<Level>,
    anomaly_level: usize,
    max_search_period: Duration,
    server_port: u16,
    /// Round-trip estimate, mean and mean deviation, in seconds.
    rtte_mean: f64,
    rtte_dev: f64,
    /// Sequence number of the next datagram (libca starts at 1).
    seq: u32,
    next_token: u64,
    outgoing: VecDeque<Vec<u8>>,
    events: VecDeque<SearchEvent>,
}

#[derive(Debug)]
struct Channel {
    name: Box<str>,
    level: usize,
    list: List,
    /// Identifies this channel's current queue entry; stale entries (of a
    /// cancelled or moved channel) carry another token and are skipped.
    token: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    /// Waiting to be searched (libca `chanListReqPending`).
    Request,
    /// Searched, waiting for a reply (libca `chanListRespPending`).
    Response,
}

#[derive(Debug)]
struct Level {
    deadline: Option<Instant>,
    request: VecDeque<(Cid, u64)>,
    request_count: usize,
    response: Vec<(Cid, u64)>,
    response_count: usize,
    frames_per_try: f64,
    congestion_threshold: f64,
    attempts: u32,
    responses: u32,
    /// Sequence numbers of the datagrams sent on the last expiry.
    sent_seqs: Option<(u32, u32)>,
    time_at_last_send: Option<Instant>,
    /// Replies on this level boost its waiting channels to the anomaly
    /// level (true above the anomaly level).
    boost_possible: bool,
}

impl Level {
    fn new(boost_possible: bool) -> Self {
        Level {
            deadline: None,
            request: VecDeque::new(),
            request_count: 0,
            response: Vec::new(),
            response_count: 0,
            frames_per_try: INITIAL_FRAMES_PER_TRY,
            congestion_threshold: f64::MAX,
            attempts: 0,
            responses: 0,
            sent_seqs: None,
            time_at_last_send: None,
            boost_possible,
        }
    }

    fn is_idle(&self) -> bool {
        self.request_count == 0 && self.response_count == 0
    }
}

impl Default for SearchEngine {
    fn default() -> Self {
        SearchEngine::new(SearchConfig::default())
    }
}

impl SearchEngine {
    /// A new engine with nothing to search.
    pub fn new(config: SearchConfig) -> Self {
        let max_search_period = config
            .max_search_period
            .max(crate::config::MIN_MAX_SEARCH_PERIOD);
        // libca udpiiu.cpp getNTimers: 1 + log2(maxPeriod / minRoundTripEstimate).
        let n_levels = (1 + doublings_within(max_search_period)).min(MAX_LEVELS);
        // libca udpiiu.cpp: beaconAnomalyTimerIndex = log2(5 s / 32 ms) + 1.
        let anomaly_level = (1 + doublings_within(BEACON_ANOMALY_SEARCH_PERIOD)).min(n_levels - 1);
        SearchEngine {
            channels: HashMap::new(),
            levels: (0..n_levels)
                .map(|i| Level::new(i > anomaly_level))
                .collect(),
            anomaly_level,
            max_search_period,
            server_port: config.server_port,
            rtte_mean: MIN_ROUND_TRIP_ESTIMATE.as_secs_f64(),
            rtte_dev: 0.0,
            seq: 1,
            next_token: 0,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts searching for `name` on behalf of channel `cid`.
    ///
    /// The name is checked as libca checks it (not empty, no NUL, short
    /// enough for one datagram). If `cid` is already being searched, its
    /// name is replaced and its backoff starts again.
    pub fn add(&mut self, now: Instant, cid: Cid, name: &str) -> Result<(), UsageError> {
        validate_name(name)?;
        self.cancel(cid);
        self.channels.insert(
            cid,
            Channel {
                name: name.into(),
                level: 0,
                list: List::Request,
                token: 0,
            },
        );
        self.install_request(0, cid, now);
        // A new name goes out at once when nothing searched on the first
        // level awaits a reply: a program connecting names one after the
        // other then pays a round trip each, not a timer period each
        // (libca waits for the rest of the 32 ms period). Names whose
        // search is unanswered still hold the rest back to the timer, so a
        // burst of unknown names costs no more datagrams than in libca.
        if let Some(level) = self.levels.first_mut() {
            if level.response_count == 0 && level.deadline.is_some_and(|d| d > now) {
                level.deadline = Some(now);
            }
        }
        Ok(())
    }

    /// Stops searching for `cid`. Returns false if it was not being
    /// searched. A reply that arrives later for it is ignored.
    pub fn cancel(&mut self, cid: Cid) -> bool {
        match self.channels.remove(&cid) {
            Some(chan) => {
                self.uncount(&chan);
                true
            }
            None => false,
        }
    }

    /// Searches every pending channel again at once, from the shortest
    /// interval (e.g. after the network came back or the address list
    /// changed).
    pub fn search_now(&mut self, now: Instant) {
        let mut all = Vec::with_capacity(self.channels.len());
        for level in &mut self.levels {
            all.append(&mut level.response);
            all.extend(level.request.drain(..));
            level.request_count = 0;
            level.response_count = 0;
            level.attempts = 0;
            level.responses = 0;
            level.deadline = None;
        }
        for (cid, token) in all {
            if self.is_current(cid, token) {
                self.install_request(0, cid, now);
            }
        }
    }

    /// Restarts the backoff of one channel: it is searched on the next tick
    /// of the shortest interval. Returns false if `cid` is not being
    /// searched.
    pub fn reset_backoff(&mut self, now: Instant, cid: Cid) -> bool {
        match self.channels.get(&cid) {
            Some(chan) => {
                let chan_ref = (chan.level, chan.list);
                self.uncount_at(chan_ref);
                self.install_request(0, cid, now);
                true
            }
            None => false,
        }
    }

    /// A beacon anomaly was detected ([`super::BeaconTracker`]): channels
    /// that have backed off beyond the beacon anomaly level move down to it,
    /// so they are searched within seconds (libca `udpiiu.cpp`
    /// `beaconAnomalyNotify`, `searchTimer.cpp` `moveChannels`).
    pub fn beacon_anomaly(&mut self, now: Instant) {
        let target = self.anomaly_level;
        for i in (target + 1)..self.levels.len() {
            let Some(level) = self.levels.get_mut(i) else {
                continue;
            };
            let response = std::mem::take(&mut level.response);
            let request = std::mem::take(&mut level.request);
            level.request_count = 0;
            level.response_count = 0;
            for (cid, token) in response {
                if self.is_current(cid, token) {
                    if let Some(level) = self.levels.get_mut(i) {
                        level.attempts = level.attempts.saturating_sub(1);
                    }
                    self.install_request(target, cid, now);
                }
            }
            for (cid, token) in request {
                if self.is_current(cid, token) {
                    self.install_request(target, cid, now);
                }
            }
        }
    }

    /// Handles a datagram from `from` (a server, or the repeater).
    ///
    /// SEARCH replies for channels being searched produce
    /// [`SearchEvent::Found`]; replies for unknown or cancelled channels,
    /// NOT_FOUND, beacons, repeater confirmations and every other
    /// well-formed message are ignored. A malformed message ends the
    /// datagram with an error; the messages before it have been handled.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        bytes: &[u8],
    ) -> Result<(), ProtocolError> {
        // libca udpiiu.cpp postMsg/versionAction: the sequence number is
        // per datagram.
        let mut seq: Option<u32> = None;
        for_each_server_message(bytes, |_, msg| match msg {
            ServerMessage::Version {
                priority, sequence, ..
            } if priority & SEQUENCE_NO_IS_VALID != 0 => seq = Some(sequence),
            ServerMessage::SearchResponse {
                port,
                server_addr,
                cid,
                minor_version,
            } => self.found(now, from, port, server_addr, cid, minor_version, seq),
            _ => {}
        })
    }

    /// The earliest time at which [`handle_timeout`](Self::handle_timeout)
    /// has work, or `None` when nothing is being searched.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.levels.iter().filter_map(|l| l.deadline).min()
    }

    /// Runs every level whose timer is due at `now`, building the datagrams
    /// that [`poll_transmit`](Self::poll_transmit) hands out.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(i) = self
            .levels
            .iter()
            .position(|l| l.deadline.is_some_and(|d| d <= now))
        {
            self.expire(i, now);
        }
    }

    /// Writes the next search datagram into `out` (replacing its contents)
    /// and returns true, or returns false when there is none. Runs due
    /// timers first.
    ///
    /// The datagram is a VERSION message (flag 1: "sequence number valid",
    /// minor version 13, the datagram's sequence number) followed by SEARCH
    /// requests (DONT_REPLY, minor version 13, the cid in both parameters),
    /// at most [`MAX_UDP_SEND`] bytes, exactly as libca builds them. Send it
    /// to every address of the search list.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        self.handle_timeout(now);
        match self.outgoing.pop_front() {
            Some(datagram) => {
                *out = datagram;
                true
            }
            None => false,
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SearchEvent> {
        self.events.pop_front()
    }

    /// Number of channels being searched.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// True if no channel is being searched.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// True if `cid` is being searched.
    pub fn contains(&self, cid: Cid) -> bool {
        self.channels.contains_key(&cid)
    }

    /// The current search round-trip estimate (mean + 4 deviations), which
    /// scales every level's period.
    pub fn round_trip_estimate(&self) -> Duration {
        Duration::from_secs_f64(self.rtte())
    }

    fn rtte(&self) -> f64 {
        self.rtte_mean + 4.0 * self.rtte_dev
    }

    /// Period of level `i`: `2^i × RTTE`, capped at the maximum search
    /// period (libca `searchTimer.cpp` `period`).
    fn period(&self, i: usize) -> Duration {
        let secs = self.rtte() * f64::from(1u32 << i.min(31));
        let max = self.max_search_period.as_secs_f64();
        Duration::from_secs_f64(secs.min(max))
    }

    /// libca `udpiiu.cpp` `updateRTTE`.
    fn update_rtte(&mut self, measured: Duration) {
        let measured = measured
            .clamp(MIN_ROUND_TRIP_ESTIMATE, MAX_ROUND_TRIP_ESTIMATE)
            .as_secs_f64();
        let error = measured - self.rtte_mean;
        self.rtte_mean += RTTE_GAIN * error;
        self.rtte_dev += RTTE_DEV_GAIN * (error.abs() - self.rtte_dev);
    }

    fn is_current(&self, cid: Cid, token: u64) -> bool {
        self.channels.get(&cid).is_some_and(|c| c.token == token)
    }

    /// Forgets the list membership of a channel being removed or moved.
    fn uncount(&mut self, chan: &Channel) {
        self.uncount_at((chan.level, chan.list));
    }

    fn uncount_at(&mut self, (level, list): (usize, List)) {
        if let Some(l) = self.levels.get_mut(level) {
            match list {
                List::Request => l.request_count = l.request_count.saturating_sub(1),
                List::Response => l.response_count = l.response_count.saturating_sub(1),
            }
        }
    }

    /// Puts `cid` (already in `channels`) at the back of level `i`'s request
    /// list, arming the level at `now` if it was idle.
    fn install_request(&mut self, i: usize, cid: Cid, now: Instant) {
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        let Some(chan) = self.channels.get_mut(&cid) else {
            return;
        };
        chan.level = i;
        chan.list = List::Request;
        chan.token = token;
        let Some(level) = self.levels.get_mut(i) else {
            return;
        };
        level.request.push_back((cid, token));
        level.request_count += 1;
        if level.deadline.is_none() {
            level.deadline = Some(now);
        }
        // Drop stale entries once they outnumber live ones.
        if level.request.len() > 2 * level.request_count + 64 {
            let channels = &self.channels;
            level
                .request
                .retain(|(c, t)| channels.get(c).is_some_and(|ch| ch.token == *t));
        }
    }

    /// libca `searchTimer::expire` for level `i`.
    fn expire(&mut self, i: usize, now: Instant) {
        let last = self.levels.len().saturating_sub(1);
        let Some(level) = self.levels.get_mut(i) else {
            return;
        };
        // 1. No reply: back off to the next level (libca noSearchRespNotify).
        let unanswered = std::mem::take(&mut level.response);
        level.response_count = 0;
        for (cid, token) in unanswered {
            if self.is_current(cid, token) {
                self.install_request((i + 1).min(last), cid, now);
            }
        }

        let Some(level) = self.levels.get_mut(i) else {
            return;
        };
        level.time_at_last_send = Some(now);

        // 2. Some success on a slow level: boost its waiting channels.
        if level.responses > 0 && level.boost_possible {
            let waiting = std::mem::take(&mut level.request);
            level.request_count = 0;
            for (cid, token) in waiting {
                if self.is_current(cid, token) {
                    self.install_request(self.anomaly_level, cid, now);
                }
            }
        }

        let Some(level) = self.levels.get_mut(i) else {
            return;
        };
        // 3. Adapt the frames per try.
        if level.attempts > 0 {
            if level.responses == level.attempts {
                if level.frames_per_try < f64::from(MAX_FRAMES_PER_TRY) {
                    if level.frames_per_try < level.congestion_threshold {
                        let doubled = 2.0 * level.frames_per_try;
                        level.frames_per_try = doubled.min(level.congestion_threshold);
                    } else {
                        level.frames_per_try += 1.0 / level.frames_per_try;
                    }
                }
            } else {
                level.congestion_threshold = level.frames_per_try / 2.0;
                level.frames_per_try = INITIAL_FRAMES_PER_TRY;
            }
        }
        level.attempts = 0;
        level.responses = 0;
        let frames_per_try = level.frames_per_try;

        // 4. Send: at most ceil(frames per try) datagrams (libca flushes a
        // full datagram and goes on while fewer than frames-per-try were
        // sent), and never more than the outgoing queue has room for.
        let budget = (frames_per_try.ceil() as usize)
            .min(MAX_QUEUED_DATAGRAMS.saturating_sub(self.outgoing.len()));
        let first_seq = self.seq;
        let mut frames_sent = 0usize;
        let mut datagram = start_datagram(self.seq);
        while frames_sent < budget {
            let Some(level) = self.levels.get_mut(i) else {
                break;
            };
            let Some((cid, token)) = level.request.pop_front() else {
                break;
            };
            let Some(chan) = self.channels.get_mut(&cid).filter(|c| c.token == token) else {
                continue; // stale entry
            };
            if datagram.len() + search_len(&chan.name) > MAX_UDP_SEND {
                self.outgoing.push_back(datagram);
                self.seq = self.seq.wrapping_add(1);
                frames_sent += 1;
                datagram = start_datagram(self.seq);
                if frames_sent >= budget {
                    level.request.push_front((cid, token));
                    break;
                }
            }
            push_search(&mut datagram, cid, &chan.name);
            chan.list = List::Response;
            level.request_count = level.request_count.saturating_sub(1);
            level.response.push((cid, token));
            level.response_count += 1;
            level.attempts = level.attempts.saturating_add(1);
        }
        // Flush the last datagram, unless it holds only its VERSION message.
        if datagram.len() > HEADER_SIZE {
            self.outgoing.push_back(datagram);
            self.seq = self.seq.wrapping_add(1);
            frames_sent += 1;
        }

        let period = self.period(i);
        let Some(level) = self.levels.get_mut(i) else {
            return;
        };
        level.sent_seqs = (frames_sent > 0).then(|| (first_seq, self.seq.wrapping_sub(1)));
        level.deadline = if level.is_idle() {
            None
        } else {
            Some(now + period)
        };
    }

    /// libca `udpiiu.cpp` `searchRespAction` and `searchTimer.cpp`
    /// `uninstallChanDueToSuccessfulSearchResponse`.
    #[allow(clippy::too_many_arguments)]
    fn found(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        port: u16,
        server_addr: u32,
        cid: Cid,
        minor_version: Option<u16>,
        seq: Option<u32>,
    ) {
        let Some(chan) = self.channels.remove(&cid) else {
            return; // unknown, cancelled, or already found
        };
        self.uncount(&chan);
        let minor = minor_version.unwrap_or(0);
        let server = if minor >= MINOR_WITH_ADDR {
            let ip = if server_addr == ADDR_FROM_SENDER {
                *from.ip()
            } else {
                Ipv4Addr::from(server_addr)
            };
            SocketAddrV4::new(ip, port)
        } else if minor >= MINOR_WITH_PORT {
            SocketAddrV4::new(*from.ip(), port)
        } else {
            SocketAddrV4::new(*from.ip(), self.server_port)
        };

        let i = chan.level;
        let (valid, last_send) = match self.levels.get(i) {
            Some(level) => (
                match seq {
                    None => true,
                    Some(s) => level
                        .sent_seqs
                        .is_some_and(|(b, e)| s.wrapping_sub(b) <= e.wrapping_sub(b)),
                },
                level.time_at_last_send,
            ),
            None => (false, None),
        };
        if valid {
            if let Some(t) = last_send {
                self.update_rtte(now.saturating_duration_since(t));
            }
            if let Some(level) = self.levels.get_mut(i) {
                level.responses = level.responses.saturating_add(1);
                // 100% success and more waiting: search again at once.
                if level.responses == level.attempts && level.request_count > 0 {
                    level.deadline = Some(now);
                }
            }
        }
        self.events.push_back(SearchEvent::Found {
            cid,
            name: chan.name.into_string(),
            server,
            minor_version: minor,
        });
    }
}

/// How many times the minimum round-trip estimate can double within `d`:
/// the largest `j` with `32 ms × 2^j <= d`.
fn doublings_within(d: Duration) -> usize {
    let unit = MIN_ROUND_TRIP_ESTIMATE.as_nanos();
    let mut j = 0;
    while j < 62 && unit << (j + 1) <= d.as_nanos() {
        j += 1;
    }
    j
}

/// A datagram holding only its VERSION message (libca `udpiiu.cpp`
/// `pushVersionMsg`).
fn start_datagram(seq: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_UDP_SEND);
    Header {
        command: Command::VERSION,
        payload_size: 0,
        data_type: SEQUENCE_NO_IS_VALID,
        data_count: u32::from(CA_MINOR_VERSION),
        parameter1: seq,
        parameter2: 0,
    }
    .encode(&mut out);
    out
}

/// Encoded size of one SEARCH request.
fn search_len(name: &str) -> usize {
    HEADER_SIZE + padded_len(name.len() + 1)
}

/// Appends a SEARCH request (libca `udpiiu.cpp` `searchMsg`).
fn push_search(out: &mut Vec<u8>, cid: Cid, name: &str) {
    let payload = padded_len(name.len() + 1);
    Header {
        command: Command::SEARCH,
        payload_size: payload as u32,
        data_type: DONT_REPLY,
        data_count: u32::from(CA_MINOR_VERSION),
        parameter1: cid.0,
        parameter2: cid.0,
    }
    .encode(out);
    out.extend_from_slice(name.as_bytes());
    out.resize(out.len() + payload - name.len(), 0);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::udp::SearchResponder;
    use crate::wire::{datagram_frames, ClientMessage, Message};

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 25064);

    /// Drains every datagram due at `now`.
    fn drain(e: &mut SearchEngine, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut v = Vec::new();
        while e.poll_transmit(now, &mut v) {
            out.push(std::mem::take(&mut v));
        }
        out
    }

    fn searched_cids(datagram: &[u8]) -> Vec<u32> {
        datagram_frames(datagram, 1 << 16)
            .filter_map(|f| {
                let (h, p) = f.unwrap();
                match ClientMessage::decode(&h, p).unwrap() {
                    ClientMessage::Search { cid, .. } => Some(cid.0),
                    _ => None,
                }
            })
            .collect()
    }

    fn events(e: &mut SearchEngine) -> Vec<SearchEvent> {
        std::iter::from_fn(|| e.poll_event()).collect()
    }

    /// Answers every name of every datagram like rsrv would.
    fn answer(e: &mut SearchEngine, now: Instant, datagrams: &[Vec<u8>]) {
        let responder = SearchResponder::new(25064);
        for d in datagrams {
            for reply in responder.respond(SERVER, d, |_| true).unwrap() {
                e.handle_datagram(now, SERVER, &reply).unwrap();
            }
        }
    }

    #[test]
    fn bundle_matches_the_libca_capture() {
        // get-native.pcap: caget of 11 PVs, one datagram.
        let captured = hex("000000000001000d0000000100000000\
             000600080005000d0000000100000001743a616f00000000\
             000600080005000d0000000200000002743a616900000000\
             000600080005000d0000000300000003743a626f00000000\
             000600080005000d0000000400000004743a6d62626f0000\
             000600080005000d0000000500000005743a737472000000\
             000600080005000d0000000600000006743a6c6f6e670000\
             000600080005000d0000000700000007743a73686f727400\
             000600080005000d0000000800000008743a666c6f617400\
             000600080005000d0000000900000009743a636861720000\
             000600080005000d0000000a0000000a743a776600000000\
             000600080005000d0000000b0000000b743a637766000000");
        let t0 = base();
        let mut e = SearchEngine::default();
        let names = [
            "t:ao", "t:ai", "t:bo", "t:mbbo", "t:str", "t:long", "t:short", "t:float", "t:char",
            "t:wf", "t:cwf",
        ];
        for (i, n) in names.iter().enumerate() {
            e.add(t0, Cid(i as u32 + 1), n).unwrap();
        }
        let sent = drain(&mut e, t0);
        assert_eq!(sent, vec![captured]);
        // The engine's search request is byte-identical to the wire codec's.
        let mut one = Vec::new();
        push_search(&mut one, Cid(1), "t:ao");
        let mut codec = Vec::new();
        ClientMessage::Search {
            reply: DONT_REPLY,
            minor_version: 13,
            cid: Cid(1),
            name: "t:ao".into(),
        }
        .encode(&mut codec);
        assert_eq!(one, codec);
    }

    #[test]
    fn unanswered_search_backs_off_like_the_not_found_capture() {
        // not-found.pcap: sends at 0, 32, 96, 224, 480 ms with sequence
        // numbers 1..=5 and identical searches.
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "missing:one").unwrap();
        e.add(t0, Cid(2), "missing:two").unwrap();
        let mut sends = Vec::new();
        let mut now = t0;
        while now <= t0 + ms(1000) {
            for d in drain(&mut e, now) {
                sends.push((now - t0, d));
            }
            match e.poll_timeout() {
                Some(t) if t > now => now = t,
                Some(_) => unreachable!("drained"),
                None => break,
            }
        }
        let times: Vec<_> = sends.iter().take(5).map(|(t, _)| *t).collect();
        assert_eq!(times, vec![ms(0), ms(32), ms(96), ms(224), ms(480)]);
        for (k, (_, d)) in sends.iter().take(5).enumerate() {
            let want = hex(&format!(
                "000000000001000d{:08x}00000000\
                 000600100005000d00000001000000016d697373696e673a6f6e650000000000\
                 000600100005000d00000002000000026d697373696e673a74776f0000000000",
                k + 1
            ));
            assert_eq!(d, &want, "datagram {k}");
        }
    }

    #[test]
    fn backoff_doubles_to_the_maximum_period_and_stays() {
        let t0 = base();
        let mut e = SearchEngine::default();
        assert_eq!(e.levels.len(), 14);
        assert_eq!(e.anomaly_level, 8);
        e.add(t0, Cid(7), "nowhere").unwrap();
        let mut now = t0;
        let mut times = Vec::new();
        while now < t0 + Duration::from_secs(3600) {
            if !drain(&mut e, now).is_empty() {
                times.push(now);
            }
            now = e.poll_timeout().unwrap();
        }
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        for (k, g) in gaps.iter().enumerate().take(13) {
            assert_eq!(*g, ms(32) * (1 << k), "gap {k}");
        }
        // Level 13 (2^13 x 32 ms = 262.144 s) is the last one.
        assert!(gaps[13..]
            .iter()
            .all(|g| *g == Duration::from_micros(262_144_000)));
        assert!(gaps.iter().all(|g| *g <= Duration::from_secs(300)));
    }

    #[test]
    fn minimum_max_search_period_gives_fewer_levels() {
        let e = SearchEngine::new(SearchConfig {
            max_search_period: Duration::from_secs(10),
            server_port: 5064,
        });
        // Raised to 60 s: 1 + floor(log2(60 / 0.032)) = 11 levels.
        assert_eq!(e.levels.len(), 11);
        assert!(e.period(10) <= Duration::from_secs(60));
    }

    #[test]
    fn reply_with_addr_from_sender_resolves_to_the_sender() {
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "t:ao").unwrap();
        e.add(t0, Cid(2), "t:ai").unwrap();
        assert_eq!(drain(&mut e, t0).len(), 1);
        // rsrv reply (get-native.pcap) for cids 1 and 2, server port 25064.
        let reply = hex("000000000001000d0000000100000000\
             0006000861e80000ffffffff00000001000d000000000000\
             0006000861e80000ffffffff00000002000d000000000000");
        let from = SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 25064);
        e.handle_datagram(t0 + ms(1), from, &reply).unwrap();
        let server = SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 25064);
        assert_eq!(
            events(&mut e),
            vec![
                SearchEvent::Found {
                    cid: Cid(1),
                    name: "t:ao".into(),
                    server,
                    minor_version: 13
                },
                SearchEvent::Found {
                    cid: Cid(2),
                    name: "t:ai".into(),
                    server,
                    minor_version: 13
                },
            ]
        );
        assert!(e.is_empty());
        assert_eq!(e.poll_timeout(), Some(t0 + ms(32)));
        // Nothing left to search: the level goes idle.
        assert!(drain(&mut e, t0 + ms(32)).is_empty());
        assert_eq!(e.poll_timeout(), None);
        // A second reply for the same cid is ignored.
        e.handle_datagram(t0 + ms(40), from, &reply).unwrap();
        assert!(events(&mut e).is_empty());
    }

    #[test]
    fn reply_with_explicit_address_and_old_servers() {
        let t0 = base();
        let mut e = SearchEngine::default();
        for c in 1..=3 {
            e.add(t0, Cid(c), &format!("pv{c}")).unwrap();
        }
        drain(&mut e, t0);
        let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 5064);
        let mut d = Vec::new();
        // minor 13, explicit address 192.168.1.7, port 6000
        crate::wire::Message::encode(
            &ServerMessage::SearchResponse {
                port: 6000,
                server_addr: u32::from(Ipv4Addr::new(192, 168, 1, 7)),
                cid: Cid(1),
                minor_version: Some(13),
            },
            &mut d,
        );
        // minor 6: address ignored, port kept
        crate::wire::Message::encode(
            &ServerMessage::SearchResponse {
                port: 6001,
                server_addr: 0x0102_0304,
                cid: Cid(2),
                minor_version: Some(6),
            },
            &mut d,
        );
        // no minor version: the sender and the default port
        crate::wire::Message::encode(
            &ServerMessage::SearchResponse {
                port: 6002,
                server_addr: 0x0102_0304,
                cid: Cid(3),
                minor_version: None,
            },
            &mut d,
        );
        e.handle_datagram(t0, from, &d).unwrap();
        let servers: Vec<_> = events(&mut e)
            .into_iter()
            .map(|ev| match ev {
                SearchEvent::Found {
                    server,
                    minor_version,
                    ..
                } => (server.to_string(), minor_version),
            })
            .collect();
        assert_eq!(
            servers,
            vec![
                ("192.168.1.7:6000".to_string(), 13),
                ("10.0.0.1:6001".to_string(), 6),
                ("10.0.0.1:5064".to_string(), 0),
            ]
        );
    }

    #[test]
    fn unknown_and_cancelled_cids_are_ignored() {
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "a").unwrap();
        e.add(t0, Cid(2), "b").unwrap();
        assert!(e.cancel(Cid(2)));
        assert!(!e.cancel(Cid(2)));
        let sent = drain(&mut e, t0);
        assert_eq!(searched_cids(&sent[0]), vec![1]);
        let mut d = Vec::new();
        for cid in [2, 99] {
            crate::wire::Message::encode(
                &ServerMessage::SearchResponse {
                    port: 5064,
                    server_addr: ADDR_FROM_SENDER,
                    cid: Cid(cid),
                    minor_version: Some(13),
                },
                &mut d,
            );
        }
        // NOT_FOUND, a beacon and a repeater confirmation are ignored too.
        crate::wire::Message::encode(
            &ServerMessage::NotFound {
                reply: crate::wire::DO_REPLY,
                minor_version: 13,
                cid: Cid(1),
            },
            &mut d,
        );
        d.extend_from_slice(&hex("000d0000000d61e80000000500000000"));
        d.extend_from_slice(&hex("00110000000000000000000000000000"));
        e.handle_datagram(t0, SERVER, &d).unwrap();
        assert!(events(&mut e).is_empty());
        assert!(e.contains(Cid(1)));
    }

    #[test]
    fn malformed_datagrams_are_errors_not_panics() {
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "a").unwrap();
        for bad in [
            hex("0006"),
            hex("0006000800000000ffffffff00000001"), // payload missing
            hex("00ff0000000000000000000000000000"), // unknown command
        ] {
            assert!(e.handle_datagram(t0, SERVER, &bad).is_err());
        }
        // Messages before the bad one take effect (libca postMsg).
        let mut d = hex("0006000861e80000ffffffff00000001000d000000000000");
        d.extend_from_slice(&hex("00ff"));
        assert!(matches!(
            e.handle_datagram(t0, SERVER, &d),
            Err(ProtocolError::TruncatedDatagram { .. })
        ));
        assert_eq!(events(&mut e).len(), 1);
    }

    #[test]
    fn bad_names_are_usage_errors() {
        let t0 = base();
        let mut e = SearchEngine::default();
        assert_eq!(e.add(t0, Cid(1), ""), Err(UsageError::EmptyName));
        assert_eq!(e.add(t0, Cid(1), "a\0b"), Err(UsageError::NameHasNul));
        assert!(e.add(t0, Cid(1), &"x".repeat(2000)).is_err());
        assert!(e.is_empty());
        // The longest legal name fits alone in one datagram.
        let longest = "x".repeat(crate::wire::MAX_NAME_LEN);
        e.add(t0, Cid(1), &longest).unwrap();
        e.add(t0, Cid(2), &longest).unwrap();
        let sent = drain(&mut e, t0);
        assert_eq!(sent.len(), 1, "one frame per try at start");
        assert_eq!(sent[0].len(), MAX_UDP_SEND);
    }

    #[test]
    fn thousand_names_bundle_into_few_datagrams() {
        let t0 = base();
        let mut e = SearchEngine::default();
        for i in 0..1000u32 {
            // 22 characters: a 40-byte SEARCH request.
            e.add(t0, Cid(i), &format!("PV:{i:04}:readback-value"))
                .unwrap();
        }
        let mut all = Vec::new();
        let mut now = t0;
        let mut ticks = 0;
        while !e.is_empty() {
            let sent = drain(&mut e, now);
            assert!(sent.len() <= MAX_FRAMES_PER_TRY as usize * e.levels.len());
            answer(&mut e, now + ms(1), &sent);
            all.extend(sent);
            now = e.poll_timeout().map_or(now, |t| t.max(now + ms(1)));
            ticks += 1;
            assert!(ticks < 100, "too many ticks");
        }
        let names: usize = all.iter().map(|d| searched_cids(d).len()).sum();
        assert_eq!(names, 1000, "every name searched exactly once");
        assert!(all.iter().all(|d| d.len() <= MAX_UDP_SEND));
        // 40-byte searches behind a 16-byte VERSION: 25 per datagram.
        assert_eq!(all.len(), 40);
        assert!(all.iter().take(39).all(|d| d.len() > MAX_UDP_SEND - 48));
        assert_eq!(events(&mut e).len(), 1000);
        // Sequence numbers are consecutive from 1.
        for (k, d) in all.iter().enumerate() {
            assert_eq!(&d[8..12], &(k as u32 + 1).to_be_bytes());
        }
    }

    #[test]
    fn frames_per_try_grows_on_success_and_collapses_on_loss() {
        let t0 = base();
        let mut e = SearchEngine::default();
        for i in 0..2000u32 {
            e.add(t0, Cid(i), &format!("name:{i:05}")).unwrap();
        }
        // Round 1: one frame. Everything answered: fire again at once, 2 frames.
        let r1 = drain(&mut e, t0);
        assert_eq!(r1.len(), 1);
        answer(&mut e, t0 + ms(1), &r1);
        assert_eq!(e.poll_timeout(), Some(t0 + ms(1)));
        let r2 = drain(&mut e, t0 + ms(1));
        assert_eq!(r2.len(), 2);
        answer(&mut e, t0 + ms(2), &r2);
        let r3 = drain(&mut e, t0 + ms(2));
        assert_eq!(r3.len(), 4);
        // Round 3 goes unanswered: at the next tick the level falls back to
        // one frame per try.
        let next = e.poll_timeout().unwrap();
        assert_eq!(next, t0 + ms(2) + e.period(0));
        let r4 = drain(&mut e, next);
        // The unanswered channels were moved to level 1 and are sent from
        // there (1 frame), and level 0 sends 1 frame.
        assert_eq!(r4.len(), 2);
        assert_eq!(e.levels[0].frames_per_try, 1.0);
        assert_eq!(e.levels[0].congestion_threshold, 2.0);
    }

    #[test]
    fn hundred_thousand_names_scale() {
        let t0 = base();
        let mut e = SearchEngine::default();
        for i in 0..100_000u32 {
            e.add(t0, Cid(i), &format!("IOC{:03}:dev{:05}:VAL", i % 500, i))
                .unwrap();
        }
        // A server that answers every name.
        let mut now = t0;
        let mut datagrams = 0usize;
        let mut ticks = 0usize;
        while !e.is_empty() {
            let sent = drain(&mut e, now);
            datagrams += sent.len();
            answer(&mut e, now + ms(1), &sent);
            now = e.poll_timeout().map_or(now, |t| t.max(now + ms(1)));
            ticks += 1;
            assert!(ticks < 10_000);
        }
        assert_eq!(events(&mut e).len(), 100_000);
        // ~30 names per datagram, and the window opened up to 64 frames.
        assert!(datagrams <= 100_000 / 25, "{datagrams}");
        assert!(e.levels[0].frames_per_try >= 64.0);
        assert!(ticks < 200, "{ticks}");
        // And with nobody answering, no tick touches more than it sends.
        let mut e = SearchEngine::default();
        for i in 0..100_000u32 {
            e.add(t0, Cid(i), &format!("IOC{:03}:dev{:05}:VAL", i % 500, i))
                .unwrap();
        }
        let mut now = t0;
        for _ in 0..2000 {
            let sent = drain(&mut e, now);
            assert!(sent.len() <= e.levels.len());
            now = e.poll_timeout().unwrap();
        }
    }

    #[test]
    fn beacon_anomaly_brings_backed_off_channels_back() {
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "later").unwrap();
        let mut now = t0;
        // Back off for ~20 minutes: the channel sits on the last level.
        while now < t0 + Duration::from_secs(1200) {
            drain(&mut e, now);
            now = e.poll_timeout().unwrap();
        }
        assert_eq!(e.channels[&Cid(1)].level, 13);
        // Between the last search (one period ago) and the next one.
        let t1 = now - ms(100_000);
        e.beacon_anomaly(t1);
        assert_eq!(e.channels[&Cid(1)].level, 8);
        // Searched at once, then 8.2 s, 16.4 s later (levels 8, 9, ...).
        let sent = drain(&mut e, t1);
        assert_eq!(sent.len(), 1);
        assert_eq!(searched_cids(&sent[0]), vec![1]);
        let next = e.poll_timeout().unwrap();
        assert_eq!(next, t1 + e.period(8));
        // A channel on a fast level is left alone.
        e.add(t1, Cid(2), "fresh").unwrap();
        e.beacon_anomaly(t1);
        assert_eq!(e.channels[&Cid(2)].level, 0);
    }

    #[test]
    fn search_now_restarts_every_backoff() {
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "a").unwrap();
        e.add(t0, Cid(2), "b").unwrap();
        let mut now = t0;
        while now < t0 + Duration::from_secs(60) {
            drain(&mut e, now);
            now = e.poll_timeout().unwrap();
        }
        assert!(e.channels[&Cid(1)].level > 5);
        let t1 = now - ms(5);
        e.search_now(t1);
        let sent = drain(&mut e, t1);
        assert_eq!(sent.len(), 1);
        assert_eq!(searched_cids(&sent[0]), vec![1, 2]);
        assert_eq!(e.poll_timeout(), Some(t1 + ms(32)));
        // reset_backoff for one channel.
        let t2 = t1 + ms(500);
        drain(&mut e, t2);
        assert!(e.reset_backoff(t2, Cid(2)));
        assert!(!e.reset_backoff(t2, Cid(3)));
        assert_eq!(e.channels[&Cid(2)].level, 0);
    }

    #[test]
    fn late_replies_do_not_count_for_the_round() {
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "a").unwrap();
        e.add(t0, Cid(2), "b").unwrap();
        drain(&mut e, t0); // seq 1, level 0
        let now = t0 + ms(32);
        drain(&mut e, now); // seq 2, level 1
                            // A reply tagged with sequence 1 (the older round) for cid 1.
        let mut d = hex("000000000001000d0000000100000000");
        d.extend_from_slice(&hex("0006000813c80000ffffffff00000001000d000000000000"));
        e.handle_datagram(now + ms(5), SERVER, &d).unwrap();
        assert_eq!(events(&mut e).len(), 1);
        assert_eq!(e.levels[1].responses, 0);
        assert_eq!(e.round_trip_estimate(), ms(32));
        // A reply for the current round counts and updates the RTT.
        let mut d = hex("000000000001000d0000000200000000");
        d.extend_from_slice(&hex("0006000813c80000ffffffff00000002000d000000000000"));
        e.handle_datagram(now + ms(100), SERVER, &d).unwrap();
        assert_eq!(e.levels[1].responses, 1);
        assert!(e.round_trip_estimate() > ms(32));
    }

    #[test]
    fn re_adding_a_cid_replaces_it() {
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "old").unwrap();
        e.add(t0, Cid(1), "new").unwrap();
        assert_eq!(e.len(), 1);
        let sent = drain(&mut e, t0);
        assert_eq!(searched_cids(&sent[0]), vec![1]);
        assert!(sent[0].windows(3).any(|w| w == b"new"));
        assert!(!sent[0].windows(3).any(|w| w == b"old"));
    }

    #[test]
    fn names_connected_one_after_another_each_go_out_at_once() {
        let t0 = base();
        let mut e = SearchEngine::default();
        e.add(t0, Cid(1), "a").unwrap();
        let first = drain(&mut e, t0);
        assert_eq!(first.len(), 1);
        answer(&mut e, t0 + ms(1), &first);
        // The level's timer still runs (due at 32 ms), but nothing awaits
        // a reply: the next name is searched at once, not at 32 ms.
        e.add(t0 + ms(2), Cid(2), "b").unwrap();
        let second = drain(&mut e, t0 + ms(2));
        assert_eq!(
            second.iter().map(|d| searched_cids(d)).collect::<Vec<_>>(),
            [vec![2]]
        );

        // An unanswered name holds later ones back to the timer.
        e.add(t0 + ms(3), Cid(3), "c").unwrap();
        assert!(drain(&mut e, t0 + ms(4)).is_empty());
        let due = e.poll_timeout().expect("the timer runs");
        assert!(due > t0 + ms(4));
        let later = drain(&mut e, due);
        let cids: Vec<u32> = later.iter().flat_map(|d| searched_cids(d)).collect();
        assert!(cids.contains(&3), "{cids:?}");
    }
}
