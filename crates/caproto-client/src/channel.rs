//! [`Channel`]: one PV, its connection state and its operations.

use std::sync::Arc;
use std::time::Duration;

use caproto_core::circuit::{ChannelInfo, DbrPayload};
use caproto_core::dbr::{self, DbrData, DbrType, DbrValues, Metadata};
use caproto_core::wire::EventMask;
use caproto_core::AccessRights;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::context::{Context, CtxCmd};
use crate::error::{Error, OpError};
use crate::shared::{
    ChanState, CircuitCmd, CircuitTx, ConnectionState, ConnectionStatus, SubQueue, SubReg,
};
use crate::subscription::Subscription;
use crate::typed::{FromDbr, ToDbr};

/// Owns a channel's registration; dropping the last handle clears it.
#[derive(Debug)]
pub(crate) struct ChannelOwner {
    pub(crate) state: Arc<ChanState>,
    pub(crate) ctx: Context,
}

impl Drop for ChannelOwner {
    fn drop(&mut self) {
        let _ = self.ctx.inner.tx.send(CtxCmd::Drop(self.state.cid));
    }
}

/// A channel (PV). Cheap to clone; the channel is cleared on its server when
/// the last clone (and the last [`Subscription`] on it) is dropped.
///
/// It connects in the background and reconnects by itself when its server
/// goes away and comes back; its subscriptions are renewed then. Every
/// operation waits for the connection within the channel's timeout (the
/// context's default, or [`Channel::with_timeout`]) and fails with
/// [`Error::NotFound`] if the name was never found, [`Error::Disconnected`]
/// if it was connected before, or [`Error::Timeout`] if the server did not
/// answer in time.
#[derive(Clone, Debug)]
pub struct Channel {
    pub(crate) owner: Arc<ChannelOwner>,
    timeout: Duration,
}

/// An enum value with its state strings (from a `DBR_CTRL_ENUM` read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// The state index.
    pub index: u16,
    /// The state strings of the PV.
    pub states: Vec<String>,
}

impl EnumValue {
    /// The string of the current state (empty if the index has none).
    pub fn as_str(&self) -> &str {
        self.states
            .get(usize::from(self.index))
            .map(String::as_str)
            .unwrap_or("")
    }
}

impl Channel {
    pub(crate) fn new(owner: Arc<ChannelOwner>, timeout: Duration) -> Channel {
        Channel { owner, timeout }
    }

    fn state(&self) -> &ChanState {
        &self.owner.state
    }

    /// The PV name.
    pub fn name(&self) -> &str {
        &self.state().name
    }

    /// This channel's operation timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A handle to the same channel whose operations use `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Channel {
        Channel {
            owner: self.owner.clone(),
            timeout,
        }
    }

    /// The current connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.state().state.borrow().clone()
    }

    /// A `watch` receiver of the connection state: every change
    /// (connected, disconnected, reconnected, access rights) is published.
    /// `connections > 1` on a connected state means a reconnection.
    pub fn connection(&self) -> watch::Receiver<ConnectionState> {
        self.state().state.subscribe()
    }

    /// True when connected.
    pub fn is_connected(&self) -> bool {
        self.state().state.borrow().is_connected()
    }

    /// Native type, count, access rights (of the current or last
    /// connection).
    pub fn info(&self) -> Option<ChannelInfo> {
        self.state().state.borrow().info
    }

    /// The native DBR type (once connected).
    pub fn native_type(&self) -> Option<DbrType> {
        self.info().map(|i| i.native_type)
    }

    /// The native element count (once connected).
    pub fn native_count(&self) -> Option<u32> {
        self.info().map(|i| i.native_count)
    }

    /// The access rights (once connected).
    pub fn access_rights(&self) -> Option<AccessRights> {
        self.info().map(|i| i.access)
    }

    /// Waits until the channel is connected, within the timeout.
    pub async fn wait_connected(&self) -> Result<ChannelInfo, Error> {
        let deadline = Instant::now() + self.timeout;
        self.circuit(deadline, "connect").await?;
        self.info().ok_or_else(|| self.disconnected())
    }

    fn disconnected(&self) -> Error {
        Error::Disconnected {
            name: self.name().to_owned(),
        }
    }

    /// The error for an expired deadline, depending on where the channel
    /// stands.
    fn expired(&self, operation: &'static str) -> Error {
        let name = self.name().to_owned();
        match self.state().state.borrow().status {
            ConnectionStatus::Searching => Error::NotFound {
                name,
                timeout: self.timeout,
            },
            ConnectionStatus::Disconnected => Error::Disconnected { name },
            ConnectionStatus::Connected => Error::Timeout {
                name,
                operation,
                timeout: self.timeout,
            },
        }
    }

    /// Waits for a connection and returns the circuit to talk to.
    async fn circuit(
        &self,
        deadline: Instant,
        operation: &'static str,
    ) -> Result<CircuitTx, Error> {
        let mut rx = self.connection();
        loop {
            {
                let connected = rx.borrow_and_update().is_connected();
                if connected {
                    if let Some(tx) = self.state().lock().circuit.clone() {
                        return Ok(tx);
                    }
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Error::ContextClosed),
                Err(_) => return Err(self.expired(operation)),
            }
        }
    }

    async fn request<T>(
        &self,
        operation: &'static str,
        make: impl FnOnce(oneshot::Sender<Result<T, OpError>>) -> CircuitCmd,
    ) -> Result<T, Error> {
        let deadline = Instant::now() + self.timeout;
        let tx = self.circuit(deadline, operation).await?;
        let (reply, rx) = oneshot::channel();
        tx.send(make(reply)).map_err(|_| self.disconnected())?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => Err(e.named(self.name())),
            // The circuit ended with the request outstanding.
            Ok(Err(_)) => Err(self.disconnected()),
            Err(_) => Err(self.expired(operation)),
        }
    }

    /// Reads `count` elements as `data_type` (READ_NOTIFY) and returns the
    /// raw payload. `count` 0 asks for the current length (servers of CA
    /// 4.13 and later).
    pub async fn read_raw(&self, data_type: DbrType, count: u32) -> Result<DbrPayload, Error> {
        let cid = self.state().cid;
        self.request("read", |reply| CircuitCmd::Read {
            cid,
            data_type,
            count,
            reply,
        })
        .await
    }

    /// Reads `count` elements as `data_type` and decodes values and
    /// metadata (status, severity, timestamp, units, precision, limits,
    /// enum strings, as the type carries).
    pub async fn read(&self, data_type: DbrType, count: u32) -> Result<DbrData, Error> {
        let p = self.read_raw(data_type, count).await?;
        dbr::decode(p.data_type, p.count, &p.data).map_err(|error| Error::Protocol {
            name: self.name().to_owned(),
            error,
        })
    }

    fn encode(&self, data_type: DbrType, values: &DbrValues) -> Result<(u32, Vec<u8>), Error> {
        let mut data = Vec::new();
        let count =
            dbr::encode(data_type, &Metadata::default(), values, &mut data).map_err(|e| {
                Error::BadType {
                    name: self.name().to_owned(),
                    reason: e.to_string(),
                }
            })?;
        Ok((count, data))
    }

    async fn write_inner(
        &self,
        data_type: DbrType,
        values: &DbrValues,
        notify: bool,
    ) -> Result<(), Error> {
        let (count, data) = self.encode(data_type, values)?;
        let cid = self.state().cid;
        self.request("write", |reply| CircuitCmd::Write {
            cid,
            data_type,
            count,
            data,
            notify,
            reply,
        })
        .await
    }

    /// Writes without completion (WRITE): returns once the request is
    /// queued on the circuit. A failure the server reports later is only
    /// logged, as with libca's `ca_put`.
    pub async fn write(&self, data_type: DbrType, values: &DbrValues) -> Result<(), Error> {
        self.write_inner(data_type, values, false).await
    }

    /// Writes with completion (WRITE_NOTIFY): returns when the server has
    /// processed the write, or with its error status.
    pub async fn write_notify(&self, data_type: DbrType, values: &DbrValues) -> Result<(), Error> {
        self.write_inner(data_type, values, true).await
    }

    /// Subscribes to `count` elements of `data_type` with event `mask`;
    /// updates arrive on the returned stream, whose first item is the
    /// current value. The subscription is renewed after reconnections and
    /// cancelled when the stream is dropped. `count` 0 follows the current
    /// length.
    pub fn subscribe(
        &self,
        data_type: DbrType,
        count: u32,
        mask: EventMask,
    ) -> Result<Subscription, Error> {
        if mask.0 == 0 {
            return Err(crate::error::usage(
                self.name().to_owned(),
                caproto_core::UsageError::BadMask(mask.0),
            ));
        }
        let queue = Arc::new(SubQueue::new(self.owner.ctx.inner.monitor_queue));
        let cid = self.state().cid;
        let key = {
            let mut inner = self.state().lock();
            let key = inner.next_key;
            inner.next_key += 1;
            inner.subs.insert(
                key,
                SubReg {
                    data_type,
                    count,
                    mask,
                    queue: queue.clone(),
                },
            );
            if let Some(tx) = inner.circuit.as_ref() {
                let _ = tx.send(CircuitCmd::Subscribe { cid, key });
            }
            key
        };
        Ok(Subscription::new(self.clone(), key, queue))
    }

    /// Subscribes to the value with `DBR_TIME_*` of the native type, count
    /// 0 (the current length), and `DBE_VALUE | DBE_ALARM` (what pyepics and
    /// `camonitor` use). Waits for the connection to know the native type.
    pub async fn monitor(&self) -> Result<Subscription, Error> {
        let info = self.wait_connected().await?;
        let t = DbrType::from_parts(dbr::DbrFamily::Time, info.native_type.native())
            .unwrap_or(DbrType::TimeString);
        self.subscribe(t, 0, EventMask::VALUE | EventMask::ALARM)
    }

    /// Reads the value as `T` (`f64`, `i32`, `String`, `Vec<f64>`, ...):
    /// the server converts from the native type.
    pub async fn get<T: FromDbr>(&self) -> Result<T, Error> {
        let (t, count) = T::request();
        let data = self.read(t, count).await?;
        T::from_dbr(data).map_err(|reason| Error::BadType {
            name: self.name().to_owned(),
            reason,
        })
    }

    /// Reads an enum PV: its index and state strings.
    pub async fn get_enum(&self) -> Result<EnumValue, Error> {
        let data = self.read(DbrType::CtrlEnum, 1).await?;
        let index = match &data.values {
            DbrValues::Enum(v) => v.first().copied(),
            _ => None,
        };
        let index = index.ok_or_else(|| Error::BadType {
            name: self.name().to_owned(),
            reason: "no enum value in the reply".into(),
        })?;
        Ok(EnumValue {
            index,
            states: data.meta.enum_strings,
        })
    }

    /// Writes `value` without completion. Strings go as `DBR_STRING` (an
    /// enum PV takes a state name), numbers as their type.
    pub async fn put<V: ToDbr + ?Sized>(&self, value: &V) -> Result<(), Error> {
        let values = value.to_dbr();
        let t = values.native_type();
        self.write(
            DbrType::from_parts(dbr::DbrFamily::Plain, t).unwrap_or(DbrType::String),
            &values,
        )
        .await
    }

    /// Writes `value` and waits for the server to complete the write.
    pub async fn put_wait<V: ToDbr + ?Sized>(&self, value: &V) -> Result<(), Error> {
        let values = value.to_dbr();
        let t = values.native_type();
        self.write_notify(
            DbrType::from_parts(dbr::DbrFamily::Plain, t).unwrap_or(DbrType::String),
            &values,
        )
        .await
    }
}
