//! Channel Access server and IOC framework on tokio.
//!
//! A thin driver of `caproto-core`'s sans-I/O state machines: one task per
//! client drives a `ServerCircuit`, UDP searches go through a
//! `SearchResponder`, beacons come from a `BeaconEmitter`. On top sits a
//! small IOC framework: typed [`Pv`]s with alarm state and metadata,
//! [`Group`]s of PVs under a prefix, async write handlers, background
//! tasks and hooks ([`Ioc`]).
//!
//! A whole IOC:
//!
//! ```no_run
//! use caproto_server::{Ioc, Pv};
//! #[tokio::main]
//! async fn main() -> Result<(), caproto_server::Error> {
//!     let mut ioc = Ioc::from_args("simple:");
//!     ioc.pv("A", Pv::int(1));
//!     ioc.pv("B", Pv::double(2.0));
//!     ioc.run().await
//! }
//! ```

mod circuit;
mod group;
mod ioc;
mod pv;
mod server;

pub use caproto_core::dbr::DbrValues;
pub use caproto_core::status::{AlarmSeverity, AlarmStatus, EcaStatus};
pub use group::{Group, PvSource};
#[cfg(feature = "cli")]
pub use ioc::init_logging;
pub use ioc::{wait_for_signal, Ioc, IocArgs, RunningIoc};
pub use pv::{
    now, AlarmLimits, IntoValues, PutKind, Pv, PvBuilder, ReadConverter, Snapshot, WeakPv,
    WriteError, WriteFuture,
};
pub use server::{Server, ServerHandle, ServerOptions};

/// Why a server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A socket could not be bound.
    Io(std::io::Error),
    /// An `EPICS_CA*` variable is malformed.
    Config(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "configuration: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e)
    }
}
