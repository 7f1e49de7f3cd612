//! Decodes every Channel Access message of real EPICS traffic with
//! `caproto-core` and prints one line per message: where it was, who sent
//! it, and its decoded fields, DBR values included.
//!
//! ```sh
//! cargo run --release -p caproto-testkit --example decode-captures            # ../shared/captures/*.pcap
//! cargo run --release -p caproto-testkit --example decode-captures -- a.pcap  # any capture
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use caproto_core::dbr::{self, DbrType, DbrValues};
use caproto_core::wire::{ClientMessage, ServerMessage};
use caproto_testkit::pcap::{
    for_each_message, load, CaMessage, DecodeOptions, Feed, Origin, Sender,
};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let files = if args.is_empty() {
        default_captures()
    } else {
        Ok(args)
    };
    let files = match files {
        Ok(f) => f,
        Err(e) => {
            eprintln!("decode-captures: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for file in files {
        failed |= !decode_file(&file);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn default_captures() -> Result<Vec<PathBuf>, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| {
            format!(
                "cannot read {}: {e} (pass .pcap files as arguments)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    Ok(files)
}

fn decode_file(file: &Path) -> bool {
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let capture = match load(file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: {e}");
            return false;
        }
    };
    println!("== {name}");
    let options = DecodeOptions {
        max_payload: 64 << 20,
        feed: Feed::Segments,
    };
    let report = for_each_message(&capture, &options, |m| {
        let (place, dir) = match m.origin {
            Origin::Tcp { stream, sender, .. } => (format!("TCP#{stream}"), sender),
            Origin::Udp {
                datagram, sender, ..
            } => (format!("UDP#{datagram}"), sender),
        };
        let arrow = match dir {
            Sender::Client => "C->S",
            Sender::Server => "S->C",
        };
        println!("{place:>8} {arrow}  {}", describe(&m.message));
    });
    for f in &report.failures {
        println!("   FAILED {f:?}");
    }
    for i in &report.incomplete {
        println!(
            "   (not fully captured: {} at {}, {} bytes missing)",
            i.header.command, i.origin, i.missing
        );
    }
    println!(
        "== {name}: {} messages decoded, {} failures, {} not fully captured\n",
        report.messages,
        report.failures.len(),
        report.incomplete.len()
    );
    report.failures.is_empty()
}

/// A DBR payload as decoded values, at most 8 shown.
fn values(t: DbrType, count: u32, data: &[u8]) -> String {
    match dbr::decode(t, count, data) {
        Ok(d) => {
            let shown = match &d.values {
                DbrValues::String(v) => format!("{:?}", v.iter().take(8).collect::<Vec<_>>()),
                DbrValues::Double(v) => format!("{:?}", v.iter().take(8).collect::<Vec<_>>()),
                DbrValues::Float(v) => format!("{:?}", v.iter().take(8).collect::<Vec<_>>()),
                DbrValues::Long(v) => format!("{:?}", v.iter().take(8).collect::<Vec<_>>()),
                DbrValues::Short(v) => format!("{:?}", v.iter().take(8).collect::<Vec<_>>()),
                DbrValues::Enum(v) => format!("{:?}", v.iter().take(8).collect::<Vec<_>>()),
                DbrValues::Char(v) => format!("{:?}", v.iter().take(8).collect::<Vec<_>>()),
            };
            let more = if d.values.len() > 8 {
                format!(" (+{} more)", d.values.len() - 8)
            } else {
                String::new()
            };
            let m = &d.meta;
            let meta = match t.family() {
                dbr::DbrFamily::Plain
                | dbr::DbrFamily::ClassName
                | dbr::DbrFamily::PutAckt
                | dbr::DbrFamily::PutAcks => String::new(),
                dbr::DbrFamily::Sts | dbr::DbrFamily::StsackString => {
                    format!(" {} {}", m.status, m.severity)
                }
                dbr::DbrFamily::Time => format!(
                    " {} {} t={}.{:09}",
                    m.status, m.severity, m.timestamp.secs, m.timestamp.nanos
                ),
                dbr::DbrFamily::Gr | dbr::DbrFamily::Ctrl
                    if t.native() == dbr::NativeType::Enum =>
                {
                    format!(" {} {} states={:?}", m.status, m.severity, m.enum_strings)
                }
                dbr::DbrFamily::Gr | dbr::DbrFamily::Ctrl => format!(
                    " {} {} units={:?} prec={} disp=[{}, {}]",
                    m.status,
                    m.severity,
                    m.units,
                    m.precision,
                    m.limits.lower_disp,
                    m.limits.upper_disp
                ),
            };
            format!("{shown}{more}{meta}")
        }
        Err(e) => format!("<{e}>"),
    }
}

fn describe(m: &CaMessage) -> String {
    match m {
        CaMessage::Client(ClientMessage::Write {
            data_type,
            count,
            sid,
            ioid,
            data,
        })
        | CaMessage::Client(ClientMessage::WriteNotify {
            data_type,
            count,
            sid,
            ioid,
            data,
        }) => {
            let cmd = if matches!(m, CaMessage::Client(ClientMessage::Write { .. })) {
                "WRITE"
            } else {
                "WRITE_NOTIFY"
            };
            format!(
                "{cmd} sid={sid} ioid={ioid} {data_type} x{count} {}",
                values(*data_type, *count, data)
            )
        }
        CaMessage::Server(ServerMessage::ReadNotifyResponse {
            data_type,
            count,
            status,
            ioid,
            data,
        }) => {
            format!(
                "READ_NOTIFY reply ioid={ioid} {status:?} {data_type} x{count} {}",
                values(*data_type, *count, data)
            )
        }
        CaMessage::Server(ServerMessage::EventAddResponse {
            data_type,
            count,
            status,
            subid,
            data,
        }) => {
            format!(
                "EVENT_ADD update subid={subid} {status:?} {data_type} x{count} {}",
                values(*data_type, *count, data)
            )
        }
        CaMessage::Client(c) => format!("{c:?}"),
        CaMessage::Server(s) => format!("{s:?}"),
    }
}
