//! `caproto-monitor`: subscribes to Channel Access PVs and prints every
//! update as EPICS base `camonitor` does (same options, same bytes), plus
//! `--format json` (one object per update). Runs until interrupted.

use std::collections::HashSet;
use std::net::SocketAddrV4;

use caproto_cli::args::{self, MonitorOptions, OutputFormat};
use caproto_cli::format::{ChannelStamps, WideFormatter, WideOutcome};
use caproto_cli::{json, messages, plan, tool};
use caproto_client::{Channel, DbrData, DbrType, EcaStatus, Error};
use tokio::sync::mpsc;

/// The program name in the C tools' hints.
const TOOL: &str = "camonitor";

fn main() {
    let o = tool::start(TOOL, args::parse_monitor, |o| o.common.version);
    let code = tool::runtime().block_on(run(o));
    tool::exit(code)
}

/// What a channel's task reports to the printer.
enum Event {
    /// First connection (the subscription is made).
    Connected { index: usize, native_count: u32 },
    /// An update, or a failed one.
    Update {
        index: usize,
        dbr_type: DbrType,
        result: Result<DbrData, Error>,
    },
    /// The channel lost its server (printed as `*** disconnected`).
    Disconnected {
        index: usize,
        server: Option<SocketAddrV4>,
    },
    /// The channel is back.
    Reconnected { index: usize },
}

/// Follows one channel: waits for its first connection, subscribes once
/// (the client renews the subscription after reconnections, as libca
/// does), and forwards updates and disconnections.
async fn follow(index: usize, ch: Channel, o: MonitorOptions, tx: mpsc::UnboundedSender<Event>) {
    let mut conn = ch.connection();
    loop {
        if conn.borrow_and_update().is_connected() {
            break;
        }
        if conn.changed().await.is_err() {
            return;
        }
    }
    let Some(info) = ch.info() else { return };
    let _ = tx.send(Event::Connected {
        index,
        native_count: info.native_count,
    });
    let (dbr_type, count) = plan::monitor_request(&o, info.native_type.native(), info.native_count);
    let Ok(mut sub) = ch.subscribe(dbr_type, count, o.mask) else {
        return;
    };
    let mut connected = true;
    loop {
        tokio::select! {
            update = sub.next() => match update {
                Some(result) => {
                    if tx.send(Event::Update { index, dbr_type, result }).is_err() {
                        return;
                    }
                }
                None => return,
            },
            changed = conn.changed() => {
                if changed.is_err() {
                    return;
                }
                let (now_connected, server) = {
                    let state = conn.borrow_and_update();
                    (state.is_connected(), state.server)
                };
                if connected && !now_connected {
                    let _ = tx.send(Event::Disconnected { index, server });
                } else if !connected && now_connected {
                    let _ = tx.send(Event::Reconnected { index });
                }
                connected = now_connected;
            }
        }
    }
}

async fn run(o: MonitorOptions) -> i32 {
    let timeout = tool::timeout(o.common.timeout);
    let ctx = tool::context(timeout).await;
    let chans = tool::create_channels(&ctx, &o.pvs);
    let mut style = o.style;
    style.time_zone = tool::local_zone();
    let json = o.common.output == OutputFormat::Json;

    let (tx, mut rx) = mpsc::unbounded_channel();
    for (i, ch) in chans.iter().enumerate() {
        tokio::spawn(follow(i, ch.clone(), o.clone(), tx.clone()));
    }
    drop(tx);

    let mut wide = WideFormatter::new(o.timestamps, tool::now());
    let mut stamps = vec![ChannelStamps::default(); chans.len()];
    let mut counts = vec![0u32; chans.len()];
    let mut once_connected = vec![false; chans.len()];
    let report_at = tool::deadline(timeout);
    let mut reported = false;
    let mut down: HashSet<SocketAddrV4> = HashSet::new();
    // Connected as far as the printed lines go.
    let mut up = vec![false; chans.len()];
    loop {
        let event = tokio::select! {
            e = rx.recv() => match e {
                Some(e) => e,
                None => std::future::pending().await,
            },
            _ = tokio::time::sleep_until(report_at), if !reported => {
                // camonitor: after the timeout, the channels that never
                // connected are reported once; the monitor goes on.
                reported = true;
                for (i, ch) in chans.iter().enumerate() {
                    if once_connected.get(i).copied().unwrap_or(true) {
                        continue;
                    }
                    let text = if json {
                        json::error_line(ch.name(), "not found")
                    } else {
                        let st = stamps.get_mut(i);
                        let mut dummy = ChannelStamps::default();
                        wide.line(
                            ch.name(),
                            st.unwrap_or(&mut dummy),
                            WideOutcome::NeverConnected,
                            0,
                            o.count,
                            tool::now(),
                            &style,
                        )
                    };
                    tool::print(&text);
                }
                tool::flush();
                continue;
            }
        };
        let (index, text) = match event {
            Event::Connected {
                index,
                native_count,
            } => {
                if let Some(c) = once_connected.get_mut(index) {
                    *c = true;
                }
                if let Some(u) = up.get_mut(index) {
                    *u = true;
                }
                if let Some(c) = counts.get_mut(index) {
                    *c = native_count;
                }
                continue;
            }
            Event::Reconnected { index } => {
                if let Some(u) = up.get_mut(index) {
                    *u = true;
                }
                if let Some(s) = chans.get(index).and_then(|c| c.connection_state().server) {
                    down.remove(&s);
                }
                continue;
            }
            Event::Disconnected { index, server } => {
                if !up.get(index).copied().unwrap_or(false) {
                    // Reported with another channel of the same circuit.
                    continue;
                }
                // libca reports the lost circuit once, whatever the number
                // of channels on it.
                if let Some(s) = server {
                    if down.insert(s) {
                        tool::eprint(&messages::ca_exception(
                            EcaStatus::ECA_DISCONN,
                            Some(&tool::host_name(Some(s))),
                            Some(("../cac.cpp", 1238)),
                            tool::now(),
                            style.time_zone,
                        ));
                    }
                }
                // Every channel lost with the circuit, in command-line
                // order (libca reports them in its channel order).
                let mut text = String::new();
                for (i, ch) in chans.iter().enumerate() {
                    let lost = i == index
                        || (server.is_some()
                            && up.get(i).copied().unwrap_or(false)
                            && !ch.is_connected()
                            && ch.connection_state().server == server);
                    if !lost {
                        continue;
                    }
                    if let Some(u) = up.get_mut(i) {
                        *u = false;
                    }
                    if json {
                        text.push_str(&json::error_line(ch.name(), "disconnected"));
                    } else {
                        let n = counts.get(i).copied().unwrap_or(0) as usize;
                        let mut dummy = ChannelStamps::default();
                        text.push_str(&wide.line(
                            ch.name(),
                            stamps.get_mut(i).unwrap_or(&mut dummy),
                            WideOutcome::Disconnected,
                            n,
                            o.count,
                            tool::now(),
                            &style,
                        ));
                    }
                }
                (index, text)
            }
            Event::Update {
                index,
                dbr_type,
                result,
            } => {
                let Some(ch) = chans.get(index) else { continue };
                let text = if json {
                    match &result {
                        Ok(d) => json::value_line(ch.name(), dbr_type, d, style.time_zone),
                        Err(e) => json::error_line(ch.name(), tool::eca_status(e).message()),
                    }
                } else {
                    let outcome = match &result {
                        Ok(d) => WideOutcome::Data(dbr_type, d),
                        Err(Error::NoReadAccess { .. }) => WideOutcome::NoReadAccess,
                        Err(Error::Disconnected { .. }) => WideOutcome::Disconnected,
                        Err(e) => WideOutcome::CaError(tool::eca_status(e)),
                    };
                    let n = counts.get(index).copied().unwrap_or(0) as usize;
                    let mut dummy = ChannelStamps::default();
                    wide.line(
                        ch.name(),
                        stamps.get_mut(index).unwrap_or(&mut dummy),
                        outcome,
                        n,
                        o.count,
                        tool::now(),
                        &style,
                    )
                };
                (index, text)
            }
        };
        let _ = index;
        tool::print(&text);
        tool::flush();
    }
}
