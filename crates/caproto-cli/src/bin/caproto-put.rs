//! `caproto-put`: writes a Channel Access PV and prints the old and new
//! values as EPICS base `caput` does (same options, same bytes on stdout
//! and stderr, same exit status).
//!
//! Difference on the wire: without `-c`, caput sends a WRITE (no reply
//! unless it fails); this client only reports a failed WRITE in its log,
//! so the write is sent as WRITE_NOTIFY and its status, if it arrived by
//! the time the new value is read back, is reported as libca reports a
//! failed WRITE (the "CA.Client.Exception" block). The tool never waits
//! for that completion longer than caput would wait for its read.

use std::future::Future;
use std::time::Duration;

use caproto_cli::args::{self, PutOptions};
use caproto_cli::format::{
    self, ChannelStamps, PutPhase, ReadOutcome, TimestampOptions, WideFormatter, WideOutcome,
};
use caproto_cli::{messages, plan, tool};
use caproto_client::{Channel, DbrData, DbrType, Error};
use caproto_core::dbr::NativeType;

/// The program name in the C tools' hints.
const TOOL: &str = "caput";

fn main() {
    let o = tool::start(TOOL, args::parse_put, |o| o.common.version);
    let code = tool::runtime().block_on(run(o));
    tool::exit(code)
}

/// A read within `timeout`: `None` if it did not complete.
async fn read(
    ch: &Channel,
    t: DbrType,
    n: u32,
    timeout: Duration,
) -> Option<Result<DbrData, Error>> {
    match tokio::time::timeout(timeout, ch.read(t, n)).await {
        Ok(Err(Error::Timeout { .. } | Error::NotFound { .. })) | Err(_) => None,
        Ok(r) => Some(r),
    }
}

/// Prints caput's "Old : " / "New : " line (or the terse value).
fn print_value(
    o: &PutOptions,
    phase: PutPhase,
    ch: &Channel,
    t: DbrType,
    r: &Result<DbrData, Error>,
    wide: &mut WideFormatter,
    style: &format::Style,
) {
    let name = ch.name();
    let outcome = match r {
        Ok(d) => ReadOutcome::Data(d),
        Err(Error::Disconnected { .. }) => ReadOutcome::NotConnected,
        Err(Error::NoReadAccess { .. }) => ReadOutcome::NoReadAccess,
        Err(e) => ReadOutcome::CaError(tool::eca_status(e)),
    };
    let text = if o.terse {
        format::caget_line(name, t, outcome, 0, true, style)
    } else if o.wide {
        let w = match outcome {
            ReadOutcome::Data(d) => WideOutcome::Data(t, d),
            ReadOutcome::NotConnected => WideOutcome::Disconnected,
            ReadOutcome::NoReadAccess => WideOutcome::NoReadAccess,
            ReadOutcome::CaError(s) => WideOutcome::CaError(s),
            ReadOutcome::NoData => WideOutcome::NoData,
        };
        let prefix = match phase {
            PutPhase::Old => "Old : ",
            PutPhase::New => "New : ",
        };
        let n = match r {
            Ok(d) => d.values.len(),
            Err(_) => 0,
        };
        let mut stamps = ChannelStamps::default();
        format!(
            "{prefix}{}",
            wide.line(name, &mut stamps, w, n, 0, tool::now(), style)
        )
    } else {
        format::caput_line(phase, name, t, outcome, style)
    };
    tool::print(&text);
}

/// Polls `f` once without waiting: its output if it is already done.
async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    tokio::select! {
        biased;
        r = f => Some(r),
        _ = std::future::ready(()) => None,
    }
}

async fn run(o: PutOptions) -> i32 {
    let timeout = tool::timeout(o.common.timeout);
    let ctx = tool::context(timeout).await;
    let Some(chans) = tool::connect_pvs(&ctx, std::slice::from_ref(&o.pv), timeout).await else {
        return 1;
    };
    let Some(ch) = chans.first() else { return 1 };
    let Some(info) = ch.info() else { return 1 };
    let native = info.native_type.native();
    let mut style = o.style;
    style.time_zone = tool::local_zone();

    // An ENUM's state strings decide how the values are written.
    let mut enum_strings = Vec::new();
    if native == NativeType::Enum {
        match read(ch, DbrType::GrEnum, 1, timeout).await {
            Some(Ok(d)) => enum_strings = d.meta.enum_strings,
            Some(Err(_)) => {}
            None => {
                tool::eprint(&messages::enum_read_timeout());
                return 1;
            }
        }
    }
    let request = match plan::put_request(&o, native, &enum_strings) {
        Ok(r) => r,
        Err(message) => {
            tool::eprint(&message);
            return 1;
        }
    };
    for w in &request.warnings {
        tool::eprint(w);
    }
    let (rt, rn) = plan::put_read_request(&o, native, info.native_count);
    let mut wide = WideFormatter::new(TimestampOptions::default(), tool::now());

    if !o.terse {
        match read(ch, rt, rn, timeout).await {
            Some(r) => print_value(&o, PutPhase::Old, ch, rt, &r, &mut wide, &style),
            None => {
                tool::eprint(&messages::read_timeout(TOOL));
                return 1;
            }
        }
    }

    let wt = request.dbr_type();
    let write = ch.write_notify(wt, &request.values);
    tokio::pin!(write);
    if o.callback {
        match tokio::time::timeout(timeout, &mut write).await {
            Ok(Ok(())) => {}
            Err(_) | Ok(Err(Error::Timeout { .. })) => {
                // caput then reads the new value anyway.
                tool::eprint(&messages::write_callback_timeout());
            }
            Ok(Err(e)) => {
                tool::eprint(&write_error(&e));
                return 1;
            }
        }
        read_and_print_new(&o, ch, rt, rn, timeout, &mut wide, &style).await
    } else {
        // Send the write before the read-back, then read; report the
        // write's failure if it came before the read's reply (the server
        // answers in order).
        let mut done = poll_once(&mut write).await;
        let new = read(ch, rt, rn, timeout);
        tokio::pin!(new);
        let new = loop {
            tokio::select! {
                biased;
                r = &mut write, if done.is_none() => done = Some(r),
                r = &mut new => break r,
            }
        };
        if done.is_none() {
            done = poll_once(&mut write).await;
        }
        match done {
            Some(Err(Error::Timeout { .. })) | Some(Ok(())) | None => {}
            Some(Err(
                e @ (Error::NoWriteAccess { .. } | Error::BadType { .. } | Error::Usage { .. }),
            )) => {
                tool::eprint(&messages::put_request_failed(tool::eca_status(&e)));
                return 1;
            }
            Some(Err(e)) => {
                let status = tool::eca_status(&e);
                let count = request.values.len() as u32;
                let ctx_text =
                    messages::request_failure_context(1, ch.name(), wt, count, ch.name());
                tool::eprint(&messages::ca_exception(
                    status,
                    Some(&ctx_text),
                    Some(("../oldChannelNotify.cpp", 159)),
                    tool::now(),
                    style.time_zone,
                ));
            }
        }
        match new {
            Some(r) => {
                print_value(&o, PutPhase::New, ch, rt, &r, &mut wide, &style);
                0
            }
            None => {
                tool::eprint(&messages::read_timeout(TOOL));
                1
            }
        }
    }
}

/// The text of a failed write with completion.
fn write_error(e: &Error) -> String {
    match e {
        Error::NoWriteAccess { .. } | Error::BadType { .. } | Error::Usage { .. } => {
            messages::put_request_failed(tool::eca_status(e))
        }
        _ => messages::write_failed(match e {
            Error::Server { status, .. } => *status,
            _ => tool::eca_status(e),
        }),
    }
}

/// Reads and prints the new value (`-c`).
async fn read_and_print_new(
    o: &PutOptions,
    ch: &Channel,
    rt: DbrType,
    rn: u32,
    timeout: Duration,
    wide: &mut WideFormatter,
    style: &format::Style,
) -> i32 {
    match read(ch, rt, rn, timeout).await {
        Some(r) => {
            print_value(o, PutPhase::New, ch, rt, &r, wide, style);
            0
        }
        None => {
            tool::eprint(&messages::read_timeout(TOOL));
            1
        }
    }
}
