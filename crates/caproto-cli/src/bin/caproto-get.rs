//! `caproto-get`: reads Channel Access PVs and prints them as EPICS base
//! `caget` does (same options, same bytes on stdout and stderr, same exit
//! status), plus `--format json`.

use caproto_cli::args::{self, GetFormat, GetOptions, OutputFormat};
use caproto_cli::format::{
    self, ChannelStamps, ReadOutcome, TimestampOptions, WideFormatter, WideOutcome,
};
use caproto_cli::{json, messages, plan, tool};
use caproto_client::{DbrData, Error};
use tokio::task::JoinSet;

/// The program name in the C tools' hints (`('caget -h' for help.)`).
const TOOL: &str = "caget";

fn main() {
    let o = tool::start(TOOL, args::parse_get, |o| o.common.version);
    let code = tool::runtime().block_on(run(o));
    tool::exit(code)
}

/// What one read gave.
enum Got {
    Data(DbrData),
    /// A failed `ca_array_get`: libca reports the exception and the C tool
    /// prints the zero-filled buffer.
    Failed(Error),
    /// An error known before anything was read (access, disconnection).
    Status(ReadOutcomeKind),
    /// Nothing before the deadline.
    Missing,
}

#[derive(Clone, Copy)]
enum ReadOutcomeKind {
    NotConnected,
    NoReadAccess,
    CaError(caproto_client::EcaStatus),
}

fn classify(r: Result<DbrData, Error>) -> Got {
    match r {
        Ok(d) => Got::Data(d),
        Err(Error::Timeout { .. } | Error::NotFound { .. }) => Got::Missing,
        Err(Error::Disconnected { .. }) => Got::Status(ReadOutcomeKind::NotConnected),
        Err(Error::NoReadAccess { .. }) => Got::Status(ReadOutcomeKind::NoReadAccess),
        Err(e @ Error::Server { .. }) => Got::Failed(e),
        Err(e) => Got::Status(ReadOutcomeKind::CaError(tool::eca_status(&e))),
    }
}

async fn run(o: GetOptions) -> i32 {
    let timeout = tool::timeout(o.common.timeout);
    let ctx = tool::context(timeout).await;
    let Some(chans) = tool::connect_pvs(&ctx, &o.pvs, timeout).await else {
        return 1;
    };
    let mut style = o.style;
    style.time_zone = tool::local_zone();

    // Every read is issued before any reply is awaited (ca_array_get for
    // each channel, then ca_pend_io).
    let mut requests = Vec::with_capacity(chans.len());
    let mut reads = JoinSet::new();
    for (i, ch) in chans.iter().enumerate() {
        let (native, count) = match ch.info() {
            Some(info) => (info.native_type.native(), info.native_count),
            None => (caproto_core::dbr::NativeType::Double, 1),
        };
        let (t, n) = plan::get_request(&o, native, count);
        requests.push((native, t, n));
        let ch = ch.clone();
        reads.spawn(async move { (i, ch.read(t, n).await) });
    }
    let deadline = tool::deadline(timeout);
    let mut got: Vec<Got> = chans.iter().map(|_| Got::Missing).collect();
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, reads.join_next()).await {
        if let Ok((i, r)) = joined {
            if let Some(slot) = got.get_mut(i) {
                *slot = classify(r);
            }
        }
    }
    // A read the server failed: libca reports it (the exception block)
    // as the reply arrives; without -c the C tool prints the zero-filled
    // buffer later.
    if !o.callback {
        for ((ch, got), &(_, t, n)) in chans.iter().zip(&got).zip(&requests) {
            if let Got::Failed(e) = got {
                let message = match e {
                    // libca's context for a failed READ_NOTIFY reply.
                    Error::Server { message, .. } if !message.is_empty() => message.as_str(),
                    _ => "read failed",
                };
                tool::eprint(&messages::ca_exception(
                    tool::eca_status(e),
                    Some(&messages::read_failure_context(ch.name(), t, n, message)),
                    Some(("../getCopy.cpp", 91)),
                    tool::now(),
                    style.time_zone,
                ));
            }
        }
    }
    // A failed read never completes for ca_pend_io (nor for caget -c's
    // wait): caget says the read timed out (after waiting for -w), then
    // prints everything and exits with status 0 all the same.
    if got
        .iter()
        .any(|g| matches!(g, Got::Missing | Got::Failed(_)))
    {
        tool::eprint(&messages::read_timeout(TOOL));
    }

    let now = tool::now();
    let mut wide = WideFormatter::new(TimestampOptions::default(), now);
    for ((ch, got), &(native, t, n)) in chans.iter().zip(&got).zip(&requests) {
        let name = ch.name();
        let zeroed;
        let outcome = match got {
            Got::Data(d) => ReadOutcome::Data(d),
            Got::Failed(e) if o.callback => ReadOutcome::CaError(tool::eca_status(e)),
            // The buffer C allocated for the reply, never filled.
            Got::Failed(_) | Got::Missing if !o.callback => {
                zeroed = format::zeroed(t, n as usize);
                ReadOutcome::Data(&zeroed)
            }
            Got::Status(ReadOutcomeKind::NotConnected) => ReadOutcome::NotConnected,
            Got::Status(ReadOutcomeKind::NoReadAccess) => ReadOutcome::NoReadAccess,
            Got::Status(ReadOutcomeKind::CaError(s)) => ReadOutcome::CaError(*s),
            Got::Failed(_) | Got::Missing => ReadOutcome::NoData,
        };
        let text = if o.common.output == OutputFormat::Json {
            match (got, outcome) {
                (Got::Failed(e), _) => json::error_line(name, tool::eca_status(e).message()),
                (Got::Missing, _) => json::error_line(name, "no data available (timeout)"),
                (_, outcome) => json_line(name, t, outcome, &style),
            }
        } else {
            match o.format {
                GetFormat::Plain | GetFormat::Terse => format::caget_line(
                    name,
                    t,
                    outcome,
                    o.count,
                    o.format == GetFormat::Terse,
                    &style,
                ),
                GetFormat::Dbr(_) => {
                    format::caget_dbr_block(name, Some(native), t, outcome, o.count, &style)
                }
                GetFormat::Wide => {
                    let w = match outcome {
                        ReadOutcome::Data(d) => WideOutcome::Data(t, d),
                        ReadOutcome::NotConnected => WideOutcome::Disconnected,
                        ReadOutcome::NoReadAccess => WideOutcome::NoReadAccess,
                        ReadOutcome::CaError(s) => WideOutcome::CaError(s),
                        ReadOutcome::NoData => WideOutcome::NoData,
                    };
                    let mut stamps = ChannelStamps::default();
                    wide.line(
                        name,
                        &mut stamps,
                        w,
                        n as usize,
                        o.count,
                        tool::now(),
                        &style,
                    )
                }
            }
        };
        tool::print(&text);
    }
    0
}

/// The JSON line of one outcome.
fn json_line(
    name: &str,
    t: caproto_client::DbrType,
    outcome: ReadOutcome<'_>,
    style: &format::Style,
) -> String {
    match outcome {
        ReadOutcome::Data(d) => json::value_line(name, t, d, style.time_zone),
        ReadOutcome::NotConnected => json::error_line(name, "not connected"),
        ReadOutcome::NoReadAccess => json::error_line(name, "no read access"),
        ReadOutcome::CaError(s) => json::error_line(name, s.message()),
        ReadOutcome::NoData => json::error_line(name, "no data available (timeout)"),
    }
}
