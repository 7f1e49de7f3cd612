//! `caproto-info`: prints what Channel Access knows about PVs (state,
//! server, access, native type and count) as EPICS base `cainfo` does.
//!
//! `-s <level>` (libca's `ca_client_status` report) is accepted and
//! prints nothing: this client has no such report.

use caproto_cli::args::{self, InfoOptions};
use caproto_cli::format::{self, ChannelInfo, ChannelState};
use caproto_cli::tool;
use caproto_client::ConnectionStatus;

/// The program name in the C tools' hints.
const TOOL: &str = "cainfo";

fn main() {
    let o = tool::start(TOOL, args::parse_info, |o| o.common.version);
    if o.pvs.is_empty() {
        tool::exit(0)
    }
    let code = tool::runtime().block_on(run(o));
    tool::exit(code)
}

async fn run(o: InfoOptions) -> i32 {
    let timeout = tool::timeout(o.common.timeout);
    let ctx = tool::context(timeout).await;
    let Some(chans) = tool::connect_pvs(&ctx, &o.pvs, timeout).await else {
        return 1;
    };
    for ch in &chans {
        let state = ch.connection_state();
        let info = state.info;
        let host = tool::host_name(state.server);
        let block = format::cainfo_block(&ChannelInfo {
            name: ch.name(),
            state: match state.status {
                ConnectionStatus::Connected => ChannelState::Connected,
                ConnectionStatus::Searching => ChannelState::NeverConnected,
                _ => ChannelState::PreviouslyConnected,
            },
            host: &host,
            read: info.is_some_and(|i| i.access.can_read()),
            write: info.is_some_and(|i| i.access.can_write()),
            native: info.map(|i| i.native_type.native()),
            count: info.map_or(0, |i| i.native_count),
        });
        tool::print(&block);
    }
    0
}
