//! A blocking API for scripts: no async runtime needed from the caller.
//!
//! The first use starts a small tokio runtime on a background thread; every
//! call blocks the calling thread until its result is there (bounded by
//! the timeout). Do not call these functions from inside an async task.
//!
//! ```no_run
//! use caproto_client::blocking;
//! # fn main() -> Result<(), caproto_client::Error> {
//! let t: f64 = blocking::get("sim:temperature")?;
//! blocking::put_wait("sim:setpoint", &(t + 1.0))?;
//! for update in blocking::monitor("sim:temperature")?.take(3) {
//!     println!("{:?}", update?.values);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use caproto_core::circuit::ChannelInfo;
use caproto_core::dbr::{DbrData, DbrType, DbrValues};
use caproto_core::wire::EventMask;
use tokio::runtime::Runtime;

use crate::channel::EnumValue;
use crate::error::Error;
use crate::typed::{FromDbr, ToDbr};
use crate::{Channel, ConnectionState, ContextBuilder, Subscription};

/// The runtime, shut down in the background when the last user goes (so
/// that dropping it never blocks or panics).
#[derive(Debug)]
struct Rt(Option<Runtime>);

impl Rt {
    fn new() -> Result<Rt, Error> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("caproto-client")
            .enable_all()
            .build()
            .map(|rt| Rt(Some(rt)))
            .map_err(|e| Error::io("starting the client runtime", e))
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> Result<F::Output, Error> {
        match &self.0 {
            Some(rt) => Ok(rt.block_on(f)),
            None => Err(Error::ContextClosed),
        }
    }

    fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(Runtime::handle)
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// A client context with its own runtime thread.
///
/// PVs are kept once created (as pyepics does), so repeated
/// [`Context::get`] calls on one name search and connect only once.
#[derive(Clone, Debug)]
pub struct Context {
    ctx: crate::Context,
    rt: Arc<Rt>,
    pvs: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Context {
    /// A context configured from the environment (`EPICS_CA_*`).
    pub fn new() -> Result<Context, Error> {
        Self::from_builder(ContextBuilder::from_env()?)
    }

    /// A context from a builder (explicit configuration, timeouts).
    pub fn from_builder(builder: ContextBuilder) -> Result<Context, Error> {
        let rt = Arc::new(Rt::new()?);
        let ctx = rt.block_on(builder.build())??;
        Ok(Context {
            ctx,
            rt,
            pvs: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The async context underneath.
    pub fn as_async(&self) -> &crate::Context {
        &self.ctx
    }

    /// A PV handle; it connects in the background (the first time this
    /// name is used) and stays connected while the context lives.
    pub fn pv(&self, name: &str) -> Result<Pv, Error> {
        let mut pvs = self.pvs.lock().unwrap_or_else(|e| e.into_inner());
        let ch = match pvs.get(name) {
            Some(ch) => ch.clone(),
            None => {
                // Creating a channel sends to the context task: needs no
                // runtime.
                let ch = self.ctx.channel(name)?;
                pvs.insert(name.to_owned(), ch.clone());
                ch
            }
        };
        Ok(Pv {
            ch,
            rt: self.rt.clone(),
        })
    }

    /// Reads `name` as `T`.
    pub fn get<T: FromDbr>(&self, name: &str) -> Result<T, Error> {
        self.pv(name)?.get()
    }

    /// Writes `value` to `name` without waiting for completion.
    pub fn put<V: ToDbr + ?Sized>(&self, name: &str, value: &V) -> Result<(), Error> {
        self.pv(name)?.put(value)
    }

    /// Writes `value` to `name` and waits for the write to complete.
    pub fn put_wait<V: ToDbr + ?Sized>(&self, name: &str, value: &V) -> Result<(), Error> {
        self.pv(name)?.put_wait(value)
    }

    /// Monitors `name` (native type with timestamp, `DBE_VALUE | DBE_ALARM`).
    pub fn monitor(&self, name: &str) -> Result<Monitor, Error> {
        self.pv(name)?.monitor()
    }
}

/// One PV of a blocking [`Context`].
#[derive(Clone, Debug)]
pub struct Pv {
    ch: Channel,
    rt: Arc<Rt>,
}

/// A callback registration; dropping it stops the callbacks.
#[derive(Debug)]
pub struct CallbackHandle {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CallbackHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Pv {
    /// The PV name.
    pub fn name(&self) -> &str {
        self.ch.name()
    }

    /// The async channel underneath.
    pub fn channel(&self) -> &Channel {
        &self.ch
    }

    /// The same PV with another operation timeout.
    pub fn with_timeout(&self, timeout: Duration) -> Pv {
        Pv {
            ch: self.ch.with_timeout(timeout),
            rt: self.rt.clone(),
        }
    }

    /// Waits for the connection (within the timeout).
    pub fn wait_connected(&self) -> Result<ChannelInfo, Error> {
        self.rt.block_on(self.ch.wait_connected())?
    }

    /// The connection state now.
    pub fn connection_state(&self) -> ConnectionState {
        self.ch.connection_state()
    }

    /// Reads the value as `T`.
    pub fn get<T: FromDbr>(&self) -> Result<T, Error> {
        self.rt.block_on(self.ch.get())?
    }

    /// Reads an enum PV's index and state strings.
    pub fn get_enum(&self) -> Result<EnumValue, Error> {
        self.rt.block_on(self.ch.get_enum())?
    }

    /// Reads `count` elements as `data_type`, with metadata.
    pub fn read(&self, data_type: DbrType, count: u32) -> Result<DbrData, Error> {
        self.rt.block_on(self.ch.read(data_type, count))?
    }

    /// Writes without waiting for completion.
    pub fn put<V: ToDbr + ?Sized>(&self, value: &V) -> Result<(), Error> {
        self.rt.block_on(self.ch.put(value))?
    }

    /// Writes and waits for completion.
    pub fn put_wait<V: ToDbr + ?Sized>(&self, value: &V) -> Result<(), Error> {
        self.rt.block_on(self.ch.put_wait(value))?
    }

    /// Writes raw values as `data_type`, with completion.
    pub fn write_notify(&self, data_type: DbrType, values: &DbrValues) -> Result<(), Error> {
        self.rt.block_on(self.ch.write_notify(data_type, values))?
    }

    /// Monitors the PV (native type with timestamp, `DBE_VALUE | DBE_ALARM`).
    pub fn monitor(&self) -> Result<Monitor, Error> {
        let sub = self.rt.block_on(self.ch.monitor())??;
        Ok(Monitor {
            sub,
            rt: self.rt.clone(),
        })
    }

    /// Subscribes with an explicit type, count and mask.
    pub fn subscribe(
        &self,
        data_type: DbrType,
        count: u32,
        mask: EventMask,
    ) -> Result<Monitor, Error> {
        let sub = self.ch.subscribe(data_type, count, mask)?;
        Ok(Monitor {
            sub,
            rt: self.rt.clone(),
        })
    }

    /// Calls `f` with every monitor update (native type with timestamp),
    /// on the runtime thread, until the handle is dropped. Keep `f` short.
    pub fn add_callback(
        &self,
        mut f: impl FnMut(Result<DbrData, Error>) + Send + 'static,
    ) -> Result<CallbackHandle, Error> {
        let mut sub = self.rt.block_on(self.ch.monitor())??;
        let handle = self.rt.handle().ok_or(Error::ContextClosed)?;
        let task = handle.spawn(async move {
            while let Some(update) = sub.next().await {
                f(update);
            }
        });
        Ok(CallbackHandle { task })
    }

    /// Calls `f` with every change of the connection state (first with the
    /// current one), on the runtime thread, until the handle is dropped.
    pub fn on_connection_change(
        &self,
        mut f: impl FnMut(ConnectionState) + Send + 'static,
    ) -> Result<CallbackHandle, Error> {
        let mut rx = self.ch.connection();
        let handle = self.rt.handle().ok_or(Error::ContextClosed)?;
        let task = handle.spawn(async move {
            loop {
                let s = rx.borrow_and_update().clone();
                f(s);
                if rx.changed().await.is_err() {
                    return;
                }
            }
        });
        Ok(CallbackHandle { task })
    }
}

/// A blocking iterator over monitor updates. `next()` waits as long as it
/// takes; use [`Monitor::next_timeout`] to bound the wait.
#[derive(Debug)]
pub struct Monitor {
    sub: Subscription,
    rt: Arc<Rt>,
}

impl Monitor {
    /// The next update, or `None` if none came within `timeout`.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<DbrData, Error>> {
        let sub = &mut self.sub;
        match self.rt.block_on(tokio::time::timeout(timeout, sub.next())) {
            Ok(Ok(item)) => item,
            Ok(Err(_)) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// Updates replaced by newer ones because the consumer was behind.
    pub fn dropped(&self) -> u64 {
        self.sub.dropped()
    }
}

impl Iterator for Monitor {
    type Item = Result<DbrData, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let sub = &mut self.sub;
        match self.rt.block_on(sub.next()) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        }
    }
}

fn global() -> Result<&'static Context, Error> {
    static GLOBAL: OnceLock<Result<Context, Error>> = OnceLock::new();
    GLOBAL
        .get_or_init(Context::new)
        .as_ref()
        .map_err(Clone::clone)
}

/// Reads `name` as `T` with the process-wide context (configured from the
/// environment).
pub fn get<T: FromDbr>(name: &str) -> Result<T, Error> {
    global()?.get(name)
}

/// Writes `value` to `name` without waiting for completion (the request is
/// on its way when this returns).
pub fn put<V: ToDbr + ?Sized>(name: &str, value: &V) -> Result<(), Error> {
    global()?.put(name, value)
}

/// Writes `value` to `name` and waits for the server to complete it.
pub fn put_wait<V: ToDbr + ?Sized>(name: &str, value: &V) -> Result<(), Error> {
    global()?.put_wait(name, value)
}

/// Monitors `name`: an iterator of updates.
pub fn monitor(name: &str) -> Result<Monitor, Error> {
    global()?.monitor(name)
}
