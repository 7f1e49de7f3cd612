//! Process variables: typed values with alarm state and metadata, write
//! handlers, and the subscribers that monitors feed.
//!
//! A [`Pv`] is a cheap handle (an `Arc`) shared by the server, which reads
//! and writes it for clients, and by the application, which posts new values
//! from background tasks. Every change computes which monitor events it is
//! (EPICS `caeventmask.h`): `DBE_VALUE | DBE_LOG` when the value changed,
//! `DBE_ALARM` when status or severity changed, `DBE_PROPERTY` when units,
//! precision, limits or enum strings changed, as `recGblCheckDeadband` /
//! `recGblResetAlarms` / `db_post_events(DBE_PROPERTY)` do in an IOC.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::SystemTime;

use caproto_core::dbr::{
    convert, encode, ConvertContext, DbrFamily, DbrType, DbrValues, EpicsTime, Limits, Metadata,
    NativeType, MAX_STRING_SIZE,
};
use caproto_core::status::{AccessRights, AlarmSeverity, AlarmStatus, EcaStatus};
use caproto_core::wire::EventMask;
use caproto_core::SubId;
use tokio::sync::Notify;

/// One consistent state of a PV: its values and metadata at one instant.
/// Monitors carry snapshots so that value, alarm and timestamp always agree.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// The values (native type, current length).
    pub values: DbrValues,
    /// Alarm status and severity, timestamp, units, precision, limits and
    /// enum strings.
    pub meta: Metadata,
}

/// Why a write was refused, and the CA status the client gets.
///
/// A WRITE_NOTIFY is answered with [`WriteError::status`]; a plain WRITE gets
/// an ERROR message naming the PV (rsrv `camessage.c` `write_action` /
/// `putNotifyErrorReply`). The default status is `ECA_PUTFAIL`, what rsrv
/// answers when `dbPutField` fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteError {
    /// The CA status sent to the client.
    pub status: EcaStatus,
    /// Why, for the server's log.
    pub reason: String,
}

impl WriteError {
    /// A refusal answered with `ECA_PUTFAIL`.
    pub fn new(reason: impl Into<String>) -> WriteError {
        WriteError {
            status: EcaStatus::ECA_PUTFAIL,
            reason: reason.into(),
        }
    }

    /// The same refusal answered with another CA status.
    pub fn with_status(mut self, status: EcaStatus) -> WriteError {
        self.status = status;
        self
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, self.status)
    }
}

impl std::error::Error for WriteError {}

/// The future a write handler returns: the values to store (possibly
/// transformed), or a refusal.
pub type WriteFuture = Pin<Box<dyn Future<Output = Result<DbrValues, WriteError>> + Send>>;

type WriteHandler = Arc<dyn Fn(Pv, DbrValues) -> WriteFuture + Send + Sync>;

type PutHook = Arc<dyn Fn(&Pv, DbrValues, PutKind) -> Result<(), WriteError> + Send + Sync>;

/// Which CA request a client's write came in (rsrv treats them differently:
/// a WRITE is `dbPutField`, a WRITE_NOTIFY goes through `dbPutNotify`,
/// which processes the record even when the put itself failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutKind {
    /// CA_PROTO_WRITE (`ca_put`): no completion is reported.
    Write,
    /// CA_PROTO_WRITE_NOTIFY (`ca_put_callback`): the client waits for
    /// completion.
    WriteNotify,
}

/// See [`PvBuilder::read_converter`].
pub type ReadConverter =
    Arc<dyn Fn(&Snapshot, NativeType) -> Option<Result<DbrValues, EcaStatus>> + Send + Sync>;

type AccessRule = Arc<dyn Fn(&str, &str) -> AccessRights + Send + Sync>;

/// ai/ao-style alarm limits (`aiRecord.c` `checkAlarms`): HIHI and LOLO
/// raise a MAJOR alarm, HIGH and LOW a MINOR one. A limit of NaN is off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlarmLimits {
    /// LOLO: below or equal, MAJOR.
    pub lolo: f64,
    /// LOW: below or equal, MINOR.
    pub low: f64,
    /// HIGH: above or equal, MINOR.
    pub high: f64,
    /// HIHI: above or equal, MAJOR.
    pub hihi: f64,
}

impl AlarmLimits {
    /// The alarm a value is in (the record's HIHI, LOLO, HIGH, LOW order).
    pub fn evaluate(&self, v: f64) -> (AlarmStatus, AlarmSeverity) {
        if v >= self.hihi {
            (AlarmStatus::HIHI, AlarmSeverity::MAJOR)
        } else if v <= self.lolo {
            (AlarmStatus::LOLO, AlarmSeverity::MAJOR)
        } else if v >= self.high {
            (AlarmStatus::HIGH, AlarmSeverity::MINOR)
        } else if v <= self.low {
            (AlarmStatus::LOW, AlarmSeverity::MINOR)
        } else {
            (AlarmStatus::NO_ALARM, AlarmSeverity::NO_ALARM)
        }
    }
}

/// How many updates of one subscription wait for a slow client before
/// newer ones replace the last: rsrv's `EVENTENTRIES` (dbEvent.c). A client
/// that keeps up sees every change (a put to a calc input posts the value
/// written, then the result); one that falls behind costs at most this
/// many snapshots per subscription.
pub(crate) const EVENTS_PER_SUBSCRIPTION: usize = 4;

/// Where a circuit collects the updates of its subscriptions: a short queue
/// per subscription whose last entry is overwritten by newer posts once it
/// is full (see [`EVENTS_PER_SUBSCRIPTION`]).
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pending: Mutex<HashMap<SubId, VecDeque<Arc<Snapshot>>>>,
    /// The client turned events off (flow control): keep one update per
    /// subscription, as dbEvent.c does in `flowCtrlMode`.
    paused: std::sync::atomic::AtomicBool,
    rights: std::sync::atomic::AtomicBool,
    pub(crate) notify: Notify,
}

impl Outbox {
    fn rights_changed(&self) {
        self.rights
            .store(true, std::sync::atomic::Ordering::Release);
        self.notify.notify_one();
    }

    /// True once after the access rights of some PV changed.
    pub(crate) fn take_rights_changed(&self) -> bool {
        self.rights.swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    fn put(&self, subid: SubId, snap: Arc<Snapshot>) {
        let mut pending = lock(&self.pending);
        let queue = pending.entry(subid).or_default();
        let full = queue.len() >= EVENTS_PER_SUBSCRIPTION
            || self.paused.load(std::sync::atomic::Ordering::Relaxed);
        match queue.back_mut() {
            Some(last) if full => *last = snap,
            _ => queue.push_back(snap),
        }
        drop(pending);
        self.notify.notify_one();
    }

    /// Flow control: while paused, newer updates replace the pending one.
    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::Relaxed);
    }

    /// Takes every pending update, oldest first per subscription.
    pub(crate) fn take(&self) -> HashMap<SubId, VecDeque<Arc<Snapshot>>> {
        std::mem::take(&mut *lock(&self.pending))
    }

    /// Forgets the pending updates of a cancelled subscription.
    pub(crate) fn forget(&self, subid: SubId) {
        lock(&self.pending).remove(&subid);
    }
}

/// Makes `snap` the current state and queues it for every subscription
/// whose mask intersects `mask` (none for an empty mask), forgetting the
/// subscriptions of circuits that are gone.
fn fan_out(st: &mut State, snap: Snapshot, mask: EventMask) {
    let new = Arc::new(snap);
    st.current = new.clone();
    if mask.0 == 0 {
        return;
    }
    st.subscribers.retain(|s| {
        let Some(outbox) = s.outbox.upgrade() else {
            return false;
        };
        if s.mask.intersects(mask) {
            outbox.put(s.subid, new.clone());
        }
        true
    });
}

/// A poisoned lock only means another thread panicked while holding it; the
/// data (a snapshot pointer, a list) is still consistent, so go on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct Subscriber {
    outbox: Weak<Outbox>,
    subid: SubId,
    mask: EventMask,
}

struct State {
    current: Arc<Snapshot>,
    subscribers: Vec<Subscriber>,
    /// Circuits with a channel to this PV, told when access rights change.
    circuits: Vec<Weak<Outbox>>,
}

struct Inner {
    name: String,
    /// The full served name, once a server composed the enclosing groups.
    served: std::sync::OnceLock<String>,
    native: NativeType,
    capacity: usize,
    read_only: std::sync::atomic::AtomicBool,
    class_name: String,
    alarm_limits: Option<AlarmLimits>,
    handler: Option<WriteHandler>,
    put_hook: Option<PutHook>,
    reader: Option<ReadConverter>,
    rule: Option<AccessRule>,
    state: Mutex<State>,
}

/// A handle to a [`Pv`] that does not keep it alive (see [`Pv::downgrade`]).
#[derive(Clone, Debug, Default)]
pub struct WeakPv(Weak<Inner>);

impl WeakPv {
    /// The PV, if some handle still holds it.
    pub fn upgrade(&self) -> Option<Pv> {
        self.0.upgrade().map(Pv)
    }
}

/// A process variable served to Channel Access clients.
///
/// Cloning gives another handle to the same PV. Build one with the
/// constructors of [`PvBuilder`] (`Pv::double(2.0)`, ...) and register it
/// in a [`crate::Group`].
#[derive(Clone)]
pub struct Pv(Arc<Inner>);

impl fmt::Debug for Pv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pv")
            .field("name", &self.0.name)
            .field("native", &self.0.native)
            .field("capacity", &self.0.capacity)
            .finish()
    }
}

/// Values that can be posted to a PV: Rust scalars, vectors and strings,
/// converted to the PV's native type with the IOC's rules.
pub trait IntoValues {
    /// The values as [`DbrValues`].
    fn into_values(self) -> DbrValues;
}

macro_rules! into_values {
    ($($t:ty => $variant:ident),*) => {$(
        impl IntoValues for $t {
            fn into_values(self) -> DbrValues { DbrValues::$variant(vec![self]) }
        }
        impl IntoValues for Vec<$t> {
            fn into_values(self) -> DbrValues { DbrValues::$variant(self) }
        }
    )*};
}

into_values!(i16 => Short, f32 => Float, u16 => Enum, u8 => Char, i32 => Long, f64 => Double, String => String);

impl IntoValues for &str {
    fn into_values(self) -> DbrValues {
        DbrValues::String(vec![self.to_owned()])
    }
}

impl IntoValues for DbrValues {
    fn into_values(self) -> DbrValues {
        self
    }
}

impl IntoValues for &[f64] {
    fn into_values(self) -> DbrValues {
        DbrValues::Double(self.to_vec())
    }
}

/// Describes a PV before it is registered: initial value, metadata, limits,
/// flags and write handler.
///
/// ```
/// use caproto_server::{Pv, PvBuilder};
/// let b: PvBuilder = Pv::double(2.0).units("mm").precision(3).display_limits(-10.0, 10.0);
/// ```
pub struct PvBuilder {
    values: DbrValues,
    meta: Metadata,
    capacity: usize,
    read_only: bool,
    class_name: Option<String>,
    alarm_limits: Option<AlarmLimits>,
    handler: Option<WriteHandler>,
    put_hook: Option<PutHook>,
    reader: Option<ReadConverter>,
    rule: Option<AccessRule>,
}

impl fmt::Debug for PvBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PvBuilder")
            .field("values", &self.values)
            .field("capacity", &self.capacity)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl Pv {
    /// A `DBF_DOUBLE` scalar.
    pub fn double(v: f64) -> PvBuilder {
        PvBuilder::new(DbrValues::Double(vec![v]))
    }

    /// A `DBF_FLOAT` scalar.
    pub fn float(v: f32) -> PvBuilder {
        PvBuilder::new(DbrValues::Float(vec![v]))
    }

    /// A `DBF_LONG` (32-bit integer) scalar.
    pub fn long(v: i32) -> PvBuilder {
        PvBuilder::new(DbrValues::Long(vec![v]))
    }

    /// A `DBF_LONG` scalar (CA's usual "int").
    pub fn int(v: i32) -> PvBuilder {
        Pv::long(v)
    }

    /// A `DBF_SHORT` (16-bit integer) scalar.
    pub fn short(v: i16) -> PvBuilder {
        PvBuilder::new(DbrValues::Short(vec![v]))
    }

    /// A `DBF_CHAR` (byte) scalar.
    pub fn char(v: u8) -> PvBuilder {
        PvBuilder::new(DbrValues::Char(vec![v]))
    }

    /// A `DBF_STRING` scalar (at most 39 bytes).
    pub fn string(v: impl Into<String>) -> PvBuilder {
        PvBuilder::new(DbrValues::String(vec![v.into()]))
    }

    /// A `DBF_ENUM` with its state strings (at most 16, 25 bytes each),
    /// initially in state `index`.
    pub fn enumerated<S: AsRef<str>>(states: &[S], index: u16) -> PvBuilder {
        let mut b = PvBuilder::new(DbrValues::Enum(vec![index]));
        b.meta.enum_strings = states.iter().map(|s| s.as_ref().to_owned()).collect();
        b
    }

    /// An array of any native type (`values` gives the type and initial
    /// length); its capacity (the native count advertised to clients) is
    /// the larger of `max_len` and the initial length, and at least 1.
    pub fn array(values: impl IntoValues, max_len: usize) -> PvBuilder {
        let values = values.into_values();
        let cap = max_len.max(values.len()).max(1);
        let mut b = PvBuilder::new(values);
        b.capacity = cap;
        b
    }

    /// A byte array holding text (`DBF_CHAR` with a NUL-terminated string,
    /// as a waveform of `FTVL=CHAR`), for strings longer than 39 bytes.
    pub fn char_text(text: &str, max_len: usize) -> PvBuilder {
        let mut bytes: Vec<u8> = text.as_bytes().to_vec();
        bytes.push(0);
        Pv::array(bytes, max_len)
    }

    /// The PV's name: the full served name once a server was built with
    /// it, before that the name within the group it was created in.
    pub fn name(&self) -> &str {
        self.0.served.get().unwrap_or(&self.0.name)
    }

    /// Records the full name (prefixes of every enclosing group); the
    /// first server built with the PV decides.
    pub(crate) fn set_served_name(&self, name: &str) {
        let _ = self.0.served.set(name.to_owned());
    }

    /// The native type.
    pub fn native_type(&self) -> NativeType {
        self.0.native
    }

    /// The native count advertised to clients (never 0).
    pub fn capacity(&self) -> usize {
        self.0.capacity
    }

    /// True if clients may not write.
    pub fn is_read_only(&self) -> bool {
        self.0.read_only.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Allows or forbids client writes from now on; every connected client
    /// is sent the new rights (an ACCESS_RIGHTS message), as rsrv does when
    /// the access security configuration changes (`casAccessRightsCB`).
    pub fn set_read_only(&self, read_only: bool) {
        let old = self
            .0
            .read_only
            .swap(read_only, std::sync::atomic::Ordering::Relaxed);
        if old == read_only {
            return;
        }
        let mut st = lock(&self.0.state);
        st.circuits.retain(|w| match w.upgrade() {
            Some(outbox) => {
                outbox.rights_changed();
                true
            }
            None => false,
        });
    }

    /// The access rights clients get (before any per-client rule).
    pub fn access(&self) -> AccessRights {
        if self.is_read_only() {
            AccessRights::READ
        } else {
            AccessRights::READ_WRITE
        }
    }

    /// The access rights of a client on `host` logged in as `user`: the
    /// PV's own rights, narrowed by its rule ([`PvBuilder::access_rule`]).
    /// Like rsrv's access security, they are evaluated again when the
    /// client changes its host or user name.
    pub fn access_for(&self, host: &str, user: &str) -> AccessRights {
        let own = self.access();
        match &self.0.rule {
            Some(rule) => AccessRights(own.0 & rule(host, user).0),
            None => own,
        }
    }

    /// The current state.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        lock(&self.0.state).current.clone()
    }

    /// The current values.
    pub fn values(&self) -> DbrValues {
        self.snapshot().values.clone()
    }

    /// The first element as `f64` (`None` for strings or an empty array).
    pub fn get_f64(&self) -> Option<f64> {
        self.snapshot().values.to_f64(0)
    }

    /// Posts new values with the current time: converted to the native
    /// type (a string that is not a number is refused), cut to the
    /// capacity, alarm limits applied; monitors fire for what changed.
    pub fn post(&self, values: impl IntoValues) -> Result<(), WriteError> {
        let values = self.to_native(values.into_values())?;
        self.update(|snap| snap.values = values);
        Ok(())
    }

    /// Changes the alarm status and severity (monitors with `DBE_ALARM`
    /// fire if they changed).
    pub fn set_alarm(&self, status: AlarmStatus, severity: AlarmSeverity) {
        self.update(|snap| {
            snap.meta.status = status;
            snap.meta.severity = severity;
        });
    }

    /// Changes any part of the state at once; the timestamp is set to now
    /// unless `f` set one, alarm limits are applied, and monitors fire with
    /// the mask of what changed.
    pub fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        let mut st = lock(&self.0.state);
        let old = st.current.clone();
        let mut new = Snapshot::clone(&old);
        f(&mut new);
        if new.meta.timestamp == old.meta.timestamp {
            new.meta.timestamp = now();
        }
        self.fit(&mut new);
        let mut mask = EventMask(0);
        if new.values != old.values {
            mask = mask | EventMask::VALUE | EventMask::LOG;
        }
        if new.meta.status != old.meta.status || new.meta.severity != old.meta.severity {
            mask = mask | EventMask::ALARM;
        }
        if new.meta.units != old.meta.units
            || new.meta.precision != old.meta.precision
            || new.meta.limits != old.meta.limits
            || new.meta.enum_strings != old.meta.enum_strings
        {
            mask = mask | EventMask::PROPERTY;
        }
        fan_out(&mut st, new, mask);
    }

    /// Replaces the whole state with `snap` as given (no timestamp, capacity
    /// or alarm-limit processing) and sends it to the subscriptions whose
    /// mask intersects `mask`; an empty mask stores silently, so reads see
    /// the new state but no monitor fires. This is how a database record
    /// posts its fields: it decides itself which events a change is
    /// (`db_post_events` with the record's mask).
    pub fn publish(&self, snap: Snapshot, mask: EventMask) {
        let mut st = lock(&self.0.state);
        fan_out(&mut st, snap, mask);
    }

    /// A handle that does not keep the PV alive (for caches of PVs made on
    /// demand, which should go away when no client uses them).
    pub fn downgrade(&self) -> WeakPv {
        WeakPv(Arc::downgrade(&self.0))
    }

    /// Cuts to the capacity and applies the alarm limits.
    fn fit(&self, snap: &mut Snapshot) {
        snap.values.truncate(self.0.capacity);
        if let (Some(l), Some(v)) = (self.0.alarm_limits, snap.values.to_f64(0)) {
            let (status, severity) = l.evaluate(v);
            snap.meta.status = status;
            snap.meta.severity = severity;
        }
    }

    /// Converts values to the native type with the IOC's rules (enum
    /// strings for an ENUM, the default precision for a STRING target).
    pub fn to_native(&self, values: DbrValues) -> Result<DbrValues, WriteError> {
        let snap = self.snapshot();
        let ctx = ConvertContext {
            precision: ConvertContext::DEFAULT_PRECISION,
            enum_strings: &snap.meta.enum_strings,
        };
        let mut v = convert(&values, self.0.native, &ctx)
            .map_err(|e| WriteError::new(format!("{}: {e}", self.0.name)))?;
        if let DbrValues::String(s) = &v {
            if s.iter().any(|s| s.len() >= MAX_STRING_SIZE) {
                return Err(WriteError::new(format!(
                    "{}: string longer than 39 bytes",
                    self.0.name
                )));
            }
        }
        v.truncate(self.0.capacity);
        Ok(v)
    }

    /// A client's write: converted, passed through the write handler, then
    /// stored and posted.
    pub(crate) async fn client_write(
        &self,
        values: DbrValues,
        kind: PutKind,
    ) -> Result<(), WriteError> {
        if let Some(hook) = &self.0.put_hook {
            return hook(self, values, kind);
        }
        let values = self.to_native(values)?;
        let values = match &self.0.handler {
            Some(h) => {
                let v = h(self.clone(), values).await?;
                self.to_native(v)?
            }
            None => values,
        };
        self.update(|snap| snap.values = values);
        Ok(())
    }

    /// A circuit opened a channel to this PV.
    pub(crate) fn attach(&self, outbox: &Arc<Outbox>) {
        let weak = Arc::downgrade(outbox);
        let mut st = lock(&self.0.state);
        st.circuits.retain(|w| w.strong_count() > 0);
        if !st.circuits.iter().any(|w| w.ptr_eq(&weak)) {
            st.circuits.push(weak);
        }
    }

    pub(crate) fn subscribe(&self, outbox: &Arc<Outbox>, subid: SubId, mask: EventMask) {
        lock(&self.0.state).subscribers.push(Subscriber {
            outbox: Arc::downgrade(outbox),
            subid,
            mask,
        });
    }

    pub(crate) fn unsubscribe(&self, outbox: &Arc<Outbox>, subid: SubId) {
        let weak = Arc::downgrade(outbox);
        lock(&self.0.state)
            .subscribers
            .retain(|s| !(s.subid == subid && s.outbox.ptr_eq(&weak)));
        outbox.forget(subid);
    }

    /// Number of live subscriptions (all clients).
    pub fn subscriber_count(&self) -> usize {
        lock(&self.0.state)
            .subscribers
            .iter()
            .filter(|s| s.outbox.strong_count() > 0)
            .count()
    }

    /// Encodes `snap` as `dbr_type` with `count` elements (0: the current
    /// length; more than available: zero-filled, as rsrv `read_reply`).
    /// Returns the element count and the payload, or the CA status of the
    /// failure (`ECA_GETFAIL` for a conversion that fails, as
    /// `dbChannelGet` failing in rsrv).
    pub fn encode_read(
        &self,
        snap: &Snapshot,
        dbr_type: DbrType,
        count: u32,
    ) -> Result<(u32, Vec<u8>), EcaStatus> {
        let mut meta;
        let meta_ref: &Metadata = match dbr_type.family() {
            DbrFamily::PutAckt | DbrFamily::PutAcks => return Err(EcaStatus::ECA_BADTYPE),
            DbrFamily::ClassName => {
                meta = Metadata::default();
                &meta
            }
            DbrFamily::StsackString if self.0.reader.is_none() => {
                meta = snap.meta.clone();
                // Nothing is left unacknowledged: acks is NO_ALARM.
                meta.acks = 0;
                &meta
            }
            _ => &snap.meta,
        };
        let values = if dbr_type.family() == DbrFamily::ClassName {
            DbrValues::String(vec![self.0.class_name.clone()])
        } else if let Some(converted) = self
            .0
            .reader
            .as_ref()
            .and_then(|r| r(snap, dbr_type.native()))
        {
            converted?
        } else {
            let ctx = ConvertContext {
                precision: snap.meta.precision,
                enum_strings: &snap.meta.enum_strings,
            };
            convert(&snap.values, dbr_type.native(), &ctx).map_err(|_| EcaStatus::ECA_GETFAIL)?
        };
        let n = if count == 0 {
            values.len()
        } else {
            count as usize
        };
        let values = resized(values, n);
        let mut out = Vec::new();
        let count =
            encode(dbr_type, meta_ref, &values, &mut out).map_err(|_| EcaStatus::ECA_GETFAIL)?;
        Ok((count, out))
    }
}

/// `values` cut or zero-filled to `n` elements.
fn resized(mut values: DbrValues, n: usize) -> DbrValues {
    match &mut values {
        DbrValues::String(v) => v.resize(n, String::new()),
        DbrValues::Short(v) => v.resize(n, 0),
        DbrValues::Float(v) => v.resize(n, 0.0),
        DbrValues::Enum(v) => v.resize(n, 0),
        DbrValues::Char(v) => v.resize(n, 0),
        DbrValues::Long(v) => v.resize(n, 0),
        DbrValues::Double(v) => v.resize(n, 0.0),
    }
    values
}

/// The current time as an EPICS timestamp.
pub fn now() -> EpicsTime {
    EpicsTime::from_system_time(SystemTime::now()).unwrap_or(EpicsTime::EPOCH)
}

impl PvBuilder {
    fn new(values: DbrValues) -> PvBuilder {
        let capacity = values.len().max(1);
        PvBuilder {
            values,
            meta: Metadata {
                timestamp: now(),
                ..Metadata::default()
            },
            capacity,
            read_only: false,
            class_name: None,
            alarm_limits: None,
            handler: None,
            put_hook: None,
            reader: None,
            rule: None,
        }
    }

    /// A per-client rule: given the client's host name and user name (its
    /// HOST_NAME and CLIENT_NAME messages), the rights it may have, which
    /// narrow the PV's own (a read-only PV stays read-only). For example
    /// `|host, _user| if host == "control-room" { READ_WRITE } else { READ }`.
    pub fn access_rule(
        mut self,
        rule: impl Fn(&str, &str) -> AccessRights + Send + Sync + 'static,
    ) -> Self {
        self.rule = Some(Arc::new(rule));
        self
    }

    /// Engineering units (at most 7 bytes are sent).
    pub fn units(mut self, units: impl Into<String>) -> Self {
        self.meta.units = units.into();
        self
    }

    /// Display precision (decimal places for FLOAT/DOUBLE).
    pub fn precision(mut self, precision: i16) -> Self {
        self.meta.precision = precision;
        self
    }

    /// Display limits (LOPR, HOPR).
    pub fn display_limits(mut self, low: f64, high: f64) -> Self {
        self.meta.limits.lower_disp = low;
        self.meta.limits.upper_disp = high;
        self
    }

    /// Control limits (DRVL, DRVH).
    pub fn control_limits(mut self, low: f64, high: f64) -> Self {
        self.meta.limits.lower_ctrl = low;
        self.meta.limits.upper_ctrl = high;
        self
    }

    /// Alarm limits LOLO, LOW, HIGH, HIHI: advertised in GR/CTRL
    /// metadata and applied to every new value like an ai/ao record (MAJOR
    /// beyond LOLO/HIHI, MINOR beyond LOW/HIGH). Use NaN to leave one off.
    pub fn alarm_limits(mut self, lolo: f64, low: f64, high: f64, hihi: f64) -> Self {
        self.meta.limits = Limits {
            lower_alarm: lolo,
            lower_warning: low,
            upper_warning: high,
            upper_alarm: hihi,
            ..self.meta.limits
        };
        self.alarm_limits = Some(AlarmLimits {
            lolo,
            low,
            high,
            hihi,
        });
        self
    }

    /// Initial alarm status and severity.
    pub fn alarm(mut self, status: AlarmStatus, severity: AlarmSeverity) -> Self {
        self.meta.status = status;
        self.meta.severity = severity;
        self
    }

    /// Clients may read but not write (their writes get `ECA_NOWTACCESS`).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The capacity (largest length) of an array PV.
    pub fn max_length(mut self, n: usize) -> Self {
        self.capacity = n.max(self.values.len()).max(1);
        self
    }

    /// The record type name answered to `DBR_CLASS_NAME` (default: `ai`,
    /// `ao`, `waveform`, `stringin`, `mbbi` ... after the type and flags).
    pub fn class_name(mut self, name: impl Into<String>) -> Self {
        self.class_name = Some(name.into());
        self
    }

    /// An async handler run on every client write, with the values
    /// already converted to the native type. It returns the values to store
    /// (the same, or transformed) or a [`WriteError`]; a WRITE_NOTIFY
    /// completes only when it finishes.
    pub fn on_write<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Pv, DbrValues) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<DbrValues, WriteError>> + Send + 'static,
    {
        self.handler = Some(Arc::new(move |pv, v| Box::pin(f(pv, v))));
        self
    }

    /// A synchronous hook that takes over client writes entirely: it gets
    /// the values as the client sent them (not converted) and the kind of
    /// request, and stores them
    /// itself (with [`Pv::publish`] or [`Pv::update`]) or refuses them.
    /// Nothing else is stored. Used by database records, whose puts convert,
    /// process and post in one step. Replaces [`PvBuilder::on_write`].
    pub fn on_put(
        mut self,
        f: impl Fn(&Pv, DbrValues, PutKind) -> Result<(), WriteError> + Send + Sync + 'static,
    ) -> Self {
        self.put_hook = Some(Arc::new(f));
        self
    }

    /// A conversion used for reads before the standard one: given the
    /// snapshot and the native type a client asked for, `Some` is the
    /// converted values (or the failure status), `None` falls back to the
    /// standard conversion. With a converter, `DBR_STSACK_STRING` reports
    /// the snapshot's `acks` as is. Used by database records whose ENUM to
    /// STRING and DOUBLE to STRING rules depend on the record.
    pub fn read_converter(
        mut self,
        f: impl Fn(&Snapshot, NativeType) -> Option<Result<DbrValues, EcaStatus>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.reader = Some(Arc::new(f));
        self
    }

    /// Replaces the initial metadata (alarm, timestamp, units, precision,
    /// limits, enum strings) as a whole.
    pub fn metadata(mut self, meta: Metadata) -> Self {
        self.meta = meta;
        self
    }

    /// Builds a PV outside any group, e.g. for a [`crate::PvSource`]
    /// making PVs on demand.
    pub fn build_named(self, name: impl Into<String>) -> Pv {
        self.build(name.into())
    }

    /// Builds the PV under its full name.
    pub(crate) fn build(self, name: String) -> Pv {
        let native = self.values.native_type();
        let class_name = self
            .class_name
            .unwrap_or_else(|| default_class(native, self.capacity, self.read_only).to_owned());
        let pv = Pv(Arc::new(Inner {
            name,
            served: std::sync::OnceLock::new(),
            native,
            capacity: self.capacity,
            read_only: std::sync::atomic::AtomicBool::new(self.read_only),
            class_name,
            alarm_limits: self.alarm_limits,
            handler: self.handler,
            put_hook: self.put_hook,
            reader: self.reader,
            rule: self.rule,
            state: Mutex::new(State {
                current: Arc::new(Snapshot {
                    values: self.values,
                    meta: self.meta,
                }),
                subscribers: Vec::new(),
                circuits: Vec::new(),
            }),
        }));
        // Apply the capacity and alarm limits to the initial value.
        let mut st = lock(&pv.0.state);
        let mut first = Snapshot::clone(&st.current);
        pv.fit(&mut first);
        st.current = Arc::new(first);
        drop(st);
        pv
    }
}

/// The record type an equivalent EPICS database would use.
fn default_class(native: NativeType, capacity: usize, read_only: bool) -> &'static str {
    if capacity > 1 {
        return "waveform";
    }
    match (native, read_only) {
        (NativeType::String, true) => "stringin",
        (NativeType::String, false) => "stringout",
        (NativeType::Enum, true) => "mbbi",
        (NativeType::Enum, false) => "mbbo",
        (NativeType::Float | NativeType::Double, true) => "ai",
        (NativeType::Float | NativeType::Double, false) => "ao",
        (_, true) => "longin",
        (_, false) => "longout",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_read_handles_counts_conversions_and_class() {
        let pv = Pv::array(vec![1.0, 2.0], 5).build("t:arr".into());
        assert_eq!(pv.capacity(), 5);
        let snap = pv.snapshot();
        let (n, data) = pv.encode_read(&snap, DbrType::Double, 0).unwrap();
        assert_eq!((n, data.len()), (2, 16));
        let (n, data) = pv.encode_read(&snap, DbrType::Long, 4).unwrap();
        assert_eq!(n, 4);
        assert_eq!(data, [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
        let (_, data) = pv.encode_read(&snap, DbrType::ClassName, 1).unwrap();
        assert!(data.starts_with(b"waveform\0"));

        let s = Pv::string("abc").build("t:s".into());
        let err = s.encode_read(&s.snapshot(), DbrType::Double, 1);
        assert_eq!(err, Err(EcaStatus::ECA_GETFAIL));
    }

    #[test]
    fn updates_fire_masks_for_what_changed() {
        let pv = Pv::double(1.0)
            .alarm_limits(-10.0, -5.0, 5.0, 10.0)
            .build("t:d".into());
        let outbox = Arc::new(Outbox::default());
        pv.subscribe(&outbox, SubId(1), EventMask::VALUE);
        pv.subscribe(&outbox, SubId(2), EventMask::ALARM);
        pv.subscribe(&outbox, SubId(3), EventMask::PROPERTY);
        pv.post(2.0).unwrap();
        let got = outbox.take();
        assert!(got.contains_key(&SubId(1)) && !got.contains_key(&SubId(2)));
        pv.post(7.0).unwrap();
        let got = outbox.take();
        assert!(got.contains_key(&SubId(1)) && got.contains_key(&SubId(2)));
        assert_eq!(got[&SubId(2)][0].meta.severity, AlarmSeverity::MINOR);
        pv.update(|s| s.meta.units = "mm".into());
        let got = outbox.take();
        assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![SubId(3)]);
        // A client that keeps up sees every change, in order.
        pv.post(0.5).unwrap();
        pv.post(0.25).unwrap();
        let got = outbox.take();
        let values: Vec<_> = got[&SubId(1)].iter().map(|s| s.values.clone()).collect();
        assert_eq!(
            values,
            [DbrValues::Double(vec![0.5]), DbrValues::Double(vec![0.25])]
        );
        // Coalescing: many posts leave at most EVENTS_PER_SUBSCRIPTION
        // pending, the oldest ones and the newest last.
        for i in 0..100 {
            pv.post(f64::from(i) / 100.0).unwrap();
        }
        let got = outbox.take();
        let values: Vec<_> = got[&SubId(1)].iter().map(|s| s.values.clone()).collect();
        assert_eq!(values.len(), EVENTS_PER_SUBSCRIPTION);
        assert_eq!(values[0], DbrValues::Double(vec![0.0]));
        assert_eq!(values.last(), Some(&DbrValues::Double(vec![0.99])));
        pv.unsubscribe(&outbox, SubId(1));
        pv.post(3.0).unwrap();
        assert!(outbox.take().is_empty());
    }

    #[tokio::test]
    async fn publish_sends_only_the_given_mask_and_on_put_takes_over_writes() {
        let stored = Arc::new(Mutex::new(Vec::new()));
        let seen = stored.clone();
        let pv = Pv::double(1.0)
            .on_put(move |pv, values, _kind| {
                seen.lock().unwrap().push(values.clone());
                let mut snap = Snapshot::clone(&pv.snapshot());
                snap.values = DbrValues::Double(vec![42.0]);
                pv.publish(snap, EventMask::VALUE);
                Ok(())
            })
            .read_converter(|_, to| {
                (to == NativeType::String).then(|| Ok(DbrValues::String(vec!["custom".into()])))
            })
            .build("t:hook".into());
        let outbox = Arc::new(Outbox::default());
        pv.subscribe(&outbox, SubId(1), EventMask::VALUE);
        pv.subscribe(&outbox, SubId(2), EventMask::PROPERTY);
        // A silent publish changes what reads see but fires nothing.
        let mut snap = Snapshot::clone(&pv.snapshot());
        snap.meta.units = "mm".into();
        pv.publish(snap, EventMask(0));
        assert!(outbox.take().is_empty());
        assert_eq!(pv.snapshot().meta.units, "mm");
        // The hook gets the raw client values and stores by itself.
        let raw = DbrValues::String(vec!["7".into()]);
        assert_eq!(pv.client_write(raw.clone(), PutKind::Write).await, Ok(()));
        assert_eq!(*stored.lock().unwrap(), vec![raw]);
        let got = outbox.take();
        assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![SubId(1)]);
        assert_eq!(pv.get_f64(), Some(42.0));
        // The read converter decides the STRING form; others are standard.
        let (_, data) = pv.encode_read(&pv.snapshot(), DbrType::String, 1).unwrap();
        assert!(data.starts_with(b"custom\0"));
        let (_, data) = pv.encode_read(&pv.snapshot(), DbrType::Long, 1).unwrap();
        assert_eq!(data, [0, 0, 0, 42]);
        // Weak handles do not keep a PV alive.
        let weak = pv.downgrade();
        assert!(weak.upgrade().is_some());
        drop(pv);
        assert!(weak.upgrade().is_none());
    }
}
