//! `caproto-shark`: reads a pcap capture of CA traffic, reassembles the TCP
//! streams and prints every CA message with its time, direction, addresses
//! and decoded fields (DBR payloads decoded), as text or one JSON object per
//! line.
//!
//! Packets are processed in capture order, so messages of different
//! connections interleave as they happened; a message is printed with the
//! time of the packet that completed it. TCP segments are put in sequence
//! order (retransmissions and overlaps trimmed, out-of-order segments held
//! up to [`MAX_PENDING_BYTES`] per direction). Bytes the capture missed
//! (a gap not filled by the end of the capture or within that limit) are
//! replaced by zeros when they lie inside one message's payload: that
//! message is printed with `missing_bytes` and not decoded, and the
//! messages after it decode normally; a gap over a header loses the
//! framing of that direction, which is reported. Nothing in a capture
//! makes this module panic.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddrV4;
use std::time::Duration;

use caproto_core::dbr::{decode, DbrData, DbrFamily, DbrType, EpicsTime};
use caproto_core::wire::{datagram_frames, ClientMessage, Command, Header, Message, ServerMessage};
use caproto_core::ProtocolError;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapParser;

use crate::format::{value_text, Style};
use crate::json;
use crate::time::{timestamp_text, TimeZone};

/// Ports that identify a CA server: the default (`caProto.h`
/// `CA_SERVER_PORT`, 5064) and 25064 (the golden captures).
pub const SERVER_PORTS: [u16; 2] = [caproto_core::DEFAULT_SERVER_PORT, 25064];

/// Ports that identify a CA repeater: the default (`caProto.h`
/// `CA_REPEATER_PORT`, 5065) and 25065 (the golden captures).
pub const REPEATER_PORTS: [u16; 2] = [caproto_core::DEFAULT_REPEATER_PORT, 25065];

/// Out-of-order bytes held per TCP direction before a gap is declared.
pub const MAX_PENDING_BYTES: usize = 64 << 20;

// Link-layer header types (tcpdump.org "LINK-LAYER HEADER TYPES").
const LINKTYPE_NULL: u32 = 0;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LOOP: u32 = 108;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_IPV4: u32 = 228;
const LINKTYPE_LINUX_SLL2: u32 = 276;

/// Options of [`run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// One JSON object per line instead of text.
    pub json: bool,
    /// Times relative to the first packet instead of UTC calendar time.
    pub relative_time: bool,
    /// Largest payload accepted (`EPICS_CA_MAX_ARRAY_BYTES` and more).
    pub max_payload: u32,
    /// Values printed per message (0: all).
    pub max_values: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            json: false,
            relative_time: false,
            max_payload: 256 << 20,
            max_values: 20,
        }
    }
}

/// What [`run`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Packets read.
    pub packets: usize,
    /// CA messages decoded and printed.
    pub messages: usize,
    /// Problems: messages that did not decode, framing lost.
    pub problems: Vec<String>,
    /// Messages the capture holds only part of (missed packets): printed
    /// with the number of missing bytes, not decoded.
    pub incomplete: Vec<String>,
}

/// A capture that cannot be read at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Not a classic pcap file.
    Format(String),
    /// A link type this reader does not know.
    UnsupportedLinkType(u32),
    /// Writing the output failed.
    Io(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Format(why) => write!(f, "not a pcap file: {why}"),
            Error::UnsupportedLinkType(t) => write!(f, "unsupported pcap link type {t}"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// Who sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sender {
    Client,
    Server,
}

/// Reads the pcap file held in `bytes` and writes every CA message to
/// `out`.
pub fn run(bytes: &[u8], options: &Options, out: &mut dyn Write) -> Result<Summary, Error> {
    let (mut rest, parser) = PcapParser::new(bytes).map_err(|e| Error::Format(e.to_string()))?;
    let link_type = u32::from(parser.header().datalink);
    if ![
        LINKTYPE_NULL,
        LINKTYPE_ETHERNET,
        LINKTYPE_RAW,
        LINKTYPE_LOOP,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_IPV4,
        LINKTYPE_LINUX_SLL2,
    ]
    .contains(&link_type)
    {
        return Err(Error::UnsupportedLinkType(link_type));
    }
    let mut shark = Shark {
        options: *options,
        summary: Summary::default(),
        flows: HashMap::new(),
        servers: HashMap::new(),
        first: None,
        last: Duration::ZERO,
    };
    while !rest.is_empty() {
        let (next, packet) = match parser.next_packet(rest) {
            Ok(ok) => ok,
            Err(e) => {
                shark
                    .summary
                    .problems
                    .push(format!("file ends inside a packet record: {e}"));
                break;
            }
        };
        rest = next;
        shark.summary.packets += 1;
        let index = shark.summary.packets;
        if packet.data.len() < packet.orig_len as usize {
            shark
                .summary
                .problems
                .push(format!("packet {index}: cut short by the snapshot length"));
        }
        shark.last = packet.timestamp;
        shark.packet(index, packet.timestamp, link_type, &packet.data, out)?;
    }
    let last = shark.last;
    shark.finish(last, out)?;
    Ok(shark.summary)
}

/// One direction of a TCP connection.
struct Flow {
    sender: Sender,
    /// Sequence number of the next byte expected.
    next_seq: Option<u32>,
    /// Segments after a gap: sequence number -> bytes.
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    /// Bytes in sequence not yet framed: `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    /// Ranges (stream offset, length) the capture missed, filled with zeros.
    holes: Vec<(u64, u64)>,
    /// Framing lost: nothing more is decoded in this direction.
    broken: bool,
}

/// A frame cut out of a TCP stream; `missing` bytes of it were not
/// captured.
struct Frame {
    header: Header,
    payload: Vec<u8>,
    missing: u64,
}

impl Flow {
    fn new(sender: Sender, next_seq: Option<u32>) -> Flow {
        Flow {
            sender,
            next_seq,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            buf: Vec::new(),
            start: 0,
            offset: 0,
            holes: Vec::new(),
            broken: false,
        }
    }

    /// Appends in-sequence bytes, then every pending segment that has
    /// become contiguous.
    fn append(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if let Some(n) = self.next_seq {
            self.next_seq = Some(n.wrapping_add(bytes.len() as u32));
        }
        while let Some(n) = self.next_seq {
            let Some(s) = self
                .pending
                .keys()
                .copied()
                .find(|&s| (s.wrapping_sub(n) as i32) <= 0)
            else {
                break;
            };
            let Some(seg) = self.pending.remove(&s) else {
                break;
            };
            self.pending_bytes = self.pending_bytes.saturating_sub(seg.len());
            let skip = n.wrapping_sub(s) as usize;
            if let Some(tail) = seg.get(skip..).filter(|t| !t.is_empty()) {
                self.buf.extend_from_slice(tail);
                self.next_seq = Some(n.wrapping_add(tail.len() as u32));
            }
        }
    }

    /// Declares the bytes up to the first pending segment missing: zeros
    /// stand in for them. False if the gap is too large to lie inside one
    /// message (framing is then lost).
    fn fill_gap(&mut self, max_payload: u32) -> bool {
        let (Some(n), Some(&s)) = (self.next_seq, self.pending.keys().next()) else {
            return false;
        };
        let gap = u64::from(s.wrapping_sub(n));
        if gap > u64::from(max_payload) + 24 {
            self.broken = true;
            return false;
        }
        let at = self.offset + (self.buf.len() - self.start) as u64;
        self.holes.push((at, gap));
        self.buf.resize(self.buf.len() + gap as usize, 0);
        self.next_seq = Some(s);
        self.append(&[]);
        true
    }

    /// Cuts every complete frame out of the buffer.
    fn frames(&mut self, max_payload: u32) -> (Vec<Frame>, Option<String>) {
        let mut out = Vec::new();
        let mut error = None;
        loop {
            let rest = self.buf.get(self.start..).unwrap_or_default();
            let Some((header, hlen)) = Header::decode(rest) else {
                break;
            };
            let overlap = |from: u64, len: u64| -> u64 {
                self.holes
                    .iter()
                    .map(|&(h, l)| (h + l).min(from + len).saturating_sub(h.max(from)))
                    .sum()
            };
            if overlap(self.offset, hlen as u64) > 0 {
                error = Some("a message header is missing from the capture".to_owned());
                self.broken = true;
                break;
            }
            if header.payload_size > max_payload {
                error = Some(format!(
                    "{} payload of {} bytes exceeds the limit of {max_payload}",
                    command_name(header.command),
                    header.payload_size
                ));
                self.broken = true;
                break;
            }
            let total = hlen + header.payload_size as usize;
            let Some(payload) = rest.get(hlen..total) else {
                break;
            };
            out.push(Frame {
                header,
                payload: payload.to_vec(),
                missing: overlap(self.offset, total as u64),
            });
            self.start += total;
            self.offset += total as u64;
        }
        if self.start > (1 << 16) && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        (out, error)
    }
}

struct Shark {
    options: Options,
    summary: Summary,
    /// (src, dst) -> flow.
    flows: HashMap<(SocketAddrV4, SocketAddrV4), Flow>,
    /// Normalised address pair -> the server's address.
    servers: HashMap<(SocketAddrV4, SocketAddrV4), SocketAddrV4>,
    first: Option<Duration>,
    /// Time of the last packet.
    last: Duration,
}

/// Where a message was seen.
struct Context {
    time: Duration,
    proto: &'static str,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    sender: Sender,
}

impl Shark {
    fn packet(
        &mut self,
        index: usize,
        time: Duration,
        link_type: u32,
        data: &[u8],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let Some(sliced) = slice_link(link_type, data) else {
            return Ok(());
        };
        let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
            return Ok(());
        };
        if ip.is_payload_fragmented() {
            self.summary
                .problems
                .push(format!("packet {index}: IPv4 fragment skipped"));
            return Ok(());
        }
        let (sip, dip) = (ip.header().source_addr(), ip.header().destination_addr());
        match &sliced.transport {
            Some(TransportSlice::Tcp(tcp)) => {
                let src = SocketAddrV4::new(sip, tcp.source_port());
                let dst = SocketAddrV4::new(dip, tcp.destination_port());
                self.tcp(
                    time,
                    src,
                    dst,
                    tcp.sequence_number(),
                    (tcp.syn(), tcp.ack(), tcp.rst()),
                    tcp.payload(),
                    out,
                )
            }
            Some(TransportSlice::Udp(udp)) => {
                let src = SocketAddrV4::new(sip, udp.source_port());
                let dst = SocketAddrV4::new(dip, udp.destination_port());
                self.udp(time, src, dst, udp.payload(), out)
            }
            _ => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        time: Duration,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        seq: u32,
        (syn, ack, rst): (bool, bool, bool),
        payload: &[u8],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let key = if src <= dst { (src, dst) } else { (dst, src) };
        if syn {
            // SYN from the client, SYN-ACK from the server.
            let server = if ack { src } else { dst };
            self.servers.insert(key, server);
        }
        let server = *self.servers.entry(key).or_insert_with(|| {
            if SERVER_PORTS.contains(&src.port()) && !SERVER_PORTS.contains(&dst.port()) {
                src
            } else if SERVER_PORTS.contains(&dst.port()) {
                dst
            } else if src.port() < dst.port() {
                src
            } else {
                dst
            }
        });
        let sender = if server == src {
            Sender::Server
        } else {
            Sender::Client
        };
        let max = self.options.max_payload;
        let flow = self
            .flows
            .entry((src, dst))
            .or_insert_with(|| Flow::new(sender, None));
        if syn {
            // A (new) connection: start afresh after the SYN.
            *flow = Flow::new(sender, Some(seq.wrapping_add(1)));
        }
        if payload.is_empty() || rst || flow.broken {
            return Ok(());
        }
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        let next = *flow.next_seq.get_or_insert(data_seq);
        let offset = data_seq.wrapping_sub(next) as i32;
        if offset > 0 {
            flow.pending_bytes += payload.len();
            if let Some(old) = flow.pending.insert(data_seq, payload.to_vec()) {
                // A retransmission of a held segment.
                flow.pending_bytes = flow.pending_bytes.saturating_sub(old.len());
            }
            if flow.pending_bytes > MAX_PENDING_BYTES && !flow.fill_gap(max) {
                self.summary.problems.push(format!(
                    "TCP {src} -> {dst}: a gap too large for one message; decoding stopped"
                ));
                return Ok(());
            }
        } else {
            let skip = offset.unsigned_abs() as usize;
            if let Some(tail) = payload.get(skip..) {
                flow.append(tail);
            }
        }
        self.drain_flow(time, src, dst, out)
    }

    /// Prints the frames a flow has completed.
    fn drain_flow(
        &mut self,
        time: Duration,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let max = self.options.max_payload;
        let Some(flow) = self.flows.get_mut(&(src, dst)) else {
            return Ok(());
        };
        let sender = flow.sender;
        let (frames, error) = flow.frames(max);
        let ctx = Context {
            time,
            proto: "TCP",
            src,
            dst,
            sender,
        };
        for f in frames {
            if f.missing > 0 {
                self.summary.incomplete.push(format!(
                    "TCP {src} -> {dst}: {} not fully captured ({} bytes missing)",
                    command_name(f.header.command),
                    f.missing
                ));
                let fields = vec![("missing_bytes", Field::Num(f.missing))];
                self.print(&ctx, &f.header, fields, out)?;
            } else {
                self.message(&ctx, &f.header, &f.payload, out)?;
            }
        }
        if let Some(e) = error {
            self.summary.problems.push(format!(
                "TCP {src} -> {dst}: {e}; decoding of this direction stopped"
            ));
        }
        Ok(())
    }

    fn udp(
        &mut self,
        time: Duration,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: &[u8],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let first = Header::decode(payload).map(|(h, _)| h.command);
        let server_only = matches!(
            first,
            Some(Command::RSRV_IS_UP | Command::NOT_FOUND | Command::REPEATER_CONFIRM)
        );
        let sender = if REPEATER_PORTS.contains(&src.port()) || SERVER_PORTS.contains(&src.port()) {
            Sender::Server
        } else if REPEATER_PORTS.contains(&dst.port()) {
            if first == Some(Command::RSRV_IS_UP) {
                Sender::Server
            } else {
                Sender::Client
            }
        } else if SERVER_PORTS.contains(&dst.port()) || !server_only {
            Sender::Client
        } else {
            Sender::Server
        };
        let ctx = Context {
            time,
            proto: "UDP",
            src,
            dst,
            sender,
        };
        for frame in datagram_frames(payload, self.options.max_payload) {
            match frame {
                Ok((h, p)) => self.message(&ctx, &h, p, out)?,
                Err(e) => {
                    self.summary
                        .problems
                        .push(format!("UDP {src} -> {dst}: {e}"));
                    break;
                }
            }
        }
        Ok(())
    }

    /// End of capture: declare the gaps before pending segments missing,
    /// print what follows them, and report what is left unfinished.
    fn finish(&mut self, last: Duration, out: &mut dyn Write) -> Result<(), Error> {
        let max = self.options.max_payload;
        let mut keys: Vec<_> = self.flows.keys().copied().collect();
        keys.sort_unstable();
        for (src, dst) in keys {
            while let Some(flow) = self.flows.get_mut(&(src, dst)) {
                if flow.broken || flow.pending.is_empty() {
                    break;
                }
                if !flow.fill_gap(max) {
                    self.summary.problems.push(format!(
                        "TCP {src} -> {dst}: a gap too large for one message; decoding stopped"
                    ));
                    break;
                }
                self.drain_flow(last, src, dst, out)?;
            }
            if let Some(flow) = self.flows.get(&(src, dst)) {
                let left = flow.buf.len() - flow.start;
                if !flow.broken && left > 0 {
                    self.summary.incomplete.push(format!(
                        "TCP {src} -> {dst}: capture ends inside a message ({left} bytes)"
                    ));
                }
            }
        }
        Ok(())
    }

    fn message(
        &mut self,
        ctx: &Context,
        header: &Header,
        payload: &[u8],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let fields = match ctx.sender {
            Sender::Client => ClientMessage::decode(header, payload).map(|m| client_fields(&m)),
            Sender::Server => ServerMessage::decode(header, payload).map(|m| server_fields(&m)),
        };
        let fields = match fields {
            Ok(f) => f,
            Err(e) => {
                self.summary.problems.push(format!(
                    "{} {} -> {}: {:?} does not decode: {e}",
                    ctx.proto, ctx.src, ctx.dst, header.command
                ));
                vec![("error", Field::Str(e.to_string()))]
            }
        };
        self.summary.messages += 1;
        self.print(ctx, header, fields, out)
    }

    fn print(
        &mut self,
        ctx: &Context,
        header: &Header,
        fields: Fields,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let first = *self.first.get_or_insert(ctx.time);
        let time = if self.options.relative_time {
            format!("{:.6}", ctx.time.saturating_sub(first).as_secs_f64())
        } else {
            EpicsTime::from_unix_duration(ctx.time).map_or_else(
                || format!("{:.6}", ctx.time.as_secs_f64()),
                |t| timestamp_text(t, TimeZone::UTC),
            )
        };
        let command = command_name(header.command);
        let dir = match ctx.sender {
            Sender::Client => "client->server",
            Sender::Server => "server->client",
        };
        let line = if self.options.json {
            let mut s = format!(
                "{{\"time\":{},\"proto\":\"{}\",\"src\":\"{}\",\"dst\":\"{}\",\"direction\":\"{dir}\",\"command\":{}",
                json::string(&time),
                ctx.proto,
                ctx.src,
                ctx.dst,
                json::string(&command)
            );
            for (k, v) in &fields {
                s.push_str(&format!(",{}:{}", json::string(k), v.json(&self.options)));
            }
            s.push_str("}\n");
            s
        } else {
            let arrow = match ctx.sender {
                Sender::Client => "C->S",
                Sender::Server => "S->C",
            };
            format!(
                "{time} {} {} -> {} {arrow} {}\n",
                ctx.proto,
                ctx.src,
                ctx.dst,
                fields_text(header.command, &fields, &self.options)
            )
        };
        match out.write_all(line.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::Io(e)),
        }
    }
}

/// One line (no newline) describing a client message: its command and
/// decoded fields, as `caproto-shark` prints them (`READ_NOTIFY sid=3
/// ioid=1 type=DBR_TIME_DOUBLE count=1`); for `-v` output of the tools.
pub fn client_message_text(m: &ClientMessage) -> String {
    fields_text(m.header().command, &client_fields(m), &Options::default())
}

/// One line (no newline) describing a server message (see
/// [`client_message_text`]).
pub fn server_message_text(m: &ServerMessage) -> String {
    fields_text(m.header().command, &server_fields(m), &Options::default())
}

fn fields_text(command: Command, fields: &Fields, o: &Options) -> String {
    let mut s = command_name(command);
    for (k, v) in fields {
        s.push_str(&format!(" {k}={}", v.text(o)));
    }
    s
}

fn command_name(c: Command) -> String {
    c.name()
        .map_or_else(|| format!("COMMAND_{}", c.0), str::to_owned)
}

/// A decoded field of a message.
enum Field {
    Num(u64),
    Str(String),
    /// A symbolic name (printed bare in text, as a string in JSON).
    Name(String),
    Float(f64),
    /// A DBR payload.
    Data(DbrType, Result<DbrData, ProtocolError>),
}

impl Field {
    fn text(&self, o: &Options) -> String {
        match self {
            Field::Num(n) => n.to_string(),
            Field::Str(s) => format!("{s:?}"),
            Field::Name(s) => s.clone(),
            Field::Float(f) => f.to_string(),
            Field::Data(t, Err(e)) => format!("<{t} does not decode: {e}>"),
            Field::Data(t, Ok(d)) => data_text(*t, d, o),
        }
    }

    fn json(&self, o: &Options) -> String {
        match self {
            Field::Num(n) => n.to_string(),
            Field::Str(s) | Field::Name(s) => json::string(s),
            Field::Float(f) => json::number(*f),
            Field::Data(_, Err(e)) => format!("{{\"error\":{}}}", json::string(&e.to_string())),
            Field::Data(t, Ok(d)) => {
                let mut d = d.clone();
                if o.max_values > 0 {
                    d.values.truncate(o.max_values);
                }
                format!("{{{}}}", json::data_fields(*t, &d, TimeZone::UTC))
            }
        }
    }
}

/// `[v1 v2 ...] (+N more) STAT SEVR stamp ...` for text output.
fn data_text(t: DbrType, d: &DbrData, o: &Options) -> String {
    let n = d.values.len();
    let shown = if o.max_values == 0 {
        n
    } else {
        n.min(o.max_values)
    };
    let style = Style::default();
    let vals: Vec<String> = (0..shown).map(|i| value_text(d, t, i, &style)).collect();
    let mut s = format!("{t} x{n} [{}]", vals.join(" "));
    if shown < n {
        s.push_str(&format!("(+{} more)", n - shown));
    }
    let m = &d.meta;
    let fam = t.family();
    if !matches!(
        fam,
        DbrFamily::Plain | DbrFamily::ClassName | DbrFamily::PutAckt | DbrFamily::PutAcks
    ) {
        s.push_str(&format!(" status={} severity={}", m.status, m.severity));
    }
    if fam == DbrFamily::Time {
        s.push_str(&format!(
            " stamp=\"{}\"",
            timestamp_text(m.timestamp, TimeZone::UTC)
        ));
    }
    if matches!(fam, DbrFamily::Gr | DbrFamily::Ctrl) {
        if m.enum_strings.is_empty() {
            let l = &m.limits;
            s.push_str(&format!(
                " units={:?} precision={} disp=[{} {}] alarm=[{} {}] warn=[{} {}]",
                m.units,
                m.precision,
                l.lower_disp,
                l.upper_disp,
                l.lower_alarm,
                l.upper_alarm,
                l.lower_warning,
                l.upper_warning
            ));
            if fam == DbrFamily::Ctrl {
                s.push_str(&format!(" ctrl=[{} {}]", l.lower_ctrl, l.upper_ctrl));
            }
        } else {
            s.push_str(&format!(" states={:?}", m.enum_strings));
        }
    }
    if fam == DbrFamily::StsackString {
        s.push_str(&format!(" ackt={} acks={}", m.ackt, m.acks));
    }
    s
}

fn data(t: DbrType, count: u32, bytes: &[u8]) -> Field {
    Field::Data(t, decode(t, count, bytes))
}

fn name<T: std::fmt::Display>(v: T) -> Field {
    Field::Name(v.to_string())
}

fn ip(addr: u32) -> Field {
    Field::Name(std::net::Ipv4Addr::from(addr).to_string())
}

type Fields = Vec<(&'static str, Field)>;

fn client_fields(m: &ClientMessage) -> Fields {
    use Field::{Num, Str};
    match m {
        ClientMessage::Version {
            priority,
            minor_version,
            sequence,
        } => vec![
            ("priority", Num((*priority).into())),
            ("minor_version", Num((*minor_version).into())),
            ("sequence", Num((*sequence).into())),
        ],
        ClientMessage::Search {
            reply,
            minor_version,
            cid,
            name,
        } => vec![
            ("name", Str(name.clone())),
            ("cid", Num(cid.0.into())),
            ("reply", Num((*reply).into())),
            ("minor_version", Num((*minor_version).into())),
        ],
        ClientMessage::CreateChan {
            cid,
            minor_version,
            name,
        } => vec![
            ("name", Str(name.clone())),
            ("cid", Num(cid.0.into())),
            ("minor_version", Num((*minor_version).into())),
        ],
        ClientMessage::ClientName { name } | ClientMessage::HostName { name } => {
            vec![("name", Str(name.clone()))]
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
        } => vec![
            ("sid", Num(sid.0.into())),
            ("ioid", Num(ioid.0.into())),
            ("type", self::name(data_type)),
            ("count", Num((*count).into())),
        ],
        ClientMessage::Write {
            data_type,
            count,
            sid,
            ioid,
            data: bytes,
        }
        | ClientMessage::WriteNotify {
            data_type,
            count,
            sid,
            ioid,
            data: bytes,
        } => vec![
            ("sid", Num(sid.0.into())),
            ("ioid", Num(ioid.0.into())),
            ("data", data(*data_type, *count, bytes)),
        ],
        ClientMessage::EventAdd {
            data_type,
            count,
            sid,
            subid,
            mask,
            deadband,
        } => vec![
            ("sid", Num(sid.0.into())),
            ("subid", Num(subid.0.into())),
            ("type", self::name(data_type)),
            ("count", Num((*count).into())),
            ("mask", Num(mask.0.into())),
            ("low", Field::Float(deadband[0].into())),
            ("high", Field::Float(deadband[1].into())),
            ("to", Field::Float(deadband[2].into())),
        ],
        ClientMessage::EventCancel {
            data_type,
            count,
            sid,
            subid,
        } => vec![
            ("sid", Num(sid.0.into())),
            ("subid", Num(subid.0.into())),
            ("type", self::name(data_type)),
            ("count", Num((*count).into())),
        ],
        ClientMessage::ClearChannel { sid, cid } => {
            vec![("sid", Num(sid.0.into())), ("cid", Num(cid.0.into()))]
        }
        ClientMessage::RepeaterRegister { client_addr } => {
            vec![("client_addr", ip(*client_addr))]
        }
        ClientMessage::Obsolete { header, payload } => obsolete(header, payload),
        ClientMessage::EventsOff
        | ClientMessage::EventsOn
        | ClientMessage::ReadSync
        | ClientMessage::Echo => Vec::new(),
        other => vec![("message", Str(format!("{other:?}")))],
    }
}

fn obsolete(header: &Header, payload: &[u8]) -> Fields {
    vec![
        ("data_type", Field::Num(header.data_type.into())),
        ("data_count", Field::Num(header.data_count.into())),
        ("parameter1", Field::Num(header.parameter1.into())),
        ("parameter2", Field::Num(header.parameter2.into())),
        ("payload_bytes", Field::Num(payload.len() as u64)),
    ]
}

fn server_fields(m: &ServerMessage) -> Fields {
    use Field::{Num, Str};
    match m {
        ServerMessage::Version {
            priority,
            minor_version,
            sequence,
        } => vec![
            ("priority", Num((*priority).into())),
            ("minor_version", Num((*minor_version).into())),
            ("sequence", Num((*sequence).into())),
        ],
        ServerMessage::SearchResponse {
            port,
            server_addr,
            cid,
            minor_version,
        } => {
            let mut f = vec![
                ("cid", Num(cid.0.into())),
                ("port", Num((*port).into())),
                ("server_addr", ip(*server_addr)),
            ];
            if let Some(v) = minor_version {
                f.push(("minor_version", Num((*v).into())));
            }
            f
        }
        ServerMessage::NotFound {
            reply,
            minor_version,
            cid,
        } => vec![
            ("cid", Num(cid.0.into())),
            ("reply", Num((*reply).into())),
            ("minor_version", Num((*minor_version).into())),
        ],
        ServerMessage::CreateChanResponse {
            data_type,
            count,
            cid,
            sid,
        } => vec![
            ("cid", Num(cid.0.into())),
            ("sid", Num(sid.0.into())),
            ("type", name(data_type)),
            ("count", Num((*count).into())),
        ],
        ServerMessage::CreateChFail { cid } | ServerMessage::ServerDisconn { cid } => {
            vec![("cid", Num(cid.0.into()))]
        }
        ServerMessage::AccessRights { cid, rights } => vec![
            ("cid", Num(cid.0.into())),
            ("read", Field::Name(rights.can_read().to_string())),
            ("write", Field::Name(rights.can_write().to_string())),
        ],
        ServerMessage::ReadNotifyResponse {
            data_type,
            count,
            status,
            ioid,
            data: bytes,
        } => vec![
            ("ioid", Num(ioid.0.into())),
            ("status", name(format!("{status:?}"))),
            ("data", data(*data_type, *count, bytes)),
        ],
        ServerMessage::ReadResponse {
            data_type,
            count,
            cid,
            ioid,
            data: bytes,
        } => vec![
            ("cid", Num(cid.0.into())),
            ("ioid", Num(ioid.0.into())),
            ("data", data(*data_type, *count, bytes)),
        ],
        ServerMessage::WriteNotifyResponse {
            data_type,
            count,
            status,
            ioid,
        } => vec![
            ("ioid", Num(ioid.0.into())),
            ("status", name(format!("{status:?}"))),
            ("type", name(data_type)),
            ("count", Num((*count).into())),
        ],
        ServerMessage::EventAddResponse {
            data_type,
            count,
            status,
            subid,
            data: bytes,
        } => vec![
            ("subid", Num(subid.0.into())),
            ("status", name(format!("{status:?}"))),
            ("data", data(*data_type, *count, bytes)),
        ],
        ServerMessage::EventCancelResponse {
            data_type,
            count,
            sid,
            subid,
        } => vec![
            ("sid", Num(sid.0.into())),
            ("subid", Num(subid.0.into())),
            ("type", name(data_type)),
            ("count", Num((*count).into())),
        ],
        ServerMessage::ClearChannel { sid, cid } => {
            vec![("sid", Num(sid.0.into())), ("cid", Num(cid.0.into()))]
        }
        ServerMessage::Error {
            cid,
            status,
            request,
            message,
        } => vec![
            ("cid", Num(cid.0.into())),
            ("status", name(format!("{status:?}"))),
            ("request", Field::Name(command_name(request.command))),
            ("message", Str(message.clone())),
        ],
        ServerMessage::Beacon {
            minor_version,
            server_port,
            beacon_id,
            server_addr,
        } => vec![
            ("beacon_id", Num((*beacon_id).into())),
            ("server_port", Num((*server_port).into())),
            ("server_addr", ip(*server_addr)),
            ("minor_version", Num((*minor_version).into())),
        ],
        ServerMessage::RepeaterConfirm { repeater_addr } => {
            vec![("repeater_addr", ip(*repeater_addr))]
        }
        ServerMessage::Obsolete { header, payload } => obsolete(header, payload),
        ServerMessage::Echo | ServerMessage::ReadSync => Vec::new(),
        other => vec![("message", Str(format!("{other:?}")))],
    }
}

/// The link layer to IPv4 (Ethernet, Linux cooked v1/v2, BSD loopback,
/// raw IPv4); `None` for anything else.
fn slice_link(link_type: u32, data: &[u8]) -> Option<SlicedPacket<'_>> {
    match link_type {
        LINKTYPE_ETHERNET => SlicedPacket::from_ethernet(data).ok(),
        LINKTYPE_LINUX_SLL | LINKTYPE_LINUX_SLL2 => {
            // Read here: etherparse refuses the ARPHRD_LOOPBACK hardware type
            // that `tcpdump -i any` records for lo.
            let (proto_at, header_len) = if link_type == LINKTYPE_LINUX_SLL {
                (14, 16)
            } else {
                (0, 20)
            };
            if data.get(proto_at..proto_at + 2)? != [0x08, 0x00] {
                return None;
            }
            SlicedPacket::from_ip(data.get(header_len..)?).ok()
        }
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let family: [u8; 4] = data.get(..4)?.try_into().ok()?;
            // AF_INET (2), host order for NULL, network order for LOOP.
            if u32::from_le_bytes(family) != 2 && u32::from_be_bytes(family) != 2 {
                return None;
            }
            SlicedPacket::from_ip(data.get(4..)?).ok()
        }
        _ => {
            if data.first().map(|b| b >> 4) != Some(4) {
                return None;
            }
            SlicedPacket::from_ip(data).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_texts() {
        let m = ClientMessage::CreateChan {
            cid: caproto_core::Cid(1),
            minor_version: 13,
            name: "t:ao".into(),
        };
        assert_eq!(
            client_message_text(&m),
            "CREATE_CHAN name=\"t:ao\" cid=1 minor_version=13"
        );
        let m = ServerMessage::EventAddResponse {
            data_type: DbrType::TimeDouble,
            count: 1,
            status: caproto_core::EcaStatus::ECA_NORMAL,
            subid: caproto_core::SubId(1),
            data: vec![0; 24],
        };
        assert_eq!(
            server_message_text(&m),
            "EVENT_ADD subid=1 status=ECA_NORMAL data=DBR_TIME_DOUBLE x1 [0] status=NO_ALARM \
             severity=NO_ALARM stamp=\"<undefined>\""
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert!(run(b"not a pcap", &Options::default(), &mut out).is_err());
        assert!(run(&[], &Options::default(), &mut out).is_err());
    }

    #[test]
    fn truncated_file_is_reported() {
        // A little-endian microsecond pcap header (Ethernet) and half a record.
        let mut bytes = vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0,
            0,
        ];
        bytes.extend_from_slice(&[0; 10]);
        let mut out = Vec::new();
        let s = run(&bytes, &Options::default(), &mut out).unwrap_or_default();
        assert_eq!(s.messages, 0);
        assert_eq!(s.problems.len(), 1);
    }
}
