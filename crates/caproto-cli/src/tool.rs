//! The runtime side shared by the tool binaries: the client context built
//! from the environment, connecting channels within the `-w` timeout,
//! stdout that ends the process quietly on a broken pipe, the clock and
//! the local time zone.
//!
//! Everything that decides *what* is printed lives in [`crate::format`],
//! [`crate::messages`] and [`crate::plan`]; this module only talks to the
//! client and the process.

use std::io::Write;
use std::net::SocketAddrV4;
use std::time::{Duration, SystemTime};

use caproto_client::{Channel, Context, ContextBuilder};
use caproto_core::dbr::EpicsTime;
use tokio::time::Instant;

use crate::time::{local_zone_at, TimeZone};

/// The longest wait used for `-w 0` (libca: a zero timeout waits forever).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The `-w` timeout as a duration: zero, negative or not finite means
/// "forever" as for `ca_pend_io(0)`.
pub fn timeout(secs: f64) -> Duration {
    if secs.is_finite() && secs > 0.0 {
        Duration::try_from_secs_f64(secs)
            .unwrap_or(FOREVER)
            .min(FOREVER)
    } else {
        FOREVER
    }
}

/// The deadline `timeout` from now.
pub fn deadline(timeout: Duration) -> Instant {
    Instant::now() + timeout
}

/// The client's wall clock as an EPICS time.
pub fn now() -> EpicsTime {
    EpicsTime::from_system_time(SystemTime::now()).unwrap_or(EpicsTime::EPOCH)
}

/// The local time zone (from `TZ` or `/etc/localtime`), as the C tools'
/// `localtime` sees it now.
pub fn local_zone() -> TimeZone {
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    local_zone_at(unix, std::env::var("TZ").ok().as_deref())
}

/// Writes `text` to stdout. A broken pipe (the reader went away, as with
/// `| head -1`) ends the process at once with status 0, silently.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()) {
        broken_pipe_or_ignore(&e);
    }
}

/// Flushes stdout (see [`print()`] for a broken pipe).
pub fn flush() {
    if let Err(e) = std::io::stdout().lock().flush() {
        broken_pipe_or_ignore(&e);
    }
}

fn broken_pipe_or_ignore(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
}

/// Writes `text` to stderr (errors ignored, as C's `fprintf(stderr)`).
pub fn eprint(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The first steps every tool's `main` shares: parse the arguments with
/// `parse` (given `argv`, the C tool's name and `EPICS_CLI_TIMEOUT`), print
/// help and exit 0, or print a bad-argument line and exit 1, print the C
/// tool's warnings, answer `-V`; returns the options to run with.
pub fn start<T>(
    tool: &str,
    parse: impl FnOnce(
        std::env::ArgsOs,
        &str,
        Option<&str>,
    ) -> Result<crate::args::Parsed<T>, crate::args::ArgsError>,
    wants_version: impl FnOnce(&T) -> bool,
) -> T {
    let env = std::env::var("EPICS_CLI_TIMEOUT").ok();
    let parsed = match parse(std::env::args_os(), tool, env.as_deref()) {
        Ok(p) => p,
        Err(e) if e.is_help => {
            print(&e.message);
            exit(0)
        }
        Err(e) => {
            eprint(&e.message);
            exit(e.exit_code())
        }
    };
    for w in &parsed.warnings {
        eprint(w);
    }
    if wants_version(&parsed.options) {
        print(&crate::messages::version());
        exit(0)
    }
    parsed.options
}

/// Flushes stdout and ends the process with `code` (no destructors: the
/// server sees the circuit close, as when a C tool exits).
pub fn exit(code: i32) -> ! {
    flush();
    std::process::exit(code)
}

/// A current-thread tokio runtime (the tools do little concurrent work;
/// one thread starts fastest).
pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprint(&format!("cannot start the runtime: {e}\n"));
            std::process::exit(1)
        }
    }
}

/// The client context from the `EPICS_CA_*` environment, with `timeout`
/// as every operation's timeout. An unusable environment is one line on
/// stderr and status 1.
pub async fn context(timeout: Duration) -> Context {
    let built = match ContextBuilder::from_env() {
        Ok(b) => b.timeout(timeout).build().await,
        Err(e) => Err(e),
    };
    match built {
        Ok(ctx) => ctx,
        Err(e) => {
            eprint(&format!("{e}\n"));
            exit(1)
        }
    }
}

/// Creates a channel per name (the searches start at once). A name the
/// client refuses (empty, too long) is libca's "CA error ... occurred while
/// trying to create channel" and status 1, as `create_pvs` does.
pub fn create_channels(ctx: &Context, names: &[String]) -> Vec<Channel> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        match ctx.channel(name) {
            Ok(c) => out.push(c),
            Err(e) => {
                let status = e
                    .eca_status()
                    .unwrap_or(caproto_core::EcaStatus::ECA_BADSTR);
                eprint(&crate::messages::create_channel_failed(status, name));
                exit(1)
            }
        }
    }
    out
}

/// Waits until every channel is connected or `deadline` passes; returns
/// whether each one connected.
pub async fn wait_all(channels: &[Channel], deadline: Instant) -> Vec<bool> {
    let mut ok = Vec::with_capacity(channels.len());
    for ch in channels {
        // The searches run in the background: waiting one after the other
        // within one deadline is waiting for all of them together.
        let r = tokio::time::timeout_at(deadline, ch.wait_connected()).await;
        ok.push(matches!(r, Ok(Ok(_))) || ch.is_connected());
    }
    ok
}

/// `connect_pvs` of the C tools: creates and connects every channel within
/// `timeout`; if one does not connect, prints "Channel connect timed out"
/// and returns `None` (the C tools then exit with status 1).
pub async fn connect_pvs(
    ctx: &Context,
    names: &[String],
    timeout: Duration,
) -> Option<Vec<Channel>> {
    let channels = create_channels(ctx, names);
    let ok = wait_all(&channels, deadline(timeout)).await;
    if ok.iter().all(|&c| c) {
        return Some(channels);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    eprint(&crate::messages::connect_timeout(&refs));
    None
}

/// `ca_host_name`: `host:port` of the server, the host name found for its
/// address in `/etc/hosts` (libca resolves it with `gethostbyaddr`), else
/// the dotted address.
pub fn host_name(server: Option<SocketAddrV4>) -> String {
    let Some(addr) = server else {
        return "<disconnected>".to_owned();
    };
    let ip = addr.ip().to_string();
    let name = std::fs::read_to_string("/etc/hosts")
        .ok()
        .and_then(|hosts| {
            hosts.lines().find_map(|line| {
                let line = line.split('#').next().unwrap_or("");
                let mut words = line.split_whitespace();
                let a = words.next()?;
                let first = words.next()?;
                let same = a
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|a| a == *addr.ip());
                same.then(|| first.to_owned())
            })
        });
    format!("{}:{}", name.unwrap_or(ip), addr.port())
}

/// The CA status libca would report for a client error.
pub fn eca_status(e: &caproto_client::Error) -> caproto_core::EcaStatus {
    e.eca_status()
        .unwrap_or(caproto_core::EcaStatus::ECA_INTERNAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_bad_timeouts_wait_forever() {
        assert_eq!(timeout(1.5), Duration::from_millis(1500));
        for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(timeout(t), FOREVER, "{t}");
        }
        assert_eq!(timeout(1e300), FOREVER);
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name(None), "<disconnected>");
        let a = SocketAddrV4::new(std::net::Ipv4Addr::new(192, 0, 2, 7), 5064);
        // A documentation address: in no hosts file.
        assert_eq!(host_name(Some(a)), "192.0.2.7:5064");
    }
}
