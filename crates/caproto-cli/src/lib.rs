//! Shared code of the caproto command-line tools: argument parsing and
//! output formatting compatible with the EPICS base tools.
//!
//! - [`format`](mod@format): what `caget`, `caput`, `camonitor` and `cainfo` print, as
//!   pure functions of decoded data (golden-tested against EPICS base);
//! - [`messages`]: their error and warning texts;
//! - [`args`]: their command-line options (clap), with the C tools'
//!   quirks;
//! - [`plan`]: what the tools request (DBR type and count of reads and
//!   subscriptions, caput's write) from their options and the channel;
//! - [`json`]: `--format json` output;
//! - [`shark`]: the pcap reader and message printer behind `caproto-shark`;
//! - [`tool`]: the client context, connecting, stdout and clock of the
//!   tool binaries (`src/bin/`).

//! # Wiring a tool to a client
//!
//! Everything but the network is here; a `main` only connects and reads.
//! For `caproto-get`:
//!
//! ```rust,ignore
//! use caproto_cli::{args, format, messages, plan};
//!
//! let env = std::env::var("EPICS_CLI_TIMEOUT").ok();
//! let parsed = match args::parse_get(std::env::args_os(), "caget", env.as_deref()) {
//!     Ok(p) => p,
//!     Err(e) if e.is_help => { print!("{}", e.message); return ExitCode::SUCCESS }
//!     Err(e) => { eprint!("{}", e.message); return ExitCode::from(1) }
//! };
//! for w in &parsed.warnings { eprint!("{w}") }
//! let o = parsed.options;
//! // connect every PV within o.common.timeout, else
//! //   eprint!("{}", messages::connect_timeout(&names)); exit 1
//! for pv in &pvs {
//!     let (dbr_type, count) = plan::get_request(&o, pv.native, pv.native_count);
//!     let data: DbrData = client.read(pv, dbr_type, count)?;  // or ReadOutcome::*
//!     let text = match o.format {
//!         args::GetFormat::Plain | args::GetFormat::Terse => format::caget_line(
//!             &pv.name, dbr_type, format::ReadOutcome::Data(&data), o.count,
//!             o.format == args::GetFormat::Terse, &o.style),
//!         args::GetFormat::Dbr(t) => format::caget_dbr_block(
//!             &pv.name, Some(pv.native), t, format::ReadOutcome::Data(&data), o.count, &o.style),
//!         args::GetFormat::Wide => wide.line(&pv.name, &mut stamps, format::WideOutcome::Data(
//!             dbr_type, &data), 0, o.count, now, &o.style),
//!     };
//!     print!("{text}");
//! }
//! ```
//!
//! `Style::time_zone` is UTC by default: set it to the local offset to
//! print local time as the C tools do.
//!
//! The binaries in `src/bin/` do exactly this, with [`tool`] for the
//! client context, connecting and stdout; `tests/differential.rs` runs
//! them against the C tools on a C softIoc.
//!
//! # Remaining differences from the C tools
//!
//! - `-V` prints caproto-cli's version, not EPICS base's;
//! - `caproto-put` without `-c` sends WRITE_NOTIFY where caput sends WRITE
//!   (the client reports a failed WRITE only in its log): the output is
//!   the same (a failure is the same "CA.Client.Exception" block), and the
//!   tool never waits for the completion longer than for its read-back;
//! - a read the server fails makes caget wait for `-w` before saying
//!   "Read operation timed out"; caproto-get says the same at once;
//! - `cainfo -s <level>` (libca's client status report) prints nothing;
//!   `-p` (priority) and `-v` are accepted and have no effect yet;
//! - `caproto-info` finds the server's host name in `/etc/hosts` (libca
//!   asks the resolver, DNS included);
//! - after a server restart, channels reconnect as soon as the server
//!   answers a search (libca waits for its disconnect governor).

#![forbid(unsafe_code)]

pub mod args;
pub mod cfmt;
pub mod format;
pub mod json;
pub mod messages;
pub mod plan;
pub mod shark;
pub mod time;
pub mod tool;
