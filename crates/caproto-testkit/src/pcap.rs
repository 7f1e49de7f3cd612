//! Reading pcap captures of CA traffic: the golden vectors in
//! `../shared/captures/`.
//!
//! Two layers:
//!
//! 1. Packets: [`load`] / [`parse`] read a classic pcap file (link types
//!    Ethernet, Linux cooked SLL and SLL2, raw IPv4, BSD loopback), keep the
//!    IPv4 TCP and UDP packets, reassemble every TCP connection per direction
//!    by sequence number into a [`TcpStream`] and list every UDP
//!    [`Datagram`]. Packets that are not IPv4 TCP/UDP are listed in
//!    [`Capture::skipped`] with the reason; nothing in a capture makes this
//!    module panic.
//! 2. CA messages: [`for_each_message`] runs every byte of a capture through
//!    the `caproto-core` wire layer ([`StreamDecoder`] for TCP,
//!    [`datagram_frames`] for UDP) and hands each decoded message, with its
//!    exact frame bytes, to a callback. What could not be decoded is returned
//!    as [`Failure`]s that name the stream or datagram, the byte offset, the
//!    header and the bytes.
//!
//! The pcap file format is read with the `pcap-file` crate and the link,
//! IPv4, TCP and UDP headers with `etherparse`; TCP reassembly is done here
//! (neither crate does it).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};

use caproto_core::wire::{
    datagram_frames, ClientMessage, Command, Header, Message, ServerMessage, StreamDecoder,
};
use caproto_core::ProtocolError;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapParser;
use pcap_file::PcapError;

/// TCP/UDP ports that identify a CA server: the default (`caProto.h`
/// `CA_SERVER_PORT`, 5064) and the one the golden captures use (25064, see
/// `captures/MANIFEST.md`).
pub const SERVER_PORTS: [u16; 2] = [caproto_core::DEFAULT_SERVER_PORT, 25064];

/// UDP ports that identify a CA repeater: the default (`caProto.h`
/// `CA_REPEATER_PORT`, 5065) and the one the golden captures use (25065).
pub const REPEATER_PORTS: [u16; 2] = [caproto_core::DEFAULT_REPEATER_PORT, 25065];

// Link-layer header types (tcpdump.org "LINK-LAYER HEADER TYPES").
const LINKTYPE_NULL: u32 = 0;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LOOP: u32 = 108;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_IPV4: u32 = 228;
const LINKTYPE_LINUX_SLL2: u32 = 276;

/// Size of the Linux cooked capture header (LINKTYPE_LINUX_SLL) and offset
/// of its protocol (EtherType) field.
const SLL_HEADER_LEN: usize = 16;
const SLL_PROTOCOL_AT: usize = 14;

/// Size of the Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2), whose
/// first two bytes are the protocol type.
const SLL2_HEADER_LEN: usize = 20;

/// EtherType of IPv4, big-endian.
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];

/// `AF_INET` in the 4-byte family field of BSD loopback (LINKTYPE_NULL /
/// LINKTYPE_LOOP) headers; 2 on every system.
const BSD_AF_INET: u32 = 2;

/// Reads and parses the pcap file at `path`.
pub fn load(path: impl AsRef<Path>) -> Result<Capture, Error> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes)
}

/// Parses a classic pcap file held in memory.
///
/// Fails only if the file header is not a pcap header or the link type is
/// not supported. Odd packets (not IPv4, not TCP or UDP, malformed, cut
/// short by the snapshot length, IP fragments) are listed in
/// [`Capture::skipped`]; a file that ends inside a packet record ends the
/// capture there, with a [`SkipReason::TruncatedFile`] entry.
pub fn parse(bytes: &[u8]) -> Result<Capture, Error> {
    let (mut rest, parser) = PcapParser::new(bytes).map_err(|e| match e {
        PcapError::IncompleteBuffer => Error::Format("file shorter than a pcap header".into()),
        other => Error::Format(format!("not a classic pcap file: {other}")),
    })?;
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

    let mut builder = Builder::default();
    let mut index = 0;
    while !rest.is_empty() {
        let (next, raw) = match parser.next_raw_packet(rest) {
            Ok(ok) => ok,
            Err(_) => {
                builder.skip(index, SkipReason::TruncatedFile { bytes: rest.len() });
                break;
            }
        };
        rest = next;
        if raw.incl_len < raw.orig_len {
            builder.skip(
                index,
                SkipReason::Truncated {
                    captured: raw.incl_len,
                    original: raw.orig_len,
                },
            );
        } else {
            builder.packet(index, link_type, &raw.data);
        }
        index += 1;
    }
    Ok(builder.finish(link_type, index))
}

/// A failure to read a capture file.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a classic pcap file (pcapng is not supported: convert with
    /// `editcap -F pcap`).
    Format(String),
    /// A link type this module cannot read.
    UnsupportedLinkType(u32),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::Format(what) => f.write_str(what),
            Error::UnsupportedLinkType(t) => write!(
                f,
                "unsupported pcap link type {t} (supported: Ethernet, Linux SLL/SLL2, raw IPv4, BSD loopback)"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Format(_) | Error::UnsupportedLinkType(_) => None,
        }
    }
}

/// The IPv4 TCP and UDP traffic of one capture.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// The pcap link type (1 = Ethernet, 113 = Linux SLL, ...).
    pub link_type: u32,
    /// Number of packet records read.
    pub packets: usize,
    /// Every TCP connection, in the order of its first packet.
    pub streams: Vec<TcpStream>,
    /// Every UDP datagram, in capture order.
    pub datagrams: Vec<Datagram>,
    /// Packets that were not used, with the reason.
    pub skipped: Vec<Skipped>,
}

impl Capture {
    /// The skipped packets that may hide CA traffic: everything but packets
    /// that are not IPv4 or not TCP/UDP.
    pub fn problems(&self) -> impl Iterator<Item = &Skipped> {
        self.skipped.iter().filter(|s| s.reason.is_problem())
    }
}

/// One TCP connection, reassembled per direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpStream {
    /// The side that sent the SYN; without a SYN in the capture, the side
    /// whose port is not a [`SERVER_PORTS`] port (or, failing that, the side
    /// with the higher, ephemeral-looking port).
    pub client: SocketAddrV4,
    /// The other side.
    pub server: SocketAddrV4,
    /// Every byte the client sent, in sequence order. Bytes the capture
    /// missed are zero-filled and listed in [`TcpStream::holes`].
    pub to_server: Vec<u8>,
    /// Every byte the server sent, in sequence order, holes zero-filled.
    pub to_client: Vec<u8>,
    /// Lengths of the pieces `to_server` was reassembled from: the TCP
    /// segments as they were sent (minus retransmitted overlap), a hole being
    /// one piece. Feeding a decoder these pieces reproduces what a receiver
    /// saw.
    pub to_server_segments: Vec<usize>,
    /// Lengths of the pieces of `to_client`.
    pub to_client_segments: Vec<usize>,
    /// Bytes missing from the capture (segments the capturing kernel
    /// dropped). Holes are zero-filled, the captured bytes after them
    /// following, up to [`MAX_HOLE_FILL`] bytes of fill per direction; a
    /// hole past that, or data missing before a captured FIN, ends that
    /// direction at [`Hole::offset`] (see [`Hole::filled`]).
    pub holes: Vec<Hole>,
    /// Index of the first packet of the connection in the capture.
    pub first_packet: usize,
}

impl TcpStream {
    /// The bytes `sender` sent.
    pub fn bytes(&self, sender: Sender) -> &[u8] {
        match sender {
            Sender::Client => &self.to_server,
            Sender::Server => &self.to_client,
        }
    }

    /// The bytes `sender` sent, cut into the TCP segments they arrived in.
    pub fn segments(&self, sender: Sender) -> impl Iterator<Item = &[u8]> {
        let (bytes, lens) = match sender {
            Sender::Client => (&self.to_server, &self.to_server_segments),
            Sender::Server => (&self.to_client, &self.to_client_segments),
        };
        let mut at = 0usize;
        lens.iter().map(move |&n| {
            let piece = bytes.get(at..at + n).unwrap_or_default();
            at += n;
            piece
        })
    }

    /// The address a message from `sender` came from and went to.
    pub fn addresses(&self, sender: Sender) -> (SocketAddrV4, SocketAddrV4) {
        match sender {
            Sender::Client => (self.client, self.server),
            Sender::Server => (self.server, self.client),
        }
    }
}

/// A gap in one direction of a TCP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hole {
    /// The direction with the gap.
    pub sender: Sender,
    /// Stream offset at which bytes are missing.
    pub offset: u64,
    /// How many bytes are missing before the next captured segment (or the
    /// FIN).
    pub missing: u64,
    /// True if the hole is zero-filled in the stream and captured bytes
    /// follow it; false if the stream ends at the hole.
    pub filled: bool,
}

impl Hole {
    /// True if the hole overlaps the stream range `start..end`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        let hole_end = if self.filled {
            self.offset.saturating_add(self.missing)
        } else {
            u64::MAX
        };
        self.offset < end && start < hole_end
    }
}

/// Most bytes of holes zero-filled in one direction of a TCP stream so that
/// the bytes after them can still be decoded (64 MiB); past that, the stream
/// ends at the next hole.
pub const MAX_HOLE_FILL: u64 = 64 << 20;

/// One UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Index of its packet in the capture.
    pub packet: usize,
    /// Source address.
    pub src: SocketAddrV4,
    /// Destination address.
    pub dst: SocketAddrV4,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// A packet that was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Index of the packet in the capture.
    pub packet: usize,
    /// Why.
    pub reason: SkipReason,
}

/// Why a packet was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Not an IPv4 packet (IPv6, ARP, ...).
    NotIpv4,
    /// IPv4 but neither TCP nor UDP.
    NotTcpOrUdp,
    /// An IPv4 fragment (reassembly of IP fragments is not implemented).
    Fragment,
    /// The snapshot length cut the packet short.
    Truncated {
        /// Bytes in the file.
        captured: u32,
        /// Bytes on the wire.
        original: u32,
    },
    /// The file ends inside a packet record.
    TruncatedFile {
        /// Bytes left over.
        bytes: usize,
    },
    /// A link, IP, TCP or UDP header could not be parsed.
    Malformed(String),
}

impl SkipReason {
    /// False for packets that cannot carry CA traffic over IPv4
    /// ([`SkipReason::NotIpv4`], [`SkipReason::NotTcpOrUdp`]).
    pub fn is_problem(&self) -> bool {
        !matches!(self, SkipReason::NotIpv4 | SkipReason::NotTcpOrUdp)
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "packet {}: ", self.packet)?;
        match &self.reason {
            SkipReason::NotIpv4 => f.write_str("not IPv4"),
            SkipReason::NotTcpOrUdp => f.write_str("neither TCP nor UDP"),
            SkipReason::Fragment => f.write_str("IPv4 fragment (not reassembled)"),
            SkipReason::Truncated { captured, original } => {
                write!(
                    f,
                    "cut to {captured} of {original} bytes by the snapshot length"
                )
            }
            SkipReason::TruncatedFile { bytes } => {
                write!(f, "file ends inside a packet record ({bytes} bytes left)")
            }
            SkipReason::Malformed(why) => write!(f, "malformed: {why}"),
        }
    }
}

// ---------------------------------------------------------------------------
// CA messages in a capture
// ---------------------------------------------------------------------------

/// Which side of a CA conversation sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sender {
    /// A client (or client library talking to a repeater): the message is a
    /// [`ClientMessage`].
    Client,
    /// A server, or a repeater forwarding to its clients: the message is a
    /// [`ServerMessage`].
    Server,
}

/// Who sent a UDP datagram, from its ports and, for datagrams to a
/// repeater, its first command:
///
/// - from a [`REPEATER_PORTS`] port: the repeater forwarding beacons (or
///   confirming a registration) to a client: [`Sender::Server`];
/// - from a [`SERVER_PORTS`] port: a server answering a search:
///   [`Sender::Server`];
/// - to a repeater port: a beacon (`RSRV_IS_UP`) from a server is
///   [`Sender::Server`], anything else (`REPEATER_REGISTER`) is a client;
/// - to a server port: a client's search or echo: [`Sender::Client`];
/// - otherwise: [`Sender::Server`] if the first command is one only
///   servers send (`RSRV_IS_UP`, `NOT_FOUND`, `REPEATER_CONFIRM`), else
///   [`Sender::Client`].
pub fn datagram_sender(datagram: &Datagram) -> Sender {
    let first = Header::decode(&datagram.payload).map(|(h, _)| h.command);
    let server_only = matches!(
        first,
        Some(Command::RSRV_IS_UP | Command::NOT_FOUND | Command::REPEATER_CONFIRM)
    );
    if REPEATER_PORTS.contains(&datagram.src.port()) || SERVER_PORTS.contains(&datagram.src.port())
    {
        Sender::Server
    } else if REPEATER_PORTS.contains(&datagram.dst.port()) {
        if first == Some(Command::RSRV_IS_UP) {
            Sender::Server
        } else {
            Sender::Client
        }
    } else if SERVER_PORTS.contains(&datagram.dst.port()) {
        Sender::Client
    } else if server_only {
        Sender::Server
    } else {
        Sender::Client
    }
}

/// Where in a capture a message was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// In a TCP stream.
    Tcp {
        /// Index into [`Capture::streams`].
        stream: usize,
        /// Direction.
        sender: Sender,
        /// Byte offset of the frame in that direction's stream.
        offset: usize,
    },
    /// In a UDP datagram.
    Udp {
        /// Index into [`Capture::datagrams`].
        datagram: usize,
        /// Who sent it (see [`datagram_sender`]).
        sender: Sender,
        /// Byte offset of the frame in the datagram.
        offset: usize,
    },
}

impl Origin {
    /// Who sent the message.
    pub fn sender(&self) -> Sender {
        match *self {
            Origin::Tcp { sender, .. } | Origin::Udp { sender, .. } => sender,
        }
    }

    /// True for TCP.
    pub fn is_tcp(&self) -> bool {
        matches!(self, Origin::Tcp { .. })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = |s: &Sender| match s {
            Sender::Client => "client->server",
            Sender::Server => "server->client",
        };
        match self {
            Origin::Tcp {
                stream,
                sender,
                offset,
            } => write!(f, "TCP stream {stream} {} at byte {offset}", dir(sender)),
            Origin::Udp {
                datagram,
                sender,
                offset,
            } => write!(
                f,
                "UDP datagram {datagram} ({}) at byte {offset}",
                dir(sender)
            ),
        }
    }
}

/// A decoded message of either direction.
#[derive(Debug, Clone, PartialEq)]
pub enum CaMessage {
    /// Sent by a client.
    Client(ClientMessage),
    /// Sent by a server or repeater.
    Server(ServerMessage),
}

impl CaMessage {
    /// Decodes a frame sent by `sender`.
    pub fn decode(sender: Sender, header: &Header, payload: &[u8]) -> Result<Self, ProtocolError> {
        match sender {
            Sender::Client => ClientMessage::decode(header, payload).map(CaMessage::Client),
            Sender::Server => ServerMessage::decode(header, payload).map(CaMessage::Server),
        }
    }

    /// The header the message encodes with.
    pub fn header(&self) -> Header {
        match self {
            CaMessage::Client(m) => m.header(),
            CaMessage::Server(m) => m.header(),
        }
    }

    /// Appends the encoded message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            CaMessage::Client(m) => m.encode(out),
            CaMessage::Server(m) => m.encode(out),
        }
    }
}

/// One message decoded from a capture.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured<'a> {
    /// Where it was found.
    pub origin: Origin,
    /// Its header as decoded.
    pub header: Header,
    /// The frame exactly as on the wire: header (16 or 24 bytes) and padded
    /// payload.
    pub frame: &'a [u8],
    /// The decoded message.
    pub message: CaMessage,
}

impl Captured<'_> {
    /// The payload part of [`Captured::frame`].
    pub fn payload(&self) -> &[u8] {
        let start = self.frame.len() - (self.header.payload_size as usize).min(self.frame.len());
        self.frame.get(start..).unwrap_or_default()
    }
}

/// How TCP byte streams are handed to the [`StreamDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// In the TCP segments they were captured in.
    Segments,
    /// All at once.
    Whole,
    /// In pieces of this many bytes (at least 1).
    Chunks(usize),
}

/// Options of [`for_each_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Payload limit of the decoders.
    pub max_payload: u32,
    /// How TCP streams are fed.
    pub feed: Feed,
}

impl Default for DecodeOptions {
    /// 16 MiB payloads, fed in TCP segments.
    fn default() -> Self {
        DecodeOptions {
            max_payload: 16 << 20,
            feed: Feed::Segments,
        }
    }
}

/// What [`for_each_message`] could not decode.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Where.
    pub origin: Origin,
    /// The header, if one could be read.
    pub header: Option<Header>,
    /// The bytes involved (the frame, or what was left), at most 256.
    pub bytes: Vec<u8>,
    /// What went wrong.
    pub kind: FailureKind,
}

/// The kinds of [`Failure`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The wire layer refused the frame.
    Protocol(ProtocolError),
    /// A TCP direction ended inside a message.
    StreamEndsInsideMessage {
        /// Bytes left in the decoder.
        buffered: usize,
    },
    /// A TCP direction has a hole where a header should be (or one the
    /// stream ends in); decoding of that direction stopped there.
    Hole(Hole),
    /// The decoder's framing disagrees with the header in the byte stream
    /// (a bug of the stream decoder).
    Framing(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        match &self.kind {
            FailureKind::Protocol(e) => write!(f, "{e}")?,
            FailureKind::StreamEndsInsideMessage { buffered } => write!(
                f,
                "stream ends inside a message ({buffered} bytes buffered)"
            )?,
            FailureKind::Hole(h) => write!(
                f,
                "{} bytes missing from the capture at offset {}",
                h.missing, h.offset
            )?,
            FailureKind::Framing(why) => write!(f, "framing mismatch: {why}")?,
        }
        if let Some(h) = &self.header {
            write!(f, "; header {h:?}")?;
        }
        if !self.bytes.is_empty() {
            write!(f, "; bytes {}", hex(&self.bytes))?;
        }
        Ok(())
    }
}

/// The outcome of [`for_each_message`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Messages decoded (and handed to the callback).
    pub messages: usize,
    /// What could not be decoded.
    pub failures: Vec<Failure>,
    /// Messages whose header was captured but part of whose payload the
    /// capture missed (a hole in the TCP stream): neither decoded nor
    /// counted as failures.
    pub incomplete: Vec<Incomplete>,
}

/// A message the capture holds only part of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// Where.
    pub origin: Origin,
    /// Its header (captured in full).
    pub header: Header,
    /// Payload bytes missing from the capture.
    pub missing: u64,
}

/// Decodes every CA message of `capture` and calls `f` on each, in order:
/// each TCP stream (client->server, then server->client), then every UDP
/// datagram in capture order.
///
/// TCP bytes sent by the client are decoded as [`ClientMessage`], bytes
/// sent by the server as [`ServerMessage`]; a UDP datagram's direction is
/// [`datagram_sender`]. A message that does not decode is reported in
/// [`Report::failures`] and decoding goes on with the next frame; a framing
/// error (payload above the limit, a hole in the stream, a truncated
/// datagram) abandons the rest of that direction or datagram.
pub fn for_each_message<'c, F>(capture: &'c Capture, options: &DecodeOptions, mut f: F) -> Report
where
    F: FnMut(&Captured<'c>),
{
    let mut report = Report::default();
    for (index, stream) in capture.streams.iter().enumerate() {
        for sender in [Sender::Client, Sender::Server] {
            decode_tcp(index, stream, sender, options, &mut report, &mut f);
        }
    }
    for (index, datagram) in capture.datagrams.iter().enumerate() {
        decode_datagram(index, datagram, options.max_payload, &mut report, &mut f);
    }
    report
}

fn decode_tcp<'c, F>(
    index: usize,
    stream: &'c TcpStream,
    sender: Sender,
    options: &DecodeOptions,
    report: &mut Report,
    f: &mut F,
) where
    F: FnMut(&Captured<'c>),
{
    let bytes = stream.bytes(sender);
    let holes: Vec<&Hole> = stream.holes.iter().filter(|h| h.sender == sender).collect();
    let hole_in = |start: usize, end: usize| {
        holes
            .iter()
            .copied()
            .find(|h| h.overlaps(start as u64, end as u64))
    };
    let pieces: Box<dyn Iterator<Item = &[u8]>> = match options.feed {
        Feed::Segments => Box::new(stream.segments(sender)),
        Feed::Whole => Box::new(std::iter::once(bytes)),
        Feed::Chunks(n) => Box::new(bytes.chunks(n.max(1))),
    };
    let origin = |offset| Origin::Tcp {
        stream: index,
        sender,
        offset,
    };
    let hole_failure = |offset: usize, hole: &Hole| Failure {
        origin: origin(offset),
        header: None,
        bytes: Vec::new(),
        kind: FailureKind::Hole(*hole),
    };
    let mut decoder = StreamDecoder::new(options.max_payload);
    let mut offset = 0usize;
    for piece in pieces {
        decoder.push(piece);
        loop {
            let rest = bytes.get(offset..).unwrap_or_default();
            let (header, payload) = match decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    let hlen = Header::decode(rest).map_or(rest.len(), |(_, n)| n);
                    if let Some(hole) = hole_in(offset, offset + hlen) {
                        report.failures.push(hole_failure(offset, hole));
                    } else {
                        report.failures.push(Failure {
                            origin: origin(offset),
                            header: Header::decode(rest).map(|(h, _)| h),
                            bytes: preview(rest),
                            kind: FailureKind::Protocol(e),
                        });
                    }
                    // Framing is lost: nothing after this can be trusted.
                    return;
                }
            };
            // Cut the frame out of the reassembled stream independently of
            // the decoder, so the callback sees the exact wire bytes.
            let (frame, hlen) = match Header::decode(rest) {
                Some((h, hlen)) if h == header => (rest.get(..hlen + payload.len()), hlen),
                _ => (None, 0),
            };
            let Some(frame) = frame.filter(|fr| fr.ends_with(payload)) else {
                report.failures.push(Failure {
                    origin: origin(offset),
                    header: Some(header),
                    bytes: preview(rest),
                    kind: FailureKind::Framing(format!(
                        "decoder yielded {header:?} with a {}-byte payload",
                        payload.len()
                    )),
                });
                return;
            };
            let end = offset + frame.len();
            if let Some(hole) = hole_in(offset, offset + hlen) {
                // The "header" is zero fill: framing is lost.
                report.failures.push(hole_failure(offset, hole));
                return;
            }
            if let Some(hole) = hole_in(offset + hlen, end) {
                // A captured header whose payload the capture partly missed.
                let hole_end = hole.offset.saturating_add(hole.missing);
                let missing = hole_end.min(end as u64) - hole.offset.max((offset + hlen) as u64);
                report.incomplete.push(Incomplete {
                    origin: origin(offset),
                    header,
                    missing,
                });
                offset = end;
                continue;
            }
            match CaMessage::decode(sender, &header, payload) {
                Ok(message) => {
                    report.messages += 1;
                    f(&Captured {
                        origin: origin(offset),
                        header,
                        frame,
                        message,
                    });
                }
                Err(e) => report.failures.push(Failure {
                    origin: origin(offset),
                    header: Some(header),
                    bytes: preview(frame),
                    kind: FailureKind::Protocol(e),
                }),
            }
            offset = end;
        }
    }
    if offset < bytes.len() || holes.iter().any(|h| !h.filled) {
        let rest = bytes.get(offset..).unwrap_or_default();
        match holes.iter().find(|h| !h.filled) {
            Some(hole) => report.failures.push(hole_failure(offset, hole)),
            None => report.failures.push(Failure {
                origin: origin(offset),
                header: Header::decode(rest).map(|(h, _)| h),
                bytes: preview(rest),
                kind: FailureKind::StreamEndsInsideMessage {
                    buffered: decoder.buffered(),
                },
            }),
        }
    }
}

fn decode_datagram<'c, F>(
    index: usize,
    datagram: &'c Datagram,
    max_payload: u32,
    report: &mut Report,
    f: &mut F,
) where
    F: FnMut(&Captured<'c>),
{
    let sender = datagram_sender(datagram);
    let bytes = datagram.payload.as_slice();
    let mut offset = 0usize;
    for frame in datagram_frames(bytes, max_payload) {
        let origin = Origin::Udp {
            datagram: index,
            sender,
            offset,
        };
        let rest = bytes.get(offset..).unwrap_or_default();
        let (header, payload) = match frame {
            Ok(frame) => frame,
            Err(e) => {
                report.failures.push(Failure {
                    origin,
                    header: Header::decode(rest).map(|(h, _)| h),
                    bytes: preview(rest),
                    kind: FailureKind::Protocol(e),
                });
                return;
            }
        };
        let hlen = Header::decode(rest).map_or(0, |(_, n)| n);
        let Some(frame) = rest.get(..hlen + payload.len()) else {
            report.failures.push(Failure {
                origin,
                header: Some(header),
                bytes: preview(rest),
                kind: FailureKind::Framing("frame longer than the datagram".into()),
            });
            return;
        };
        match CaMessage::decode(sender, &header, payload) {
            Ok(message) => {
                report.messages += 1;
                f(&Captured {
                    origin,
                    header,
                    frame,
                    message,
                });
            }
            Err(e) => report.failures.push(Failure {
                origin,
                header: Some(header),
                bytes: preview(frame),
                kind: FailureKind::Protocol(e),
            }),
        }
        offset += frame.len();
    }
}

/// At most 256 bytes of `bytes`, for error reports.
fn preview(bytes: &[u8]) -> Vec<u8> {
    bytes.get(..256).unwrap_or(bytes).to_vec()
}

/// Lower-case hex bytes separated by spaces (`00 0f 00 00`), for reports.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

// ---------------------------------------------------------------------------
// Packet parsing and TCP reassembly
// ---------------------------------------------------------------------------

/// Index 0 or 1 of an endpoint of a connection.
type Side = usize;

#[derive(Default)]
struct Builder {
    conns: Vec<Conn>,
    /// (lower address, higher address) -> index of the current connection.
    by_key: HashMap<(SocketAddrV4, SocketAddrV4), usize>,
    datagrams: Vec<Datagram>,
    skipped: Vec<Skipped>,
}

struct Conn {
    /// `ends[0]` sent the first packet seen.
    ends: [SocketAddrV4; 2],
    halves: [Half; 2],
    /// The side that sent a SYN without ACK.
    syn_from: Option<Side>,
    /// The side that sent a SYN with ACK.
    syn_ack_from: Option<Side>,
    first_packet: usize,
}

#[derive(Default)]
struct Half {
    /// Sequence number of this side's SYN.
    isn: Option<u32>,
    /// Data segments in capture order: (sequence number of the first byte,
    /// bytes).
    segments: Vec<(u32, Vec<u8>)>,
    /// Sequence number of this side's FIN (the end of its data).
    fin: Option<u32>,
}

struct TcpSegment<'a> {
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
    payload: &'a [u8],
}

impl Builder {
    fn skip(&mut self, packet: usize, reason: SkipReason) {
        self.skipped.push(Skipped { packet, reason });
    }

    fn packet(&mut self, index: usize, link_type: u32, data: &[u8]) {
        let sliced = match slice_link(link_type, data) {
            Ok(sliced) => sliced,
            Err(reason) => return self.skip(index, reason),
        };
        let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
            return self.skip(index, SkipReason::NotIpv4);
        };
        if ip.is_payload_fragmented() {
            return self.skip(index, SkipReason::Fragment);
        }
        let (src_ip, dst_ip) = (ip.header().source_addr(), ip.header().destination_addr());
        match &sliced.transport {
            Some(TransportSlice::Tcp(tcp)) => self.tcp(
                index,
                TcpSegment {
                    src: SocketAddrV4::new(src_ip, tcp.source_port()),
                    dst: SocketAddrV4::new(dst_ip, tcp.destination_port()),
                    seq: tcp.sequence_number(),
                    syn: tcp.syn(),
                    ack: tcp.ack(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                    payload: tcp.payload(),
                },
            ),
            Some(TransportSlice::Udp(udp)) => self.datagrams.push(Datagram {
                packet: index,
                src: SocketAddrV4::new(src_ip, udp.source_port()),
                dst: SocketAddrV4::new(dst_ip, udp.destination_port()),
                payload: udp.payload().to_vec(),
            }),
            Some(_) | None => self.skip(index, SkipReason::NotTcpOrUdp),
        }
    }

    fn tcp(&mut self, index: usize, seg: TcpSegment<'_>) {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let existing = self.by_key.get(&key).copied();
        // A new client SYN with another initial sequence number on a known
        // address pair starts a new connection (port reuse).
        let reused = existing.is_some_and(|i| {
            self.conns.get(i).is_some_and(|c| {
                let side = usize::from(c.ends[0] != seg.src);
                seg.syn && !seg.ack && c.halves[side].isn.is_some_and(|isn| isn != seg.seq)
            })
        });
        let conn_index = match existing {
            Some(i) if !reused => i,
            _ => {
                self.conns.push(Conn {
                    ends: [seg.src, seg.dst],
                    halves: [Half::default(), Half::default()],
                    syn_from: None,
                    syn_ack_from: None,
                    first_packet: index,
                });
                let i = self.conns.len() - 1;
                self.by_key.insert(key, i);
                i
            }
        };
        let Some(conn) = self.conns.get_mut(conn_index) else {
            return;
        };
        let side: Side = usize::from(conn.ends[0] != seg.src);
        let half = &mut conn.halves[side];
        let mut data_seq = seg.seq;
        if seg.syn {
            half.isn = Some(seg.seq);
            // The SYN occupies one sequence number; data (TCP fast open)
            // starts after it.
            data_seq = seg.seq.wrapping_add(1);
            if seg.ack {
                conn.syn_ack_from = Some(side);
            } else {
                conn.syn_from = Some(side);
            }
        }
        if !seg.payload.is_empty() && !seg.rst {
            half.segments.push((data_seq, seg.payload.to_vec()));
        }
        if seg.fin && !seg.rst {
            // Sequence-wise the FIN follows the segment's data.
            let len = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX);
            half.fin = Some(data_seq.wrapping_add(len));
        }
    }

    fn finish(self, link_type: u32, packets: usize) -> Capture {
        let streams = self.conns.into_iter().map(Conn::into_stream).collect();
        Capture {
            link_type,
            packets,
            streams,
            datagrams: self.datagrams,
            skipped: self.skipped,
        }
    }
}

impl Conn {
    fn into_stream(self) -> TcpStream {
        let client: Side = match (self.syn_from, self.syn_ack_from) {
            (Some(side), _) => side,
            (None, Some(server)) => 1 - server,
            (None, None) => {
                let [a, b] = self.ends;
                let is_server = |e: SocketAddrV4| SERVER_PORTS.contains(&e.port());
                if is_server(b) && !is_server(a) {
                    0
                } else if is_server(a) && !is_server(b) {
                    1
                } else {
                    usize::from(b.port() > a.port())
                }
            }
        };
        let server = 1 - client;
        let [h0, h1] = self.halves;
        let (client_half, server_half) = if client == 0 { (h0, h1) } else { (h1, h0) };
        let mut holes = Vec::new();
        let (to_server, to_server_segments) = client_half.assemble(Sender::Client, &mut holes);
        let (to_client, to_client_segments) = server_half.assemble(Sender::Server, &mut holes);
        TcpStream {
            client: self.ends[client],
            server: self.ends[server],
            to_server,
            to_client,
            to_server_segments,
            to_client_segments,
            holes,
            first_packet: self.first_packet,
        }
    }
}

impl Half {
    /// The byte stream from the start with holes zero-filled, and the
    /// lengths of the pieces it was made of; holes are appended to `holes`.
    ///
    /// Sequence numbers are unwrapped relative to the previous segment in
    /// capture order, so wrap-around and streams longer than 4 GiB work as
    /// long as consecutive segments are less than 2 GiB apart. The stream
    /// starts after the SYN if one was captured, else at the lowest
    /// sequence number seen. Duplicates and retransmissions are dropped;
    /// overlapping segments contribute only their new bytes (the first copy
    /// of a byte wins).
    fn assemble(self, sender: Sender, holes: &mut Vec<Hole>) -> (Vec<u8>, Vec<usize>) {
        let Some(&(first_seq, _)) = self.segments.first() else {
            return (Vec::new(), Vec::new());
        };
        let origin = self.isn.map_or(first_seq, |isn| isn.wrapping_add(1));
        let mut prev = (origin, 0i64);
        let mut unwrap = |seq: u32| {
            // Reinterpreting the wrapped difference as signed is the point.
            #[allow(clippy::cast_possible_wrap)]
            let delta = i64::from(seq.wrapping_sub(prev.0) as i32);
            let rel = prev.1 + delta;
            prev = (seq, rel);
            rel
        };
        let mut positioned: Vec<(i64, usize, Vec<u8>)> = Vec::with_capacity(self.segments.len());
        for (i, (seq, data)) in self.segments.into_iter().enumerate() {
            positioned.push((unwrap(seq), i, data));
        }
        let fin = self.fin.map(&mut unwrap);
        let start = if self.isn.is_some() {
            0
        } else {
            positioned.iter().map(|p| p.0).min().unwrap_or(0)
        };
        positioned.sort_by_key(|p| (p.0, p.1));

        let mut out = Vec::new();
        let mut pieces = Vec::new();
        let mut next = start;
        let mut zero_filled = 0u64;
        let offset = |at: i64| u64::try_from(at - start).unwrap_or(0);
        for (rel, _, data) in positioned {
            let len = i64::try_from(data.len()).unwrap_or(i64::MAX);
            let end = rel.saturating_add(len);
            if end <= next {
                continue; // duplicate, retransmission, or before the stream start
            }
            if rel > next {
                let missing = u64::try_from(rel - next).unwrap_or(u64::MAX);
                let filled = zero_filled.saturating_add(missing) <= MAX_HOLE_FILL;
                holes.push(Hole {
                    sender,
                    offset: offset(next),
                    missing,
                    filled,
                });
                if !filled {
                    return (out, pieces);
                }
                zero_filled += missing;
                let fill = usize::try_from(missing).unwrap_or(0);
                out.resize(out.len() + fill, 0);
                pieces.push(fill);
                next = rel;
            }
            let skip = usize::try_from(next - rel).unwrap_or(0);
            let new = data.get(skip..).unwrap_or_default();
            out.extend_from_slice(new);
            pieces.push(new.len());
            next = end;
        }
        if let Some(fin) = fin.filter(|&fin| fin > next) {
            holes.push(Hole {
                sender,
                offset: offset(next),
                missing: u64::try_from(fin - next).unwrap_or(0),
                filled: false,
            });
        }
        (out, pieces)
    }
}

/// Slices a packet of the given link type down to its transport header.
fn slice_link(link_type: u32, data: &[u8]) -> Result<SlicedPacket<'_>, SkipReason> {
    let malformed = |e: etherparse::err::packet::SliceError| SkipReason::Malformed(e.to_string());
    match link_type {
        LINKTYPE_ETHERNET => SlicedPacket::from_ethernet(data).map_err(malformed),
        // Cooked headers are read here: etherparse's SLL parser refuses the
        // ARPHRD_LOOPBACK hardware type that `tcpdump -i any` records for lo.
        LINKTYPE_LINUX_SLL | LINKTYPE_LINUX_SLL2 => {
            let (proto_at, header_len) = if link_type == LINKTYPE_LINUX_SLL {
                (SLL_PROTOCOL_AT, SLL_HEADER_LEN)
            } else {
                (0, SLL2_HEADER_LEN)
            };
            let short = || SkipReason::Malformed("short Linux cooked header".into());
            let proto = data.get(proto_at..proto_at + 2).ok_or_else(short)?;
            if proto != ETHERTYPE_IPV4 {
                return Err(SkipReason::NotIpv4);
            }
            SlicedPacket::from_ip(data.get(header_len..).ok_or_else(short)?).map_err(malformed)
        }
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let family: [u8; 4] = data
                .get(..4)
                .and_then(|f| f.try_into().ok())
                .ok_or(SkipReason::Malformed("short loopback header".into()))?;
            // Host byte order for NULL, network order for LOOP: accept both.
            if u32::from_le_bytes(family) != BSD_AF_INET
                && u32::from_be_bytes(family) != BSD_AF_INET
            {
                return Err(SkipReason::NotIpv4);
            }
            SlicedPacket::from_ip(data.get(4..).unwrap_or_default()).map_err(malformed)
        }
        // LINKTYPE_RAW, LINKTYPE_IPV4 (the caller checked the link type).
        _ => {
            if data.first().map(|b| b >> 4) != Some(4) {
                return Err(SkipReason::NotIpv4);
            }
            SlicedPacket::from_ip(data).map_err(malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::net::Ipv4Addr;

    const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 40000);
    const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 25064);

    /// A classic little-endian pcap file of raw IPv4 packets (link type 228).
    fn pcap_file(link_type: u32, packets: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&262_144u32.to_le_bytes());
        out.extend_from_slice(&link_type.to_le_bytes());
        for p in packets {
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&(p.len() as u32).to_le_bytes());
            out.extend_from_slice(&(p.len() as u32).to_le_bytes());
            out.extend_from_slice(p);
        }
        out
    }

    fn tcp(
        from: SocketAddrV4,
        to: SocketAddrV4,
        seq: u32,
        syn: bool,
        ack: bool,
        data: &[u8],
    ) -> Vec<u8> {
        let mut b = etherparse::PacketBuilder::ipv4(from.ip().octets(), to.ip().octets(), 64).tcp(
            from.port(),
            to.port(),
            seq,
            65535,
        );
        if syn {
            b = b.syn();
        }
        if ack {
            b = b.ack(1);
        }
        let mut out = Vec::new();
        b.write(&mut out, data).unwrap();
        out
    }

    fn udp(from: SocketAddrV4, to: SocketAddrV4, data: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ipv4(from.ip().octets(), to.ip().octets(), 64)
            .udp(from.port(), to.port());
        let mut out = Vec::new();
        b.write(&mut out, data).unwrap();
        out
    }

    #[test]
    fn reassembles_out_of_order_duplicate_and_overlapping_segments() {
        let isn = 0xFFFF_FFF0; // wraps around inside the stream
        let c = |seq: u32, d: &[u8]| tcp(CLIENT, SERVER, seq, false, true, d);
        let packets = vec![
            tcp(CLIENT, SERVER, isn, true, false, &[]),
            tcp(SERVER, CLIENT, 7, true, true, &[]),
            c(isn.wrapping_add(1), b"abcd"),
            c(isn.wrapping_add(9), b"ijkl"),    // out of order
            c(isn.wrapping_add(5), b"efgh"),    // fills the gap
            c(isn.wrapping_add(1), b"abcd"),    // duplicate
            c(isn.wrapping_add(11), b"klmnop"), // overlaps "kl"
            tcp(SERVER, CLIENT, 8, false, true, b"reply"),
        ];
        let cap = parse(&pcap_file(LINKTYPE_IPV4, &packets)).unwrap();
        assert_eq!(cap.packets, 8);
        assert_eq!(cap.streams.len(), 1);
        let s = &cap.streams[0];
        assert_eq!((s.client, s.server), (CLIENT, SERVER));
        assert_eq!(s.to_server, b"abcdefghijklmnop");
        assert_eq!(s.to_server_segments, [4, 4, 4, 4]);
        assert_eq!(s.to_client, b"reply");
        assert!(s.holes.is_empty());
        assert_eq!(cap.problems().count(), 0);
    }

    #[test]
    fn a_missing_segment_is_a_zero_filled_hole() {
        let packets = vec![
            tcp(SERVER, CLIENT, 100, false, true, b"0123"),
            tcp(SERVER, CLIENT, 110, false, true, b"abcd"),
        ];
        let cap = parse(&pcap_file(LINKTYPE_RAW, &packets)).unwrap();
        let s = &cap.streams[0];
        // No SYN: the non-server port is the client.
        assert_eq!((s.client, s.server), (CLIENT, SERVER));
        assert_eq!(s.to_client, b"0123\0\0\0\0\0\0abcd");
        assert_eq!(s.to_client_segments, [4, 6, 4]);
        assert_eq!(
            s.holes,
            [Hole {
                sender: Sender::Server,
                offset: 4,
                missing: 6,
                filled: true,
            }]
        );
    }

    #[test]
    fn data_missing_before_a_fin_is_an_unfilled_hole() {
        // The FIN comes at sequence 9 but data stops at 3: 6 bytes lost.
        let mut fin = tcp(CLIENT, SERVER, 9, false, true, &[]);
        fin[20 + 13] |= 0x01; // TCP flags byte after the 20-byte IPv4 header
        let packets = vec![
            tcp(CLIENT, SERVER, 0, true, false, &[]),
            tcp(CLIENT, SERVER, 1, false, true, b"ab"),
            fin,
        ];
        let cap = parse(&pcap_file(LINKTYPE_RAW, &packets)).unwrap();
        let s = &cap.streams[0];
        assert_eq!(s.to_server, b"ab");
        assert_eq!(
            s.holes,
            [Hole {
                sender: Sender::Client,
                offset: 2,
                missing: 6,
                filled: false,
            }]
        );
    }

    #[test]
    fn odd_packets_are_skipped_not_fatal() {
        let mut ipv6 = vec![0x60u8; 1];
        ipv6.extend_from_slice(&[0; 39]);
        let mut bad_ip = udp(CLIENT, SERVER, b"x");
        bad_ip.truncate(10);
        let cap = parse(&pcap_file(
            LINKTYPE_RAW,
            &[ipv6, bad_ip, udp(CLIENT, SERVER, b"hello")],
        ))
        .unwrap();
        assert_eq!(cap.datagrams.len(), 1);
        assert_eq!(cap.datagrams[0].payload, b"hello");
        assert_eq!(cap.skipped.len(), 2);
        assert_eq!(cap.skipped[0].reason, SkipReason::NotIpv4);
        assert!(matches!(cap.skipped[1].reason, SkipReason::Malformed(_)));

        let mut truncated_file = pcap_file(LINKTYPE_RAW, &[udp(CLIENT, SERVER, b"hello")]);
        truncated_file.truncate(truncated_file.len() - 2);
        let cap = parse(&truncated_file).unwrap();
        assert!(matches!(
            cap.skipped[0].reason,
            SkipReason::TruncatedFile { .. }
        ));

        assert!(matches!(parse(b"not a pcap"), Err(Error::Format(_))));
        assert!(matches!(
            parse(&pcap_file(147, &[])),
            Err(Error::UnsupportedLinkType(147))
        ));
    }

    #[test]
    fn linux_cooked_and_bsd_loopback_link_types() {
        let ip = udp(CLIENT, SERVER, b"sll");
        // Packet type, ARPHRD_LOOPBACK, address length, address, protocol.
        let mut sll = vec![0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ip);
        let cap = parse(&pcap_file(LINKTYPE_LINUX_SLL, &[sll])).unwrap();
        assert_eq!(cap.datagrams[0].payload, b"sll");

        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&udp(CLIENT, SERVER, b"null"));
        let cap = parse(&pcap_file(LINKTYPE_NULL, &[null])).unwrap();
        assert_eq!(cap.datagrams[0].payload, b"null");
    }

    #[test]
    fn random_packets_never_panic() {
        // Deterministic xorshift: garbage behind IPv4/TCP/UDP-looking
        // prefixes, for every supported link type, decoded all the way.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for link in [
            LINKTYPE_ETHERNET,
            LINKTYPE_LINUX_SLL,
            LINKTYPE_LINUX_SLL2,
            LINKTYPE_RAW,
            LINKTYPE_NULL,
        ] {
            let packets: Vec<Vec<u8>> = (0..300)
                .map(|i| {
                    let mut p = if i % 2 == 0 {
                        tcp(
                            CLIENT,
                            SERVER,
                            next() as u32,
                            i % 7 == 0,
                            true,
                            b"0123456789",
                        )
                    } else {
                        udp(SERVER, CLIENT, b"0123456789abcdef")
                    };
                    for _ in 0..(next() % 4) {
                        let at = (next() as usize) % p.len();
                        p[at] = next() as u8;
                    }
                    p.truncate(p.len() - (next() as usize) % 8);
                    let prefix = match link {
                        LINKTYPE_ETHERNET => [vec![0; 12], vec![0x08, 0x00]].concat(),
                        LINKTYPE_LINUX_SLL => [vec![0; 14], vec![0x08, 0x00]].concat(),
                        LINKTYPE_LINUX_SLL2 => [vec![0x08, 0x00], vec![0; 18]].concat(),
                        LINKTYPE_NULL => 2u32.to_le_bytes().to_vec(),
                        _ => Vec::new(),
                    };
                    [prefix, p].concat()
                })
                .collect();
            let cap = parse(&pcap_file(link, &packets)).unwrap();
            assert_eq!(cap.packets, 300);
            let _ = for_each_message(&cap, &DecodeOptions::default(), |_| {});
        }
    }

    #[test]
    fn datagram_direction_from_ports_and_command() {
        let beacon = {
            let mut v = Vec::new();
            ServerMessage::Beacon {
                minor_version: 13,
                server_port: 25064,
                beacon_id: 0,
                server_addr: 0,
            }
            .encode(&mut v);
            v
        };
        let d = |src: u16, dst: u16, payload: &[u8]| Datagram {
            packet: 0,
            src: SocketAddrV4::new(Ipv4Addr::LOCALHOST, src),
            dst: SocketAddrV4::new(Ipv4Addr::LOCALHOST, dst),
            payload: payload.to_vec(),
        };
        assert_eq!(datagram_sender(&d(40000, 25065, &beacon)), Sender::Server);
        assert_eq!(datagram_sender(&d(40000, 25065, &[0; 16])), Sender::Client);
        assert_eq!(datagram_sender(&d(25065, 40000, &beacon)), Sender::Server);
        assert_eq!(datagram_sender(&d(40000, 25064, &[0; 16])), Sender::Client);
        assert_eq!(datagram_sender(&d(25064, 40000, &[0; 16])), Sender::Server);
    }
}
