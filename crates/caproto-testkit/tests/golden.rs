//! Golden test: every CA message in the captures of real EPICS base traffic
//! (`../shared/captures/*.pcap`, see its MANIFEST.md) decodes with the
//! `caproto-core` wire layer and re-encodes to exactly the bytes on the wire.
//!
//! Directions: TCP bytes sent by the side that opened the connection are
//! decoded as `ClientMessage`, the other side's as `ServerMessage`. A UDP
//! datagram is a `ClientMessage` bundle when a client sent it to a server
//! (port 25064: searches) or to a repeater (port 25065: REPEATER_REGISTER),
//! and a `ServerMessage` bundle when a server sent it (search replies from
//! port 25064, beacons = RSRV_IS_UP to port 25065) or a repeater forwarded it
//! (from port 25065). See `caproto_testkit::pcap::datagram_sender`.
//!
//! Per-message checks are the [`HOOKS`]; per-capture checks compare decoded
//! fields with what the C tools printed (`NAME.txt`). Run with
//! `-- --nocapture` to see the per-capture summary.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use caproto_core::dbr::DbrType;
use caproto_core::wire::{ClientMessage, Command, Header, ServerMessage, EXTENDED_MARKER};
use caproto_core::{EcaStatus, Sid};
use caproto_testkit::pcap::{
    for_each_message, hex, load, CaMessage, Capture, Captured, DecodeOptions, Feed, Origin, Report,
    Sender,
};

/// Payload limit of the decoders: above the 4,000,000-byte WRITE of
/// large-array.pcap (100,000 DBR_STRING elements).
const MAX_PAYLOAD: u32 = 16 << 20;

// ---------------------------------------------------------------------------
// Per-message hooks
// ---------------------------------------------------------------------------

/// A check run on every decoded message: `Err` describes a failure.
type Hook = fn(&Captured<'_>) -> Result<(), String>;

/// The checks run on every message of every capture, by name.
///
/// To add a check (typed DBR decoding of data payloads, say), write a
/// `fn(&Captured) -> Result<(), String>` and list it here.
const HOOKS: &[(&str, Hook)] = &[
    ("re-encodes to the wire bytes", reencodes_identically),
    ("header matches the message", header_matches_message),
    (
        "DBR payload decodes and re-encodes",
        dbr_payload_round_trips,
    ),
];

/// The DBR payload of a data-carrying message: type, count, bytes.
fn dbr_payload(m: &CaMessage) -> Option<(DbrType, u32, &[u8])> {
    match m {
        CaMessage::Client(
            ClientMessage::Write {
                data_type,
                count,
                data,
                ..
            }
            | ClientMessage::WriteNotify {
                data_type,
                count,
                data,
                ..
            },
        )
        | CaMessage::Server(
            ServerMessage::ReadNotifyResponse {
                data_type,
                count,
                data,
                ..
            }
            | ServerMessage::ReadResponse {
                data_type,
                count,
                data,
                ..
            }
            | ServerMessage::EventAddResponse {
                data_type,
                count,
                data,
                ..
            },
        ) => Some((*data_type, *count, data.as_slice())),
        _ => None,
    }
}

/// Every DBR payload decodes to typed values and metadata, and encoding
/// those gives a payload that decodes to the same (bytes can differ only in
/// pad fields and after a string's NUL, which real servers leave dirty).
fn dbr_payload_round_trips(m: &Captured<'_>) -> Result<(), String> {
    let Some((t, count, data)) = dbr_payload(&m.message) else {
        return Ok(());
    };
    let decoded = caproto_core::dbr::decode(t, count, data)
        .map_err(|e| format!("{t} x{count} does not decode: {e}"))?;
    if decoded.values.len() != count as usize {
        return Err(format!(
            "{t} x{count} decoded {} values",
            decoded.values.len()
        ));
    }
    let mut out = Vec::new();
    caproto_core::dbr::encode(t, &decoded.meta, &decoded.values, &mut out)
        .map_err(|e| format!("{t} x{count} does not re-encode: {e}"))?;
    if out.len() != caproto_core::dbr::payload_size(t, count) {
        return Err(format!("{t} x{count} re-encoded to {} bytes", out.len()));
    }
    let again = caproto_core::dbr::decode(t, count, &out).map_err(|e| e.to_string())?;
    // Debug output compares NaNs and -0.0 the way the bytes do.
    if format!("{again:?}") != format!("{decoded:?}") {
        return Err(format!("{t} x{count} changed in a round trip"));
    }
    Ok(())
}

/// `encode(decode(frame)) == frame`.
fn reencodes_identically(m: &Captured<'_>) -> Result<(), String> {
    let mut out = Vec::new();
    m.message.encode(&mut out);
    if out == m.frame {
        return Ok(());
    }
    let at = out
        .iter()
        .zip(m.frame)
        .position(|(a, b)| a != b)
        .unwrap_or(out.len().min(m.frame.len()));
    let from = at.saturating_sub(8);
    Err(format!(
        "re-encoding differs at byte {at} (lengths: wire {}, re-encoded {})\n      wire:       {}\n      re-encoded: {}\n      message: {}",
        m.frame.len(),
        out.len(),
        hex(m.frame.get(from..(at + 24).min(m.frame.len())).unwrap_or_default()),
        hex(out.get(from..(at + 24).min(out.len())).unwrap_or_default()),
        short_debug(&m.message),
    ))
}

/// The message's own header is the one that was decoded.
fn header_matches_message(m: &Captured<'_>) -> Result<(), String> {
    let h = m.message.header();
    if h == m.header {
        Ok(())
    } else {
        Err(format!("decoded {:?}, message encodes {h:?}", m.header))
    }
}

fn short_debug(m: &CaMessage) -> String {
    let s = format!("{m:?}");
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

fn captures_dir() -> PathBuf {
    // crates/caproto-testkit -> the workspace -> its parent, which holds shared/.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    assert!(
        dir.is_dir(),
        "golden captures not found at {}: the workspace must sit beside shared/ \
         (shared/captures/*.pcap, recorded from EPICS base 7.0.8.1)",
        dir.display()
    );
    dir
}

fn capture_paths() -> Vec<PathBuf> {
    let dir = captures_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no *.pcap in {}", dir.display());
    paths
}

fn name_of(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

fn load_named(name: &str) -> Capture {
    let path = captures_dir().join(format!("{name}.pcap"));
    load(&path).unwrap_or_else(|e| panic!("{name}.pcap: {e}"))
}

fn txt(name: &str) -> String {
    let path = captures_dir().join(format!("{name}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One decoded message, owned.
#[derive(Debug, Clone, PartialEq)]
struct Msg {
    origin: Origin,
    header: Header,
    frame: Vec<u8>,
    message: CaMessage,
}

/// Decodes every message of a capture (fed in TCP segments) and fails on
/// anything that does not decode.
fn decode_all(name: &str, capture: &Capture) -> (Vec<Msg>, Report) {
    decode_with(name, capture, Feed::Segments)
}

fn decode_with(name: &str, capture: &Capture, feed: Feed) -> (Vec<Msg>, Report) {
    let options = DecodeOptions {
        max_payload: MAX_PAYLOAD,
        feed,
    };
    let mut msgs = Vec::new();
    let report = for_each_message(capture, &options, |m| {
        msgs.push(Msg {
            origin: m.origin,
            header: m.header,
            frame: m.frame.to_vec(),
            message: m.message.clone(),
        });
    });
    let failures: Vec<String> = report.failures.iter().map(|f| format!("  {f}")).collect();
    assert!(
        failures.is_empty(),
        "{name}.pcap ({feed:?}): {} frames the wire layer could not decode:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (msgs, report)
}

fn client_msgs(msgs: &[Msg]) -> impl Iterator<Item = (&Msg, &ClientMessage)> {
    msgs.iter().filter_map(|m| match &m.message {
        CaMessage::Client(c) => Some((m, c)),
        CaMessage::Server(_) => None,
    })
}

fn server_msgs(msgs: &[Msg]) -> impl Iterator<Item = (&Msg, &ServerMessage)> {
    msgs.iter().filter_map(|m| match &m.message {
        CaMessage::Server(s) => Some((m, s)),
        CaMessage::Client(_) => None,
    })
}

fn count_cmd(msgs: &[Msg], sender: Sender, command: Command) -> usize {
    msgs.iter()
        .filter(|m| m.origin.sender() == sender && m.header.command == command)
        .count()
}

fn stream_of(m: &Msg) -> Option<usize> {
    match m.origin {
        Origin::Tcp { stream, .. } => Some(stream),
        Origin::Udp { .. } => None,
    }
}

fn is_extended(frame: &[u8]) -> bool {
    frame.get(2..4) == Some(&EXTENDED_MARKER.to_be_bytes()[..]) && frame.get(6..8) == Some(&[0, 0])
}

fn f64_at(data: &[u8], at: usize) -> f64 {
    f64::from_be_bytes(data[at..at + 8].try_into().unwrap())
}

fn i32_at(data: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(data[at..at + 4].try_into().unwrap())
}

fn u16_at(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(data[at..at + 2].try_into().unwrap())
}

/// The NUL-terminated string at `at`.
fn str_at(data: &[u8], at: usize) -> String {
    let rest = &data[at..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

// Offsets of the value in DBR_TIME_* payloads (db_access.h: status, severity,
// epicsTimeStamp, then padding so that the value is aligned).
const TIME_STRING_VALUE: usize = 12;
const TIME_LONG_VALUE: usize = 12;
const TIME_DOUBLE_VALUE: usize = 16;

// ---------------------------------------------------------------------------
// The whole corpus
// ---------------------------------------------------------------------------

/// Messages decoded per capture; a capture not listed here must decode at
/// least one message. Update when a capture is re-recorded.
const EXPECTED_MESSAGES: &[(&str, usize)] = &[
    ("get-all-dbr-types", 2104),
    ("get-arrays", 45),
    ("get-native", 105),
    ("get-special", 45),
    ("info", 27),
    ("ioc-startup-beacons", 8),
    ("large-array", 47),
    ("monitor", 65),
    ("not-found", 15),
    ("put-errors", 79),
    ("put", 129),
];

/// Messages the captures hold only in part, as (capture, command, sender,
/// payload size, payload bytes missing).
///
/// large-array.pcap: tcpdump dropped 3,204,429 bytes of caput's 4,000,000-byte
/// WRITE of 100,000 DBR_STRING elements (the capture has packets up to TCP
/// sequence offset 795,707 of that stream, then resumes exactly at the next
/// message). The header is captured, so decoding resumes after it; the
/// message itself can be neither decoded nor re-encoded.
const KNOWN_INCOMPLETE: &[(&str, Command, Sender, u32, u64)] = &[(
    "large-array",
    Command::WRITE,
    Sender::Client,
    4_000_000,
    3_204_429,
)];

#[test]
fn every_message_decodes_and_reencodes_to_the_wire_bytes() {
    let mut problems = Vec::new();
    let mut total = 0;
    for path in capture_paths() {
        let name = name_of(&path);
        let capture = load(&path).unwrap_or_else(|e| panic!("{name}.pcap: {e}"));
        let odd: Vec<String> = capture.problems().map(|s| s.to_string()).collect();
        assert!(odd.is_empty(), "{name}.pcap: unusable packets: {odd:?}");

        let mut hook_failures = Vec::new();
        let mut per_command: BTreeMap<(Sender, Command), usize> = BTreeMap::new();
        let options = DecodeOptions {
            max_payload: MAX_PAYLOAD,
            feed: Feed::Segments,
        };
        let report = for_each_message(&capture, &options, |m| {
            *per_command
                .entry((m.origin.sender(), m.header.command))
                .or_default() += 1;
            for (what, hook) in HOOKS {
                if let Err(e) = hook(m) {
                    hook_failures.push(format!(
                        "  {name}.pcap {}: {what}: {} {:?}\n      {e}",
                        m.origin, m.header.command, m.header
                    ));
                }
            }
        });
        for f in &report.failures {
            problems.push(format!("  {name}.pcap: {f}"));
        }
        problems.extend(hook_failures);

        let expected_incomplete: Vec<_> = KNOWN_INCOMPLETE
            .iter()
            .filter(|k| k.0 == name)
            .map(|k| (k.1, k.2, k.3, k.4))
            .collect();
        let incomplete: Vec<_> = report
            .incomplete
            .iter()
            .map(|i| {
                (
                    i.header.command,
                    i.origin.sender(),
                    i.header.payload_size,
                    i.missing,
                )
            })
            .collect();
        if incomplete != expected_incomplete {
            problems.push(format!(
                "  {name}.pcap: messages only partly captured: {:?}, expected {expected_incomplete:?}",
                report.incomplete
            ));
        }

        match EXPECTED_MESSAGES.iter().find(|(n, _)| *n == name) {
            Some(&(_, n)) if report.messages != n => problems.push(format!(
                "  {name}.pcap: {} messages decoded, expected {n}",
                report.messages
            )),
            None if report.messages == 0 => {
                problems.push(format!("  {name}.pcap: no CA message found"))
            }
            _ => {}
        }

        let tcp_bytes: usize = capture
            .streams
            .iter()
            .map(|s| s.to_server.len() + s.to_client.len())
            .sum();
        let commands: Vec<String> = per_command
            .iter()
            .map(|((s, c), n)| {
                let side = if *s == Sender::Client { "C" } else { "S" };
                format!("{side}:{c}={n}")
            })
            .collect();
        println!(
            "{name}: {} messages ({} TCP streams, {} bytes; {} UDP datagrams; {} partly captured) [{}]",
            report.messages,
            capture.streams.len(),
            tcp_bytes,
            capture.datagrams.len(),
            report.incomplete.len(),
            commands.join(" ")
        );
        total += report.messages;
    }
    println!("total: {total} messages");
    assert!(
        problems.is_empty(),
        "{} problems in the golden captures:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn decoding_does_not_depend_on_how_tcp_bytes_arrive() {
    for path in capture_paths() {
        let name = name_of(&path);
        let capture = load(&path).unwrap();
        let (reference, _) = decode_with(&name, &capture, Feed::Segments);
        let big = capture
            .streams
            .iter()
            .any(|s| s.to_server.len() + s.to_client.len() > 1 << 20);
        // Byte-at-a-time over megabytes is slow in debug builds.
        let feeds: &[Feed] = if big {
            &[Feed::Whole, Feed::Chunks(4093)]
        } else {
            &[
                Feed::Whole,
                Feed::Chunks(1),
                Feed::Chunks(7),
                Feed::Chunks(100),
            ]
        };
        for &feed in feeds {
            let (msgs, _) = decode_with(&name, &capture, feed);
            assert_eq!(msgs.len(), reference.len(), "{name}.pcap fed as {feed:?}");
            for (a, b) in reference.iter().zip(&msgs) {
                assert!(
                    a == b,
                    "{name}.pcap fed as {feed:?}: {:?} vs {:?}",
                    a.origin,
                    b.origin
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Decoded fields against what the C tools printed
// ---------------------------------------------------------------------------

#[test]
// t:ao holds 3.14 (captures.db), which is not meant as pi.
#[allow(clippy::approx_constant)]
fn get_native_matches_caget_output() {
    let capture = load_named("get-native");
    let (msgs, _) = decode_all("get-native", &capture);
    let out = txt("get-native");
    let printed: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();

    // One CREATE_CHAN per PV caget printed, in order.
    let created: Vec<(u32, String)> = client_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ClientMessage::CreateChan { cid, name, .. } => Some((cid.0, name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 11);
    assert_eq!(
        created.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(),
        printed
    );
    assert_eq!(count_cmd(&msgs, Sender::Server, Command::CREATE_CHAN), 11);
    assert_eq!(count_cmd(&msgs, Sender::Client, Command::READ_NOTIFY), 11);
    assert_eq!(count_cmd(&msgs, Sender::Server, Command::READ_NOTIFY), 11);
    // The UDP search bundle: VERSION + 11 SEARCH in one datagram, answered
    // in one datagram.
    assert_eq!(capture.datagrams.len(), 2);
    assert_eq!(count_cmd(&msgs, Sender::Client, Command::SEARCH), 11);
    assert_eq!(count_cmd(&msgs, Sender::Server, Command::SEARCH), 11);

    // name -> sid and native count from the CREATE_CHAN replies.
    let cid_name: HashMap<u32, String> = created.into_iter().collect();
    let mut sid_name: HashMap<Sid, String> = HashMap::new();
    let mut native: HashMap<String, (DbrType, u32)> = HashMap::new();
    for (_, m) in server_msgs(&msgs) {
        if let ServerMessage::CreateChanResponse {
            data_type,
            count,
            cid,
            sid,
        } = m
        {
            let name = cid_name[&cid.0].clone();
            sid_name.insert(*sid, name.clone());
            native.insert(name, (*data_type, *count));
        }
    }
    // Array PVs: caget prints the element count after the name.
    for line in out.lines() {
        let mut words = line.split_whitespace();
        let (Some(pv), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        if words.next().is_some() {
            let n: u32 = n.parse().unwrap();
            assert_eq!(native[pv].1, n, "element count of {pv}");
        }
    }
    assert_eq!(native["t:ao"], (DbrType::Double, 1));
    assert_eq!(native["t:str"], (DbrType::String, 1));
    assert_eq!(native["t:wf"], (DbrType::Double, 1000));

    // ioid -> PV, then the values of the replies.
    let mut ioid_name = HashMap::new();
    for (_, m) in client_msgs(&msgs) {
        if let ClientMessage::ReadNotify { sid, ioid, .. } = m {
            ioid_name.insert(*ioid, sid_name[sid].clone());
        }
    }
    let mut checked = BTreeSet::new();
    for (_, m) in server_msgs(&msgs) {
        let ServerMessage::ReadNotifyResponse {
            data_type,
            ioid,
            status,
            data,
            ..
        } = m
        else {
            continue;
        };
        assert_eq!(*status, EcaStatus::ECA_NORMAL);
        let pv = ioid_name[ioid].as_str();
        match pv {
            "t:ao" | "t:ai" => {
                assert_eq!(*data_type, DbrType::TimeDouble);
                let expected = if pv == "t:ao" { 3.14 } else { 1.5 };
                assert_eq!(f64_at(data, TIME_DOUBLE_VALUE), expected, "{pv}");
            }
            "t:long" => assert_eq!(i32_at(data, TIME_LONG_VALUE), 42),
            "t:str" => assert_eq!(str_at(data, TIME_STRING_VALUE), "hello"),
            "t:bo" => assert_eq!(str_at(data, TIME_STRING_VALUE), "Off"),
            "t:mbbo" => assert_eq!(str_at(data, TIME_STRING_VALUE), "one"),
            _ => continue,
        }
        checked.insert(pv);
    }
    assert_eq!(checked.len(), 6, "{checked:?}");
}

#[test]
fn large_array_uses_extended_headers_both_ways() {
    let capture = load_named("large-array");
    let (msgs, report) = decode_all("large-array", &capture);
    let out = txt("large-array");
    assert!(out.contains("t:big 100000 1 2 3 4 5"));

    // The client asks for 100,000 elements: the count needs an extended header.
    let requests: Vec<&Msg> = client_msgs(&msgs)
        .filter(|(_, m)| matches!(m, ClientMessage::ReadNotify { count: 100_000, .. }))
        .map(|(m, _)| m)
        .collect();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert!(is_extended(&r.frame), "{:?}", hex(&r.frame));
        assert_eq!(r.frame.len(), 24);
    }

    // The server's 100,000-element DBR_TIME_DOUBLE replies.
    let replies: Vec<(&Msg, &Vec<u8>)> = server_msgs(&msgs)
        .filter_map(|(msg, m)| match m {
            ServerMessage::ReadNotifyResponse {
                data_type: DbrType::TimeDouble,
                count: 100_000,
                status: EcaStatus::ECA_NORMAL,
                data,
                ..
            } => Some((msg, data)),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 3);
    for (msg, data) in &replies {
        assert!(is_extended(&msg.frame));
        assert_eq!(msg.header.payload_size, 800_016);
        assert_eq!(data.len(), 800_016);
    }
    // Before the write: all zeros; after it: 1, 2, 3, ... 100000 (caput's "New :").
    assert!((0..100_000).all(|i| f64_at(replies[0].1, TIME_DOUBLE_VALUE + 8 * i) == 0.0));
    for (_, data) in &replies[1..] {
        for i in [0usize, 1, 2, 3, 4, 99_999] {
            assert_eq!(f64_at(data, TIME_DOUBLE_VALUE + 8 * i), (i + 1) as f64);
        }
    }
    // `caget -# 5`: 5 elements, a standard header.
    let five = server_msgs(&msgs)
        .find(|(_, m)| matches!(m, ServerMessage::ReadNotifyResponse { count: 5, .. }))
        .unwrap();
    assert!(!is_extended(&five.0.frame));

    // caput's write: 100,000 DBR_STRING elements (4,000,000 bytes), header
    // captured, most of the payload lost by tcpdump (see KNOWN_INCOMPLETE).
    assert_eq!(report.incomplete.len(), 1);
    let write = &report.incomplete[0].header;
    assert_eq!(write.command, Command::WRITE);
    assert_eq!(write.data_type, DbrType::String.code());
    assert_eq!(write.data_count, 100_000);
    assert_eq!(write.payload_size, 4_000_000);
}

#[test]
fn info_matches_cainfo_output() {
    let capture = load_named("info");
    let (msgs, _) = decode_all("info", &capture);
    let out = txt("info");
    // cainfo blocks: "NAME", then "Native data type: DBF_X", "Element count: N".
    let mut expected = Vec::new();
    let mut lines = out.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with(' ') {
            continue;
        }
        let (mut ty, mut n) = (String::new(), 0u32);
        while let Some(l) = lines.next_if(|l| l.starts_with(' ')) {
            let l = l.trim();
            if let Some(v) = l.strip_prefix("Native data type:") {
                ty = v.trim().replace("DBF_", "DBR_");
            } else if let Some(v) = l.strip_prefix("Element count:") {
                n = v.trim().parse().unwrap();
            }
        }
        expected.push((line.trim().to_string(), ty, n));
    }
    assert_eq!(expected.len(), 3);

    let names: HashMap<u32, String> = client_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ClientMessage::CreateChan { cid, name, .. } => Some((cid.0, name.clone())),
            _ => None,
        })
        .collect();
    let got: Vec<(String, String, u32)> = server_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ServerMessage::CreateChanResponse {
                data_type,
                count,
                cid,
                ..
            } => Some((names[&cid.0].clone(), data_type.name().to_string(), *count)),
            _ => None,
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn get_all_dbr_types_requests_what_caget_printed() {
    let capture = load_named("get-all-dbr-types");
    let (msgs, _) = decode_all("get-all-dbr-types", &capture);
    let out = txt("get-all-dbr-types");
    let printed: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Request type:"))
        .map(str::trim)
        .collect();
    assert_eq!(printed.len(), 140);
    // One caget per stream, in order: its READ_NOTIFY asks for the printed type.
    let requested: Vec<(usize, &str)> = client_msgs(&msgs)
        .filter_map(|(msg, m)| match m {
            ClientMessage::ReadNotify { data_type, .. } => {
                Some((stream_of(msg).unwrap(), data_type.name()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        requested.iter().map(|r| r.1).collect::<Vec<_>>(),
        printed,
        "request types in capture order"
    );
    assert!(requested.windows(2).all(|w| w[0].0 < w[1].0));
    // Every plain, STS, TIME, GR and CTRL type was asked for and answered.
    let answered: BTreeSet<u16> = server_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ServerMessage::ReadNotifyResponse {
                data_type, status, ..
            } if *status == EcaStatus::ECA_NORMAL => Some(data_type.code()),
            _ => None,
        })
        .collect();
    assert_eq!(answered, (0..=34).collect());
}

#[test]
fn get_special_types_decode() {
    let capture = load_named("get-special");
    let (msgs, _) = decode_all("get-special", &capture);
    let out = txt("get-special");
    let reply = |t: DbrType| {
        server_msgs(&msgs)
            .find_map(|(_, m)| match m {
                ServerMessage::ReadNotifyResponse {
                    data_type, data, ..
                } if *data_type == t => Some(data.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {t:?} reply"))
    };
    // DBR_CLASS_NAME: the record type, "Class Name: ao".
    assert!(out.contains("Class Name:       ao"));
    assert_eq!(str_at(&reply(DbrType::ClassName), 0), "ao");
    // DBR_CTRL_ENUM: status, severity, no_str, then 26-byte strings (db_access.h).
    let ctrl = reply(DbrType::CtrlEnum);
    assert!(out.contains("[ 0] Off") && out.contains("[ 1] On"));
    assert_eq!(u16_at(&ctrl, 4), 2);
    assert_eq!(str_at(&ctrl, 6), "Off");
    assert_eq!(str_at(&ctrl, 6 + 26), "On");
    // DBR_STSACK_STRING: status, severity, ackt, acks, value.
    let stsack = reply(DbrType::StsackString);
    assert!(out.contains("Value:            1.50"));
    assert_eq!(str_at(&stsack, 8), "1.50");
}

#[test]
fn get_arrays_requests_counts() {
    let capture = load_named("get-arrays");
    let (msgs, _) = decode_all("get-arrays", &capture);
    let got: Vec<(DbrType, u32)> = server_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ServerMessage::ReadNotifyResponse {
                data_type, count, ..
            } => Some((*data_type, *count)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        [
            (DbrType::TimeDouble, 10),   // caget -# 10 t:wf
            (DbrType::TimeChar, 100),    // caget -S t:cwf
            (DbrType::TimeDouble, 1000)  // caget -d DBR_TIME_DOUBLE t:wf
        ]
    );
}

#[test]
fn put_writes_what_caput_printed() {
    let capture = load_named("put");
    let (msgs, _) = decode_all("put", &capture);
    let out = txt("put");
    let writes: Vec<(bool, DbrType, u32, String)> = client_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ClientMessage::Write {
                data_type,
                count,
                data,
                ..
            } => Some((false, *data_type, *count, str_at(data, 0))),
            ClientMessage::WriteNotify {
                data_type,
                count,
                data,
                ..
            } => Some((true, *data_type, *count, str_at(data, 0))),
            _ => None,
        })
        .collect();
    let expect = |notify, t, n, v: &str| (notify, t, n, v.to_string());
    assert_eq!(
        writes,
        [
            expect(false, DbrType::String, 1, "2.5"),
            expect(true, DbrType::String, 1, "4.25"), // caput -c: WRITE_NOTIFY
            expect(false, DbrType::String, 1, "new value"),
            expect(false, DbrType::String, 1, "two"),
            expect(false, DbrType::String, 3, "1.5"),
            expect(false, DbrType::Char, 12, "char string"), // caput -S
            expect(false, DbrType::String, 1, "123456"),
        ]
    );
    for (_, _, _, v) in &writes {
        assert!(out.contains(&format!(" {v}")), "caput printed {v}");
    }
    let acks: Vec<EcaStatus> = server_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ServerMessage::WriteNotifyResponse { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    assert_eq!(acks, [EcaStatus::ECA_NORMAL]);
}

#[test]
fn put_errors_carry_the_failed_request() {
    let capture = load_named("put-errors");
    let (msgs, _) = decode_all("put-errors", &capture);
    let out = txt("put-errors");
    let errors: Vec<(EcaStatus, Header, String)> = server_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ServerMessage::Error {
                status,
                request,
                message,
                ..
            } => Some((*status, *request, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1);
    let (status, request, message) = &errors[0];
    assert_eq!(*status, EcaStatus::ECA_PUTFAIL);
    assert!(
        out.contains(status.message()),
        "caput printed {:?}",
        status.message()
    );
    assert_eq!(request.command, Command::WRITE);
    assert_eq!(message, "t:ro");
    assert!(out.contains("channel=t:ro, type=DBR_STRING, count=1"));

    // The PV that does not exist: searched (libca retries), never answered.
    let searches = client_msgs(&msgs)
        .filter(
            |(_, m)| matches!(m, ClientMessage::Search { name, .. } if name == "nonexistent:pv"),
        )
        .count();
    assert!(searches >= 2, "{searches} searches");
    assert!(out.contains("'nonexistent:pv' not found"));
}

#[test]
fn not_found_searches_get_no_answer() {
    let capture = load_named("not-found");
    let (msgs, _) = decode_all("not-found", &capture);
    assert!(txt("not-found").contains("not found"));
    let names: BTreeSet<String> = client_msgs(&msgs)
        .filter_map(|(_, m)| match m {
            ClientMessage::Search { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        ["missing:one", "missing:two"].map(String::from).into()
    );
    assert_eq!(server_msgs(&msgs).count(), 0);
}

#[test]
fn monitor_events_match_camonitor_output() {
    let capture = load_named("monitor");
    let (msgs, _) = decode_all("monitor", &capture);
    let out = txt("monitor");
    let calc_lines = out.lines().filter(|l| l.starts_with("t:calc ")).count();
    // Stream 0 is `camonitor t:calc`: one EVENT_ADD reply per printed line.
    let calc_events = server_msgs(&msgs)
        .filter(|(msg, m)| {
            stream_of(msg) == Some(0) && matches!(m, ServerMessage::EventAddResponse { .. })
        })
        .count();
    assert_eq!(calc_events, calc_lines);
    assert_eq!(calc_events, 20);
    // Stream 1 monitors t:ai with DBE_ALARM only; its second update is the
    // HIHI/MAJOR alarm with value 9.
    let mask = client_msgs(&msgs)
        .find_map(|(msg, m)| match m {
            ClientMessage::EventAdd { mask, .. } if stream_of(msg) == Some(1) => Some(*mask),
            _ => None,
        })
        .unwrap();
    assert_eq!(mask, caproto_core::wire::EventMask::ALARM);
    assert!(out.contains("9 HIHI MAJOR"));
    let alarm = server_msgs(&msgs)
        .filter_map(|(msg, m)| match m {
            ServerMessage::EventAddResponse { data, .. } if stream_of(msg) == Some(1) => {
                Some(data.clone())
            }
            _ => None,
        })
        .nth(1)
        .unwrap();
    // status HIHI_ALARM = 3, severity MAJOR_ALARM = 2 (alarm.h).
    assert_eq!((u16_at(&alarm, 0), u16_at(&alarm, 2)), (3, 2));
    assert_eq!(f64_at(&alarm, TIME_DOUBLE_VALUE), 9.0);
}

#[test]
fn startup_beacons_count_up() {
    let capture = load_named("ioc-startup-beacons");
    let (msgs, _) = decode_all("ioc-startup-beacons", &capture);
    let beacons: Vec<(u16, u32)> = server_msgs(&msgs)
        .map(|(_, m)| match m {
            ServerMessage::Beacon {
                server_port,
                beacon_id,
                ..
            } => (*server_port, *beacon_id),
            other => panic!("not a beacon: {other:?}"),
        })
        .collect();
    assert_eq!(beacons.len(), 8);
    assert!(beacons.iter().all(|b| b.0 == 25064));
    assert!(beacons.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(capture.datagrams.iter().all(|d| d.dst.port() == 25065));
}

#[test]
fn the_reencode_hook_notices_a_changed_byte() {
    // Guards the golden test itself: a frame that differs from the
    // re-encoding in one byte must be reported.
    let message = CaMessage::Client(ClientMessage::Echo);
    let mut frame = Vec::new();
    message.encode(&mut frame);
    let header = message.header();
    let ok = Captured {
        origin: Origin::Udp {
            datagram: 0,
            sender: Sender::Client,
            offset: 0,
        },
        header,
        frame: &frame,
        message: message.clone(),
    };
    assert!(reencodes_identically(&ok).is_ok());
    let mut changed = frame.clone();
    changed[15] ^= 1;
    let bad = Captured {
        frame: &changed,
        ..ok
    };
    assert!(reencodes_identically(&bad).is_err());
}

/// The conversions rsrv performed in get-all-dbr-types.pcap (every DBR type
/// asked of a DOUBLE, an ENUM, a STRING and a LONG record) are the ones
/// `dbr::convert` performs: same values, and GETFAIL exactly where our
/// conversion fails. Record values and PREC are those of captures.db.
#[test]
#[allow(clippy::approx_constant)] // 3.14 is the ao record value in captures.db
fn server_conversions_match_what_rsrv_sent() {
    use caproto_core::dbr::{convert, ConvertContext, DbrValues};
    let capture = load_named("get-all-dbr-types");
    let (msgs, _) = decode_all("get-all-dbr-types", &capture);
    let states: Vec<String> = ["zero", "one", "two"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let record = |name: &str| -> (DbrValues, i16) {
        match name {
            "t:ao" => (DbrValues::Double(vec![3.14]), 3),
            "t:mbbo" => (DbrValues::Enum(vec![1]), 0),
            "t:str" => (DbrValues::String(vec!["hello".into()]), 0),
            "t:long" => (DbrValues::Long(vec![42]), 0),
            other => panic!("unexpected PV {other}"),
        }
    };
    let mut names: HashMap<usize, String> = HashMap::new();
    for (msg, m) in client_msgs(&msgs) {
        if let ClientMessage::CreateChan { name, .. } = m {
            names.insert(stream_of(msg).unwrap(), name.clone());
        }
    }
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (msg, m) in server_msgs(&msgs) {
        let ServerMessage::ReadNotifyResponse {
            data_type,
            count,
            status,
            data,
            ..
        } = m
        else {
            continue;
        };
        let pv = &names[&stream_of(msg).unwrap()];
        let (native, precision) = record(pv);
        let ctx = ConvertContext {
            precision,
            enum_strings: &states,
        };
        let ours = convert(&native, data_type.native(), &ctx);
        let theirs = caproto_core::dbr::decode(*data_type, *count, data).unwrap();
        checked += 1;
        match (ours, *status) {
            (Ok(v), EcaStatus::ECA_NORMAL)
                if format!("{v:?}") == format!("{:?}", theirs.values) => {}
            (Err(_), EcaStatus::ECA_GETFAIL) => {}
            (ours, status) => mismatches.push(format!(
                "{pv} as {data_type}: rsrv {status:?} {:?}, ours {ours:?}",
                theirs.values
            )),
        }
    }
    assert_eq!(checked, 140);
    assert!(
        mismatches.is_empty(),
        "{} conversions differ from rsrv:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
