//! Channel Access client on tokio, plus a [`blocking`] API for scripts.
//!
//! A thin front-end over `caproto-core`: every protocol rule and timer
//! (search backoff, echoes, beacon anomalies) lives in the core; this crate
//! owns the sockets and tasks.
//!
//! - [`Context`]: one UDP search socket (`EPICS_CA_ADDR_LIST`, plus the
//!   interfaces' broadcast addresses with `EPICS_CA_AUTO_ADDR_LIST=YES`),
//!   searches over TCP to `EPICS_CA_NAME_SERVERS`,
//!   one TCP circuit per server shared by all channels on it, repeater
//!   registration and beacon anomaly detection;
//! - [`Channel`]: connection state (a `watch`), native type/count, access
//!   rights; [`Channel::read`] of any DBR type, [`Channel::write`] /
//!   [`Channel::write_notify`], [`Channel::subscribe`] returning a
//!   [`Subscription`] stream; typed [`Channel::get`] / [`Channel::put`];
//! - every operation has a timeout and fails with an [`Error`] that names
//!   the PV and what went wrong;
//! - channels reconnect and subscriptions are renewed by themselves when a
//!   server comes back.
//!
//! ```no_run
//! # async fn f() -> Result<(), caproto_client::Error> {
//! use caproto_client::Context;
//! let ctx = Context::new().await?;
//! let pv = ctx.channel("sim:temperature")?;
//! let t: f64 = pv.get().await?;
//! pv.put_wait(&(t + 1.0)).await?;
//! let mut updates = pv.monitor().await?;
//! while let Some(update) = updates.next().await {
//!     println!("{:?}", update?.values);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod blocking;
mod channel;
mod circuit;
mod context;
mod error;
mod nameserver;
mod shared;
mod subscription;
mod typed;

pub use caproto_core::circuit::{ChannelInfo, DbrPayload};
pub use caproto_core::dbr::{DbrData, DbrType, DbrValues, EpicsTime, Metadata};
pub use caproto_core::wire::EventMask;
pub use caproto_core::{AccessRights, AlarmSeverity, AlarmStatus, EcaStatus};
pub use channel::{Channel, EnumValue};
pub use context::{
    Context, ContextBuilder, AUTO_ARRAY_BYTES_LIMIT, DEFAULT_MONITOR_QUEUE, DEFAULT_TIMEOUT,
};
pub use error::Error;
pub use shared::{ConnectionState, ConnectionStatus};
pub use subscription::Subscription;
pub use typed::{FromDbr, ToDbr};
