//! Golden tests: the replies recorded in `../shared/captures/*.pcap`,
//! formatted with `caproto_cli::format`, must print what the EPICS base
//! tools printed during the capture (`*.txt`), byte for byte.
//!
//! The only masked text is libca's "Current Time" (the client's wall clock
//! when it reported an exception, which the capture does not hold) and the
//! client's time of a disconnect in camonitor's output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use caproto_cli::format::{
    caget_dbr_block, caget_line, cainfo_block, caput_line, zeroed, ChannelInfo, ChannelStamps,
    ChannelState, PutPhase, ReadOutcome, Style, TimestampOptions, WideFormatter, WideOutcome,
};
use caproto_cli::messages;
use caproto_cli::time::TimeZone;
use caproto_core::dbr::{decode, DbrData, DbrFamily, DbrType, EpicsTime};
use caproto_core::wire::{ClientMessage, Command, ServerMessage};
use caproto_core::{AccessRights, EcaStatus};
use caproto_testkit::pcap::{self, CaMessage, DecodeOptions, Origin};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures")
}

/// One channel of a TCP circuit.
#[derive(Debug, Default, Clone)]
struct Chan {
    name: String,
    native: Option<DbrType>,
    count: u32,
    rights: AccessRights,
}

/// A reply to a read, keyed by ioid.
#[derive(Debug, Clone)]
enum Reply {
    Data(DbrType, DbrData),
    Error { status: EcaStatus, message: String },
}

/// Everything of one TCP circuit (one run of a C tool, usually).
#[derive(Debug, Default)]
struct Circuit {
    chans: HashMap<u32, Chan>,
    sid_to_cid: HashMap<u32, u32>,
    client: Vec<ClientMessage>,
    replies: HashMap<u32, Reply>,
    events: Vec<(u32, DbrType, DbrData)>,
    write_errors: Vec<(EcaStatus, String, DbrType, u32, u32)>,
    server_port: u16,
}

impl Circuit {
    fn chan_of_sid(&self, sid: u32) -> Chan {
        self.sid_to_cid
            .get(&sid)
            .and_then(|cid| self.chans.get(cid))
            .cloned()
            .unwrap_or_default()
    }

    /// The client's reads, in order: (channel, requested type, count, reply).
    fn reads(&self) -> Vec<(Chan, DbrType, u32, Option<Reply>)> {
        self.client
            .iter()
            .filter_map(|m| match m {
                ClientMessage::ReadNotify {
                    data_type,
                    count,
                    sid,
                    ioid,
                } => Some((
                    self.chan_of_sid(sid.0),
                    *data_type,
                    *count,
                    self.replies.get(&ioid.0).cloned(),
                )),
                _ => None,
            })
            .collect()
    }

    fn first_chan(&self) -> Chan {
        let mut cids: Vec<_> = self.chans.keys().copied().collect();
        cids.sort_unstable();
        cids.first()
            .and_then(|c| self.chans.get(c))
            .cloned()
            .unwrap_or_default()
    }
}

/// Reads a capture into its TCP circuits, in the order they were opened.
fn circuits(name: &str) -> Vec<Circuit> {
    let capture = pcap::load(captures().join(name)).expect("capture loads");
    let mut order: Vec<usize> = (0..capture.streams.len()).collect();
    order.sort_by_key(|&i| capture.streams[i].first_packet);
    let mut out: Vec<Circuit> = (0..capture.streams.len())
        .map(|_| Circuit::default())
        .collect();
    for (i, s) in capture.streams.iter().enumerate() {
        out[i].server_port = s.server.port();
    }
    let report = pcap::for_each_message(&capture, &DecodeOptions::default(), |m| {
        let Origin::Tcp { stream, .. } = m.origin else {
            return;
        };
        let c = &mut out[stream];
        match &m.message {
            CaMessage::Client(msg) => {
                if let ClientMessage::CreateChan { cid, name, .. } = msg {
                    c.chans.entry(cid.0).or_default().name = name.clone();
                }
                c.client.push(msg.clone());
            }
            CaMessage::Server(msg) => match msg {
                ServerMessage::CreateChanResponse {
                    data_type,
                    count,
                    cid,
                    sid,
                } => {
                    let ch = c.chans.entry(cid.0).or_default();
                    ch.native = Some(*data_type);
                    ch.count = *count;
                    c.sid_to_cid.insert(sid.0, cid.0);
                }
                ServerMessage::AccessRights { cid, rights } => {
                    c.chans.entry(cid.0).or_default().rights = *rights;
                }
                ServerMessage::ReadNotifyResponse {
                    data_type,
                    count,
                    ioid,
                    data,
                    status,
                } => {
                    let reply = if status.is_success() {
                        let d = decode(*data_type, *count, data).expect("reply decodes");
                        Reply::Data(*data_type, d)
                    } else {
                        // libca's getCopy reports a failed read with this
                        // fixed context text.
                        Reply::Error {
                            status: *status,
                            message: "read failed".to_owned(),
                        }
                    };
                    c.replies.insert(ioid.0, reply);
                }
                ServerMessage::EventAddResponse {
                    data_type,
                    count,
                    subid,
                    data,
                    ..
                } => {
                    let d = decode(*data_type, *count, data).expect("event decodes");
                    c.events.push((subid.0, *data_type, d));
                }
                ServerMessage::Error {
                    status,
                    request,
                    message,
                    ..
                } => {
                    if request.command == Command::READ_NOTIFY {
                        c.replies.insert(
                            request.parameter2,
                            Reply::Error {
                                status: *status,
                                message: message.clone(),
                            },
                        );
                    } else {
                        let t = DbrType::from_u16(request.data_type).unwrap_or(DbrType::String);
                        c.write_errors.push((
                            *status,
                            message.clone(),
                            t,
                            request.data_count,
                            request.parameter1,
                        ));
                    }
                }
                _ => {}
            },
        }
    });
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    order
        .into_iter()
        .map(|i| std::mem::take(&mut out[i]))
        .collect()
}

fn read_txt(name: &str) -> String {
    std::fs::read_to_string(captures().join(name)).expect("txt reads")
}

/// Compares line by line; lines starting with a masked prefix compare by
/// that prefix only.
fn assert_same(expected: &str, actual: &str, masked: &[&str]) {
    let e: Vec<&str> = expected.split_inclusive('\n').collect();
    let a: Vec<&str> = actual.split_inclusive('\n').collect();
    for (i, (x, y)) in e.iter().zip(a.iter()).enumerate() {
        let masked_line = masked.iter().any(|p| x.starts_with(p) && y.starts_with(p));
        assert!(
            masked_line || x == y,
            "line {} differs:\n expected {:?}\n   actual {:?}",
            i + 1,
            x.get(..x.len().min(200)),
            y.get(..y.len().min(200))
        );
    }
    assert_eq!(e.len(), a.len(), "line counts differ");
}

const CURRENT_TIME: &str = "    Current Time: ";

/// The exception libca prints for a read the server refused.
fn read_exception(chan: &Chan, t: DbrType, count: u32, status: EcaStatus, msg: &str) -> String {
    messages::ca_exception(
        status,
        Some(&messages::read_failure_context(&chan.name, t, count, msg)),
        Some(("../getCopy.cpp", 91)),
        EpicsTime::EPOCH,
        TimeZone::UTC,
    )
}

/// `caget -d`: one block per read; a refused read prints libca's
/// exception, the timeout line and the zero-filled buffer.
fn dbr_blocks(circuit: &Circuit, style: &Style, req_elems: u32) -> String {
    let mut out = String::new();
    for (chan, t, count, reply) in circuit.reads() {
        let native = chan.native.map(|d| d.native());
        match reply {
            Some(Reply::Data(rt, d)) => {
                out += &caget_dbr_block(
                    &chan.name,
                    native,
                    rt,
                    ReadOutcome::Data(&d),
                    req_elems,
                    style,
                );
            }
            Some(Reply::Error { status, message }) => {
                out += &read_exception(&chan, t, count, status, &message);
                out += &messages::read_timeout("caget");
                let z = zeroed(t, count as usize);
                out += &caget_dbr_block(
                    &chan.name,
                    native,
                    t,
                    ReadOutcome::Data(&z),
                    req_elems,
                    style,
                );
            }
            None => panic!("no reply for {}", chan.name),
        }
    }
    out
}

/// caget plain / terse lines for every read of the circuit.
fn plain_lines(circuit: &Circuit, style: &Style, req_elems: u32) -> String {
    let mut out = String::new();
    for (chan, _, _, reply) in circuit.reads() {
        match reply {
            Some(Reply::Data(t, d)) => {
                out += &caget_line(
                    &chan.name,
                    t,
                    ReadOutcome::Data(&d),
                    req_elems,
                    false,
                    style,
                );
            }
            other => panic!("unexpected reply {other:?}"),
        }
    }
    out
}

#[test]
fn get_native_matches_caget() {
    let c = circuits("get-native.pcap");
    assert_eq!(c.len(), 1);
    let out = plain_lines(&c[0], &Style::default(), 0);
    assert_same(&read_txt("get-native.txt"), &out, &[]);
}

#[test]
fn get_all_dbr_types_matches_caget_d() {
    let circuits = circuits("get-all-dbr-types.pcap");
    assert_eq!(circuits.len(), 140);
    let mut out = String::new();
    for c in &circuits {
        out += &dbr_blocks(c, &Style::default(), 0);
    }
    assert_same(&read_txt("get-all-dbr-types.txt"), &out, &[CURRENT_TIME]);
}

#[test]
fn get_special_matches_caget_d() {
    let mut out = String::new();
    for c in &circuits("get-special.pcap") {
        out += &dbr_blocks(c, &Style::default(), 0);
    }
    assert_same(&read_txt("get-special.txt"), &out, &[]);
}

#[test]
fn get_arrays_matches_caget() {
    let c = circuits("get-arrays.pcap");
    assert_eq!(c.len(), 3);
    // caget -# 10 t:wf
    let mut out = plain_lines(&c[0], &Style::default(), 10);
    // caget -S t:cwf
    let s = Style {
        char_array_as_string: true,
        ..Style::default()
    };
    out += &plain_lines(&c[1], &s, 0);
    // caget -d DBR_TIME_DOUBLE t:wf
    out += &dbr_blocks(&c[2], &Style::default(), 0);
    assert_same(&read_txt("get-arrays.txt"), &out, &[]);
}

#[test]
fn large_array_matches_caput_and_caget() {
    let c = circuits("large-array.pcap");
    let mut out = String::new();
    for circuit in &c {
        let reads = circuit.reads();
        // The caput's WRITE of 800 kB is not fully captured: a caput is the
        // circuit with two reads (old and new value).
        let is_put = reads.len() == 2;
        if is_put {
            out += &put_lines(circuit, &Style::default());
        } else {
            for (chan, _, _, reply) in reads {
                if let Some(Reply::Data(t, d)) = reply {
                    let req = if chan.count as usize != d.values.len() {
                        d.values.len() as u32
                    } else {
                        0
                    };
                    out += &caget_line(
                        &chan.name,
                        t,
                        ReadOutcome::Data(&d),
                        req,
                        false,
                        &Style::default(),
                    );
                }
            }
        }
    }
    // The .txt lines were cut by the recording; compare the prefixes.
    let expected = read_txt("large-array.txt");
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = out.lines().collect();
    assert_eq!(e.len(), a.len());
    for (x, y) in e.iter().zip(a.iter()) {
        assert!(
            y.starts_with(x),
            "{:?} is not a prefix of {:?}",
            x,
            &y[..y.len().min(200)]
        );
    }
}

/// caput: "Old : " and "New : " from the TIME-family reads (the GR_ENUM
/// read of an enum channel prints nothing), libca's exception for a
/// refused write in between.
fn put_lines(circuit: &Circuit, style: &Style) -> String {
    let mut out = String::new();
    let reads: Vec<_> = circuit
        .reads()
        .into_iter()
        .filter(|(_, t, _, _)| t.family() == DbrFamily::Time)
        .collect();
    for (i, (chan, _, _, reply)) in reads.iter().enumerate() {
        let phase = if i == 0 { PutPhase::Old } else { PutPhase::New };
        if i == 1 {
            for (status, msg, t, count, _) in &circuit.write_errors {
                out += &messages::ca_exception(
                    *status,
                    Some(&messages::request_failure_context(
                        1, &chan.name, *t, *count, msg,
                    )),
                    Some(("../oldChannelNotify.cpp", 159)),
                    EpicsTime::EPOCH,
                    TimeZone::UTC,
                );
            }
        }
        match reply {
            Some(Reply::Data(t, d)) => {
                out += &caput_line(phase, &chan.name, *t, ReadOutcome::Data(d), style);
            }
            other => panic!("unexpected reply {other:?}"),
        }
    }
    out
}

#[test]
fn put_matches_caput() {
    let c = circuits("put.pcap");
    assert_eq!(c.len(), 7);
    let mut out = String::new();
    for (i, circuit) in c.iter().enumerate() {
        // The sixth run was `caput -S t:cwf 'char string'`.
        let style = Style {
            char_array_as_string: i == 5,
            ..Style::default()
        };
        out += &put_lines(circuit, &style);
    }
    assert_same(&read_txt("put.txt"), &out, &[]);
}

#[test]
fn put_errors_match_caput() {
    let c = circuits("put-errors.pcap");
    assert_eq!(c.len(), 4);
    // caput t:ai.SCAN bogus: the GR_ENUM read, then the refusal.
    let mut out = messages::enum_string_invalid("bogus");
    // caput t:ro 7: the record refuses the write.
    out += &put_lines(&c[1], &Style::default());
    // caput nonexistent:pv 1: no server answers the search.
    out += &messages::connect_timeout(&["nonexistent:pv"]);
    // caput t:ao.DRVH 1, then caput -c t:ao 100 (clamped to DRVH).
    out += &put_lines(&c[2], &Style::default());
    out += &put_lines(&c[3], &Style::default());
    assert_same(&read_txt("put-errors.txt"), &out, &[CURRENT_TIME]);
}

#[test]
fn not_found_matches_caget() {
    // caget of two names that no server has.
    assert_eq!(
        messages::connect_timeout(&["a", "b"]),
        read_txt("not-found.txt")
    );
}

#[test]
fn info_matches_cainfo() {
    let c = circuits("info.pcap");
    assert_eq!(c.len(), 1);
    let circuit = &c[0];
    let mut cids: Vec<_> = circuit.chans.keys().copied().collect();
    cids.sort_unstable();
    let mut out = String::new();
    for cid in cids {
        let ch = &circuit.chans[&cid];
        let host = format!("localhost:{}", circuit.server_port);
        out += &cainfo_block(&ChannelInfo {
            name: &ch.name,
            state: ChannelState::Connected,
            host: &host,
            read: ch.rights.can_read(),
            write: ch.rights.can_write(),
            native: ch.native.map(|t| t.native()),
            count: ch.count,
        });
    }
    assert_same(&read_txt("info.txt"), &out, &[]);
}

#[test]
fn monitor_matches_camonitor() {
    let c = circuits("monitor.pcap");
    assert_eq!(c.len(), 3);
    let style = Style::default();
    let mut stdout = String::new();
    let mut wide = WideFormatter::new(TimestampOptions::default(), EpicsTime::EPOCH);
    for circuit in &c[..2] {
        // camonitor -# 1 t:calc, then camonitor -m a t:ai.
        let req = circuit
            .client
            .iter()
            .find_map(|m| match m {
                ClientMessage::EventAdd { count, .. } => Some(*count),
                _ => None,
            })
            .unwrap_or(0);
        let chan = circuit.first_chan();
        let mut stamps = ChannelStamps::default();
        for (_, t, d) in &circuit.events {
            stdout += &wide.line(
                &chan.name,
                &mut stamps,
                WideOutcome::Data(*t, d),
                1,
                req,
                EpicsTime::EPOCH,
                &style,
            );
        }
        if circuit.server_port != 0 && chan.name == "t:ai" {
            // The IOC was stopped: the circuit went down.
            stdout += &wide.line(
                &chan.name,
                &mut stamps,
                WideOutcome::Disconnected,
                1,
                req,
                // The client's clock at the disconnect (masked below).
                circuit
                    .events
                    .last()
                    .map_or(EpicsTime::EPOCH, |e| e.2.meta.timestamp),
                &style,
            );
        }
    }
    // The third circuit is the `caput t:ai 9` (output not recorded) that
    // raised the alarm.
    let txt = read_txt("monitor.txt");
    // The disconnect line carries the client's clock (not in the capture):
    // mask its 26 characters in both texts.
    let mask_disconnect = |l: &str| -> String {
        match (l.get(..31), l.get(57..)) {
            (Some(head), Some(tail)) if tail == " *** disconnected\n" => {
                format!("{head}<client time>{tail}")
            }
            _ => l.to_owned(),
        }
    };
    let expected: String = txt
        .split_inclusive('\n')
        .filter(|l| l.starts_with("t:"))
        .map(mask_disconnect)
        .collect();
    let actual: String = stdout.split_inclusive('\n').map(mask_disconnect).collect();
    assert!(actual.contains("<client time> *** disconnected"));
    assert_same(&expected, &actual, &[]);
    // The stderr part: libca's report of the lost circuit.
    let stderr: String = txt
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("t:") && !l.starts_with("bash:"))
        .collect();
    let report = messages::ca_exception(
        EcaStatus::ECA_DISCONN,
        Some("localhost:25064"),
        Some(("../cac.cpp", 1238)),
        EpicsTime::EPOCH,
        TimeZone::UTC,
    );
    assert_same(&stderr, &report, &[CURRENT_TIME]);
}

/// caput's writes in put.pcap are what `plan::put_request` builds from the
/// same command lines, and its reads what `plan::put_read_request` asks.
#[test]
fn put_requests_match_caput_writes() {
    use caproto_cli::args::parse_put;
    use caproto_cli::plan::{put_read_request, put_request};

    let command_lines: [&[&str]; 7] = [
        &["t:ao", "2.5"],
        &["-c", "t:ao", "4.25"],
        &["t:str", "new value"],
        &["t:mbbo", "two"],
        &["-a", "t:wf", "3", "1.5", "2.5", "3.5"],
        &["-S", "t:cwf", "char string"],
        &["t:long", "123456"],
    ];
    let c = circuits("put.pcap");
    assert_eq!(c.len(), command_lines.len());
    for (circuit, args) in c.iter().zip(command_lines) {
        let argv = std::iter::once("caput").chain(args.iter().copied());
        let o = parse_put(argv, "caput", None).expect("parses").options;
        let chan = circuit.first_chan();
        let native = chan.native.expect("connected").native();
        let states: Vec<String> = circuit
            .reads()
            .iter()
            .find_map(|(_, t, _, r)| match r {
                Some(Reply::Data(_, d)) if *t == DbrType::GrEnum => {
                    Some(d.meta.enum_strings.clone())
                }
                _ => None,
            })
            .unwrap_or_default();
        let req = put_request(&o, native, &states).expect("valid value");
        let (written_type, written) = circuit
            .client
            .iter()
            .find_map(|m| match m {
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
                } => Some((
                    *data_type,
                    decode(*data_type, *count, data).expect("decodes"),
                )),
                _ => None,
            })
            .expect("a write");
        assert_eq!(req.dbr_type(), written_type, "{args:?}");
        assert_eq!(req.values, written.values, "{args:?}");
        assert_eq!(
            matches!(
                circuit.client.iter().find(|m| matches!(
                    m,
                    ClientMessage::Write { .. } | ClientMessage::WriteNotify { .. }
                )),
                Some(ClientMessage::WriteNotify { .. })
            ),
            o.callback
        );
        let (t, n) = put_read_request(&o, native, chan.count);
        let time_reads: Vec<_> = circuit
            .reads()
            .into_iter()
            .filter(|(_, rt, _, _)| rt.family() == DbrFamily::Time)
            .map(|(_, rt, rn, _)| (rt, rn))
            .collect();
        assert_eq!(time_reads, vec![(t, n), (t, n)], "{args:?}");
    }
}

/// caget's reads in get-all-dbr-types.pcap are what `plan::get_request`
/// asks for `-d <type>`.
#[test]
fn get_requests_match_caget_reads() {
    use caproto_cli::args::parse_get;
    use caproto_cli::plan::get_request;

    for circuit in circuits("get-all-dbr-types.pcap") {
        let reads = circuit.reads();
        let (chan, t, count, _) = reads.first().expect("one read");
        let argv = ["caget", "-d", t.name(), chan.name.as_str()];
        let o = parse_get(argv, "caget", None).expect("parses").options;
        let native = chan.native.expect("connected").native();
        assert_eq!(get_request(&o, native, chan.count), (*t, *count));
    }
    let native = circuits("get-native.pcap");
    let o = parse_get(["caget", "x"], "caget", None)
        .expect("parses")
        .options;
    for (chan, t, count, _) in native[0].reads() {
        let n = chan.native.expect("connected").native();
        assert_eq!(get_request(&o, n, chan.count), (t, count), "{}", chan.name);
    }
}
