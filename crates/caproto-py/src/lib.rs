//! The native half of the Python package `caproto_rs`: channels of the
//! caproto-rs client, and the queue that carries their events to Python.
//!
//! Threads:
//!
//! - one tokio runtime (one worker thread) owned by the module runs the
//!   client: sockets, timers, circuits. Nothing on it ever takes the GIL;
//! - Python calls that wait (connect, read, write with completion) release
//!   the GIL and block on the runtime;
//! - monitor updates, connection changes and completions of asynchronous
//!   operations are pushed onto a [`Hub`] queue and taken from it by one
//!   Python thread (the dispatcher, in `caproto_rs/_dispatch.py`), which
//!   converts them to Python objects and runs the callbacks. A subscription
//!   whose consumer falls behind coalesces: at most [`SUB_QUEUE`] updates
//!   wait for Python, the newest replacing the last queued one (as the
//!   client's own subscription queue does), so the I/O never waits for
//!   Python and memory stays bounded.
//!
//! Values follow pyepics' conventions (`epics/ca.py` `_unpack` and
//! `_unpack_metadata`): scalars as `int`/`float`/`str`, arrays as numpy
//! arrays (filled in one pass from the wire bytes, no per-element Python
//! objects) when numpy is there, lists otherwise; metadata as dicts with the
//! pyepics keys.

// The `#[pyfunction]`/`#[pymethods]` expansion of pyo3 0.22 converts
// every `PyResult` into itself, which clippy reports at each signature.
#![allow(clippy::useless_conversion)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use caproto_client::{
    Channel, ConnectionState, ConnectionStatus, Context, ContextBuilder, DbrData, DbrType,
    DbrValues, Error, EventMask, Metadata,
};
use caproto_core::dbr::{self, DbrFamily, NativeType, ValuesView};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

create_exception!(
    _native,
    ChannelAccessException,
    PyException,
    "A Channel Access operation failed; the message names the PV and the CA status."
);
create_exception!(
    _native,
    CATimeoutError,
    ChannelAccessException,
    "A PV was not found, is disconnected, or did not answer within the timeout."
);

/// Updates of one subscription waiting for Python before they coalesce.
const SUB_QUEUE: usize = 1024;

/// Ready items handed to Python per `wait_events` call, so that one call
/// never holds the GIL for too long.
const MAX_BATCH: usize = 4096;

/// EPICS epoch (1990-01-01) in POSIX seconds (`epicsTime.h`
/// `POSIX_TIME_AT_EPICS_EPOCH`).
const EPICS_TO_UNIX: f64 = 631_152_000.0;

// ---------------------------------------------------------------------------
// The client: runtime + context + hub, created on first use.

struct Client {
    rt: Runtime,
    ctx: Context,
    hub: Arc<Hub>,
}

static CLIENT: OnceLock<Result<Client, String>> = OnceLock::new();

fn make_client() -> Result<Client, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("caproto-rs-io")
        .enable_all()
        .build()
        .map_err(|e| format!("starting the client runtime: {e}"))?;
    let builder = ContextBuilder::from_env().map_err(|e| e.to_string())?;
    let ctx = rt.block_on(builder.build()).map_err(|e| e.to_string())?;
    Ok(Client {
        rt,
        ctx,
        hub: Arc::new(Hub::default()),
    })
}

fn client(py: Python<'_>) -> PyResult<&'static Client> {
    let c = match CLIENT.get() {
        Some(c) => c,
        None => py.allow_threads(|| CLIENT.get_or_init(make_client)),
    };
    c.as_ref()
        .map_err(|e| ChannelAccessException::new_err(format!("client context: {e}")))
}

fn secs(timeout: f64) -> Duration {
    if timeout.is_finite() && timeout > 0.0 {
        Duration::from_secs_f64(timeout.min(1.0e6))
    } else {
        Duration::ZERO
    }
}

/// Runs `fut` on the client's runtime with the GIL released, checking for
/// Python signals (Ctrl-C) every [`SIGNAL_SLICE`] so that a long wait can
/// be interrupted (the operation is then abandoned).
fn block<F>(py: Python<'_>, c: &Client, fut: F) -> PyResult<F::Output>
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        let slice = py.allow_threads(|| {
            c.rt.block_on(async { tokio::time::timeout(SIGNAL_SLICE, fut.as_mut()).await })
        });
        match slice {
            Ok(out) => return Ok(out),
            Err(_) => py.check_signals()?,
        }
    }
}

/// How often a blocked call looks for Ctrl-C.
const SIGNAL_SLICE: Duration = Duration::from_millis(100);

fn to_py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::NotFound { .. } | Error::Timeout { .. } | Error::Disconnected { .. } => {
            CATimeoutError::new_err(msg)
        }
        _ => ChannelAccessException::new_err(msg),
    }
}

// ---------------------------------------------------------------------------
// The hub: what the I/O hands to the dispatcher thread.

enum Ready {
    Sub(Arc<SubSlot>),
    Conn {
        token: u64,
        state: ConnectionState,
    },
    Done {
        token: u64,
        result: Result<Completed, Error>,
    },
}

enum Completed {
    Unit,
    Read {
        data_type: DbrType,
        count: u32,
        data: Vec<u8>,
        native_count: u32,
        as_numpy: bool,
    },
}

#[derive(Default)]
struct Hub {
    queue: Mutex<VecDeque<Ready>>,
    cv: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    fn push(&self, r: Ready) {
        lock(&self.queue).push_back(r);
        self.cv.notify_one();
    }

    /// Waits up to `timeout` for ready items and takes them (at most
    /// [`MAX_BATCH`]).
    fn take(&self, timeout: Duration) -> Vec<Ready> {
        let mut q = lock(&self.queue);
        if q.is_empty() {
            q = match self.cv.wait_timeout_while(q, timeout, |q| q.is_empty()) {
                Ok((q, _)) => q,
                Err(e) => e.into_inner().0,
            };
        }
        let n = q.len().min(MAX_BATCH);
        q.drain(..n).collect()
    }
}

/// The updates of one subscription waiting for the dispatcher.
struct SubSlot {
    token: u64,
    items: Mutex<VecDeque<Result<Arc<DbrData>, Error>>>,
    /// The newest update received (whether Python has seen it or not).
    latest: Mutex<Option<Arc<DbrData>>>,
    /// True while the slot is in the hub's queue (at most once).
    scheduled: AtomicBool,
    data_type: DbrType,
    native_count: u32,
    as_numpy: bool,
}

impl SubSlot {
    fn push(self: &Arc<Self>, hub: &Hub, item: Result<DbrData, Error>) {
        let item = item.map(Arc::new);
        if let Ok(d) = &item {
            *lock(&self.latest) = Some(d.clone());
        }
        {
            let mut items = lock(&self.items);
            if items.len() >= SUB_QUEUE {
                items.pop_back();
            }
            items.push_back(item);
        }
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            hub.push(Ready::Sub(self.clone()));
        }
    }

    fn take(&self) -> VecDeque<Result<Arc<DbrData>, Error>> {
        self.scheduled.store(false, Ordering::Release);
        std::mem::take(&mut *lock(&self.items))
    }
}

// ---------------------------------------------------------------------------
// numpy (optional).

static FROMBUFFER: GILOnceCell<PyObject> = GILOnceCell::new();

/// Registers `numpy.frombuffer`; without it arrays are lists.
#[pyfunction]
fn set_numpy(py: Python<'_>, frombuffer: PyObject) -> PyResult<()> {
    let _ = FROMBUFFER.set(py, frombuffer);
    Ok(())
}

fn dtype_name(native: NativeType) -> &'static str {
    match native {
        NativeType::Short => "int16",
        NativeType::Float => "float32",
        NativeType::Enum => "uint16",
        NativeType::Char => "uint8",
        NativeType::Long => "int32",
        NativeType::Double => "float64",
        NativeType::String => "object",
    }
}

/// A numpy array of the big-endian wire elements `be` (numeric `native`),
/// byte-swapped in one pass straight into the array's memory.
fn numpy_from_be(
    py: Python<'_>,
    frombuffer: &PyObject,
    native: NativeType,
    be: &[u8],
) -> PyResult<PyObject> {
    let buf = PyByteArray::new_bound_with(py, be.len(), |out: &mut [u8]| {
        macro_rules! swap {
            ($t:ty, $n:expr) => {
                for (o, i) in out.chunks_exact_mut($n).zip(be.chunks_exact($n)) {
                    let mut a = [0u8; $n];
                    a.copy_from_slice(i);
                    o.copy_from_slice(&<$t>::from_be_bytes(a).to_ne_bytes());
                }
            };
        }
        // Fixed-size chunks and `from_be_bytes`: a vectorised byte swap.
        match native {
            NativeType::Short => swap!(i16, 2),
            NativeType::Float => swap!(f32, 4),
            NativeType::Enum => swap!(u16, 2),
            NativeType::Char => out.copy_from_slice(be),
            NativeType::Long => swap!(i32, 4),
            NativeType::Double => swap!(f64, 8),
            NativeType::String => {}
        }
        Ok(())
    })?;
    frombuffer.call1(py, (buf, dtype_name(native)))
}

macro_rules! ne_fill {
    ($v:expr, $out:expr, $n:expr) => {
        for (o, x) in $out.chunks_exact_mut($n).zip($v.iter()) {
            o.copy_from_slice(&x.to_ne_bytes());
        }
    };
}

/// A numpy array of decoded values (one memcpy-like pass).
fn numpy_from_values(
    py: Python<'_>,
    frombuffer: &PyObject,
    values: &DbrValues,
) -> PyResult<PyObject> {
    let native = values.native_type();
    let n = native.element_size();
    let buf = PyByteArray::new_bound_with(py, values.len() * n, |out: &mut [u8]| {
        match values {
            DbrValues::Short(v) => ne_fill!(v, out, n),
            DbrValues::Float(v) => ne_fill!(v, out, n),
            DbrValues::Enum(v) => ne_fill!(v, out, n),
            DbrValues::Char(v) => out.copy_from_slice(v),
            DbrValues::Long(v) => ne_fill!(v, out, n),
            DbrValues::Double(v) => ne_fill!(v, out, n),
            DbrValues::String(_) => {}
        }
        Ok(())
    })?;
    frombuffer.call1(py, (buf, dtype_name(native)))
}

fn list_of(py: Python<'_>, values: &DbrValues) -> PyObject {
    match values {
        DbrValues::String(v) => PyList::new_bound(py, v).into_py(py),
        DbrValues::Short(v) => PyList::new_bound(py, v).into_py(py),
        DbrValues::Float(v) => PyList::new_bound(py, v.iter().map(|x| f64::from(*x))).into_py(py),
        DbrValues::Enum(v) => PyList::new_bound(py, v).into_py(py),
        DbrValues::Char(v) => PyList::new_bound(py, v).into_py(py),
        DbrValues::Long(v) => PyList::new_bound(py, v).into_py(py),
        DbrValues::Double(v) => PyList::new_bound(py, v).into_py(py),
    }
}

fn first_of(py: Python<'_>, values: &DbrValues) -> PyObject {
    match values {
        DbrValues::String(v) => v.first().map(|s| s.into_py(py)),
        DbrValues::Short(v) => v.first().map(|x| x.into_py(py)),
        DbrValues::Float(v) => v.first().map(|x| f64::from(*x).into_py(py)),
        DbrValues::Enum(v) => v.first().map(|x| x.into_py(py)),
        DbrValues::Char(v) => v.first().map(|x| x.into_py(py)),
        DbrValues::Long(v) => v.first().map(|x| x.into_py(py)),
        DbrValues::Double(v) => v.first().map(|x| x.into_py(py)),
    }
    .unwrap_or_else(|| py.None())
}

/// Where the values come from: decoded, or still as wire bytes.
enum Vals<'a> {
    Decoded(&'a DbrValues),
    Wire(ValuesView<'a>),
}

impl Vals<'_> {
    fn native(&self) -> NativeType {
        match self {
            Vals::Decoded(v) => v.native_type(),
            Vals::Wire(v) => v.native_type(),
        }
    }
    fn len(&self) -> usize {
        match self {
            Vals::Decoded(v) => v.len(),
            Vals::Wire(v) => v.len(),
        }
    }
}

/// The Python value, as pyepics' `_unpack` shapes it: a CHAR array of a
/// channel with more than one element stays an array; one numeric element
/// is a scalar; strings are a list, or one `str` for a scalar channel;
/// other arrays are numpy arrays (or lists).
fn py_value(
    py: Python<'_>,
    vals: Vals<'_>,
    native_count: u32,
    as_numpy: bool,
) -> PyResult<PyObject> {
    let native = vals.native();
    let n = vals.len();
    let owned;
    let decoded = match &vals {
        Vals::Decoded(v) => *v,
        Vals::Wire(w) => {
            if native != NativeType::String && n != 1 {
                if let (true, Some(fb)) = (as_numpy, FROMBUFFER.get(py)) {
                    return numpy_from_be(py, fb, native, w.as_bytes());
                }
            }
            owned = w.to_values();
            &owned
        }
    };
    if native == NativeType::String {
        if n == 1 && native_count <= 1 {
            return Ok(first_of(py, decoded));
        }
        return Ok(list_of(py, decoded));
    }
    let char_array = native == NativeType::Char && native_count > 1;
    if n == 1 && !char_array {
        return Ok(first_of(py, decoded));
    }
    match (as_numpy, FROMBUFFER.get(py)) {
        (true, Some(fb)) => numpy_from_values(py, fb, decoded),
        _ => Ok(list_of(py, decoded)),
    }
}

const LIMIT_KEYS: [&str; 8] = [
    "upper_disp_limit",
    "lower_disp_limit",
    "upper_alarm_limit",
    "upper_warning_limit",
    "lower_warning_limit",
    "lower_alarm_limit",
    "upper_ctrl_limit",
    "lower_ctrl_limit",
];

/// The metadata keys pyepics gives for `data_type` (`_unpack_metadata`):
/// TIME types give status, severity and the timestamp (float POSIX seconds
/// truncated to microseconds, `posixseconds`, `nanoseconds`); CTRL types
/// give status, severity, units, precision (FLOAT/DOUBLE), the eight
/// limits and enum strings (ENUM), in the C structure's field types.
fn put_meta(d: &Bound<'_, PyDict>, data_type: DbrType, m: &Metadata) -> PyResult<()> {
    match data_type.family() {
        DbrFamily::Time => {
            d.set_item("status", m.status.0)?;
            d.set_item("severity", m.severity.0)?;
            let s = f64::from(m.timestamp.secs);
            // dbr.py make_unixtime: epoch + secs + 1e-6 * int(1e-3 * nsec).
            let micros = (1.0e-3 * f64::from(m.timestamp.nanos)).trunc();
            d.set_item("timestamp", EPICS_TO_UNIX + s + 1.0e-6 * micros)?;
            d.set_item("posixseconds", EPICS_TO_UNIX + s)?;
            d.set_item("nanoseconds", m.timestamp.nanos)?;
        }
        DbrFamily::Ctrl | DbrFamily::Gr => {
            let native = data_type.native();
            let l = &m.limits;
            let lims = [
                l.upper_disp,
                l.lower_disp,
                l.upper_alarm,
                l.upper_warning,
                l.lower_warning,
                l.lower_alarm,
                l.upper_ctrl,
                l.lower_ctrl,
            ];
            match native {
                NativeType::String | NativeType::Enum => {}
                NativeType::Float | NativeType::Double => {
                    for (k, v) in LIMIT_KEYS.iter().zip(lims) {
                        d.set_item(*k, v)?;
                    }
                    d.set_item("precision", m.precision)?;
                }
                NativeType::Char => {
                    // pyepics reads CHAR limits as a C `signed char`.
                    for (k, v) in LIMIT_KEYS.iter().zip(lims) {
                        d.set_item(*k, v as i64 as u8 as i8)?;
                    }
                }
                NativeType::Short | NativeType::Long => {
                    for (k, v) in LIMIT_KEYS.iter().zip(lims) {
                        d.set_item(*k, v as i64)?;
                    }
                }
            }
            if !matches!(native, NativeType::String | NativeType::Enum) {
                d.set_item("units", &m.units)?;
            }
            d.set_item("status", m.status.0)?;
            d.set_item("severity", m.severity.0)?;
            if native == NativeType::Enum && !m.enum_strings.is_empty() {
                d.set_item("enum_strs", PyTuple::new_bound(d.py(), &m.enum_strings))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `{"value": ..., <metadata>}` from a raw read reply.
fn read_dict(
    py: Python<'_>,
    data_type: DbrType,
    count: u32,
    data: &[u8],
    native_count: u32,
    as_numpy: bool,
) -> PyResult<PyObject> {
    let bad = |e: caproto_core::ProtocolError| {
        ChannelAccessException::new_err(format!("malformed reply from the server: {e}"))
    };
    let d = PyDict::new_bound(py);
    let value = if data_type == DbrType::String && count == 1 {
        // The short-string form (fewer than 40 bytes) only `decode` knows.
        let full = dbr::decode(data_type, count, data).map_err(bad)?;
        py_value(py, Vals::Decoded(&full.values), native_count, as_numpy)?
    } else {
        let view = dbr::values_view(data_type, count, data).map_err(bad)?;
        py_value(py, Vals::Wire(view), native_count, as_numpy)?
    };
    d.set_item("value", value)?;
    if data_type.family() != DbrFamily::Plain {
        let meta = dbr::decode(data_type, 0, data).map_err(bad)?;
        put_meta(&d, data_type, &meta.meta)?;
    }
    Ok(d.into_py(py))
}

/// The keyword arguments of one monitor update, as pyepics' monitor
/// handler builds them (`value`, `ftype`, `count` and the metadata).
fn monitor_kwargs(
    py: Python<'_>,
    data: &DbrData,
    data_type: DbrType,
    native_count: u32,
    as_numpy: bool,
) -> PyResult<PyObject> {
    let d = PyDict::new_bound(py);
    d.set_item(
        "value",
        py_value(py, Vals::Decoded(&data.values), native_count, as_numpy)?,
    )?;
    d.set_item("ftype", data_type.code())?;
    d.set_item("count", data.values.len())?;
    put_meta(&d, data_type, &data.meta)?;
    Ok(d.into_py(py))
}

// ---------------------------------------------------------------------------
// Python → values.

fn is_text(v: &Bound<'_, PyAny>) -> bool {
    v.is_instance_of::<PyString>() || v.is_instance_of::<PyBytes>()
}

fn text_of(v: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = v.downcast::<PyBytes>() {
        return Ok(String::from_utf8_lossy(b.as_bytes()).into_owned());
    }
    v.str()?.extract()
}

/// Elements of a sequence (not text), or the value itself as one element.
fn elements<'py>(v: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if !is_text(v) {
        if let Ok(it) = v.iter() {
            return it.collect();
        }
    }
    Ok(vec![v.clone()])
}

fn to_f64(v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if is_text(v) {
        return text_of(v)?.trim().parse::<f64>().map_err(|_| {
            PyValueError::new_err(format!(
                "cannot put {} to a numeric PV",
                v.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        });
    }
    v.extract::<f64>()
}

fn to_i64(v: &Bound<'_, PyAny>) -> PyResult<i64> {
    if is_text(v) {
        // pyepics: int(value, base=0) for integer PVs.
        let int = v.py().get_type_bound::<pyo3::types::PyLong>();
        return int.call1((text_of(v)?, 0))?.extract();
    }
    match v.extract::<i64>() {
        Ok(i) => Ok(i),
        Err(_) => Ok(v.extract::<f64>()? as i64),
    }
}

/// Raw native-endian array bytes (from `ndarray.tobytes()` in the
/// Python layer) as values of `native`.
fn values_from_ne(native: NativeType, b: &[u8]) -> DbrValues {
    macro_rules! ne {
        ($t:ty, $n:expr) => {
            b.chunks_exact($n)
                .map(|c| {
                    let mut a = [0u8; $n];
                    a.copy_from_slice(c);
                    <$t>::from_ne_bytes(a)
                })
                .collect()
        };
    }
    match native {
        NativeType::Short => DbrValues::Short(ne!(i16, 2)),
        NativeType::Float => DbrValues::Float(ne!(f32, 4)),
        NativeType::Enum => DbrValues::Enum(ne!(u16, 2)),
        NativeType::Char => DbrValues::Char(b.to_vec()),
        NativeType::Long => DbrValues::Long(ne!(i32, 4)),
        NativeType::Double => DbrValues::Double(ne!(f64, 8)),
        NativeType::String => DbrValues::String(Vec::new()),
    }
}

/// The DBR type and values to write `value` to a channel of `native`
/// type and `native_count` elements, converting as pyepics' `ca.put` does.
fn values_for_put(
    value: &Bound<'_, PyAny>,
    native: NativeType,
    native_count: u32,
    raw: bool,
) -> PyResult<(DbrType, DbrValues)> {
    let max = usize::try_from(native_count.max(1)).unwrap_or(usize::MAX);
    let plain = |n: NativeType| DbrType::from_parts(DbrFamily::Plain, n).unwrap_or(DbrType::String);
    if raw {
        let b = value.downcast::<PyBytes>()?.as_bytes();
        let mut vals = values_from_ne(native, b);
        vals.truncate(max);
        return Ok((plain(native), vals));
    }
    let mut vals = match native {
        NativeType::String => {
            let v = if is_text(value) {
                vec![text_of(value)?]
            } else {
                elements(value)?
                    .iter()
                    .map(text_of)
                    .collect::<PyResult<Vec<_>>>()?
            };
            DbrValues::String(v)
        }
        // A state name: the server looks it up (DBR_STRING to an ENUM).
        NativeType::Enum if value.is_instance_of::<PyString>() => {
            DbrValues::String(vec![text_of(value)?])
        }
        NativeType::Char if is_text(value) && native_count > 1 => {
            DbrValues::Char(dbr::text_to_chars(&text_of(value)?))
        }
        NativeType::Float | NativeType::Double => {
            let v = elements(value)?
                .iter()
                .map(to_f64)
                .collect::<PyResult<Vec<_>>>()?;
            if native == NativeType::Float {
                DbrValues::Float(v.into_iter().map(|x| x as f32).collect())
            } else {
                DbrValues::Double(v)
            }
        }
        NativeType::Short | NativeType::Enum | NativeType::Char | NativeType::Long => {
            let v = elements(value)?
                .iter()
                .map(to_i64)
                .collect::<PyResult<Vec<_>>>()?;
            match native {
                NativeType::Short => DbrValues::Short(v.into_iter().map(|x| x as i16).collect()),
                NativeType::Enum => DbrValues::Enum(v.into_iter().map(|x| x as u16).collect()),
                NativeType::Char => DbrValues::Char(v.into_iter().map(|x| x as u8).collect()),
                _ => DbrValues::Long(v.into_iter().map(|x| x as i32).collect()),
            }
        }
    };
    if vals.is_empty() {
        return Err(PyValueError::new_err("cannot put an empty value"));
    }
    vals.truncate(max);
    Ok((plain(vals.native_type()), vals))
}

// ---------------------------------------------------------------------------
// Python classes.

/// One channel (PV) of the client. It connects in the background and
/// reconnects by itself.
#[pyclass(module = "caproto_rs._native", frozen)]
struct Chan {
    ch: Channel,
}

/// A running subscription or connection watch; `close()` (or dropping
/// it) stops it.
#[pyclass(module = "caproto_rs._native", frozen)]
struct Task {
    handle: Mutex<Option<JoinHandle<()>>>,
    slot: Option<Arc<SubSlot>>,
}

impl Task {
    fn new(h: JoinHandle<()>, slot: Option<Arc<SubSlot>>) -> Task {
        Task {
            handle: Mutex::new(Some(h)),
            slot,
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Some(h) = lock(&self.handle).take() {
            h.abort();
        }
    }
}

#[pymethods]
impl Task {
    /// Stops it (idempotent).
    fn close(&self) {
        if let Some(h) = lock(&self.handle).take() {
            h.abort();
        }
    }

    /// A subscription's newest update as monitor keyword arguments (None
    /// before the first one): what the I/O has received, even if the
    /// dispatcher has not delivered it yet.
    fn latest(&self, py: Python<'_>) -> PyResult<PyObject> {
        let Some(slot) = &self.slot else {
            return Ok(py.None());
        };
        let d = lock(&slot.latest).clone();
        match d {
            Some(d) => monitor_kwargs(py, &d, slot.data_type, slot.native_count, slot.as_numpy),
            None => Ok(py.None()),
        }
    }
}

fn state_tuple(py: Python<'_>, s: &ConnectionState) -> PyObject {
    let status: u8 = match s.status {
        ConnectionStatus::Searching => 0,
        ConnectionStatus::Connected => 1,
        _ => 2,
    };
    let (native, count, read, write) = match s.info {
        Some(i) => (
            Some(i.native_type.code()),
            i.native_count,
            i.access.can_read(),
            i.access.can_write(),
        ),
        None => (None, 0, false, false),
    };
    let host = s.server.map(|a| a.to_string());
    (status, native, count, read, write, host, s.connections).into_py(py)
}

fn dbr_type(code: u16) -> PyResult<DbrType> {
    DbrType::from_u16(code).ok_or_else(|| PyValueError::new_err(format!("bad DBR type {code}")))
}

impl Chan {
    fn native(&self) -> PyResult<(NativeType, u32)> {
        match self.ch.info() {
            Some(i) => Ok((i.native_type.native(), i.native_count)),
            None => Err(CATimeoutError::new_err(format!(
                "{}: not connected",
                self.ch.name()
            ))),
        }
    }
}

#[pymethods]
impl Chan {
    /// The PV name.
    #[getter]
    fn name(&self) -> &str {
        self.ch.name()
    }

    /// `(status, native_type, native_count, read, write, host,
    /// connections)`; status 0 searching, 1 connected, 2 disconnected.
    fn state(&self, py: Python<'_>) -> PyObject {
        state_tuple(py, &self.ch.connection_state())
    }

    /// Waits up to `timeout` s for the connection; True if connected.
    fn wait(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        if self.ch.is_connected() {
            return Ok(true);
        }
        let c = client(py)?;
        let ch = self.ch.with_timeout(secs(timeout));
        Ok(block(py, c, ch.wait_connected())?.is_ok())
    }

    /// Reads `count` elements (0: the current length) as DBR type
    /// `data_type`: a dict with `value` and the type's metadata.
    fn read(
        &self,
        py: Python<'_>,
        data_type: u16,
        count: u32,
        timeout: f64,
        as_numpy: bool,
    ) -> PyResult<PyObject> {
        let c = client(py)?;
        let t = dbr_type(data_type)?;
        let ch = self.ch.with_timeout(secs(timeout));
        let p = block(py, c, ch.read_raw(t, count))?.map_err(to_py_err)?;
        let native_count = self.ch.native_count().unwrap_or(1);
        read_dict(py, p.data_type, p.count, &p.data, native_count, as_numpy)
    }

    /// Like `read`, in the background: the result (or exception) comes to
    /// the dispatcher as a completion of `token`.
    fn read_async(
        &self,
        py: Python<'_>,
        data_type: u16,
        count: u32,
        timeout: f64,
        as_numpy: bool,
        token: u64,
    ) -> PyResult<()> {
        let c = client(py)?;
        let t = dbr_type(data_type)?;
        let ch = self.ch.with_timeout(secs(timeout));
        let hub = c.hub.clone();
        c.rt.spawn(async move {
            let result = ch.read_raw(t, count).await.map(|p| Completed::Read {
                data_type: p.data_type,
                count: p.count,
                data: p.data,
                native_count: ch.native_count().unwrap_or(1),
                as_numpy,
            });
            hub.push(Ready::Done { token, result });
        });
        Ok(())
    }

    /// Writes `value` (converted to the native type); with `wait`, waits
    /// for the server to complete the write. `raw`: `value` is the
    /// native-endian bytes of a numeric array.
    fn write(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        wait: bool,
        timeout: f64,
        raw: bool,
    ) -> PyResult<()> {
        let c = client(py)?;
        let (native, count) = self.native()?;
        let (t, vals) = values_for_put(value, native, count, raw)?;
        let ch = self.ch.with_timeout(secs(timeout));
        block(py, c, async {
            if wait {
                ch.write_notify(t, &vals).await
            } else {
                ch.write(t, &vals).await
            }
        })?
        .map_err(to_py_err)
    }

    /// A write with completion in the background; the completion (or
    /// exception) of `token` comes to the dispatcher.
    fn write_async(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        timeout: f64,
        raw: bool,
        token: u64,
    ) -> PyResult<()> {
        let c = client(py)?;
        let (native, count) = self.native()?;
        let (t, vals) = values_for_put(value, native, count, raw)?;
        let ch = self.ch.with_timeout(secs(timeout));
        let hub = c.hub.clone();
        c.rt.spawn(async move {
            let result = ch.write_notify(t, &vals).await.map(|()| Completed::Unit);
            hub.push(Ready::Done { token, result });
        });
        Ok(())
    }

    /// Subscribes (`count` 0: the current length); updates come to the
    /// dispatcher as monitor events of `token`.
    fn subscribe(
        &self,
        py: Python<'_>,
        data_type: u16,
        count: u32,
        mask: u16,
        as_numpy: bool,
        token: u64,
    ) -> PyResult<Task> {
        let c = client(py)?;
        let t = dbr_type(data_type)?;
        let mut sub = self
            .ch
            .subscribe(t, count, EventMask(mask))
            .map_err(to_py_err)?;
        let slot = Arc::new(SubSlot {
            token,
            items: Mutex::new(VecDeque::new()),
            latest: Mutex::new(None),
            scheduled: AtomicBool::new(false),
            data_type: t,
            native_count: self.ch.native_count().unwrap_or(1),
            as_numpy,
        });
        let hub = c.hub.clone();
        let task_slot = slot.clone();
        let h = c.rt.spawn(async move {
            while let Some(item) = sub.next().await {
                task_slot.push(&hub, item);
            }
        });
        Ok(Task::new(h, Some(slot)))
    }

    /// Reports every connection change (the current state first) to the
    /// dispatcher as connection events of `token`.
    fn watch(&self, py: Python<'_>, token: u64) -> PyResult<Task> {
        let c = client(py)?;
        let mut rx = self.ch.connection();
        let hub = c.hub.clone();
        let h = c.rt.spawn(async move {
            loop {
                let state = rx.borrow_and_update().clone();
                hub.push(Ready::Conn { token, state });
                if rx.changed().await.is_err() {
                    return;
                }
            }
        });
        Ok(Task::new(h, None))
    }
}

/// A channel for `name` (created at once; it connects in the background).
#[pyfunction]
fn channel(py: Python<'_>, name: &str) -> PyResult<Chan> {
    let c = client(py)?;
    let ch = c.ctx.channel(name).map_err(to_py_err)?;
    Ok(Chan { ch })
}

/// Starts the client (reads `EPICS_CA_*` now) if not yet started.
#[pyfunction]
fn initialize(py: Python<'_>) -> PyResult<()> {
    client(py).map(|_| ())
}

/// Waits up to `timeout` s for events and returns them as tuples:
/// `("m", token, kwargs)` a monitor update, `("x", token, exc)` a failed
/// update, `("c", token, state)` a connection change, `("d", token,
/// result)` / `("e", token, exc)` a completion.
#[pyfunction]
fn wait_events(py: Python<'_>, timeout: f64) -> PyResult<PyObject> {
    let c = client(py)?;
    let hub = c.hub.clone();
    let ready = py.allow_threads(|| hub.take(secs(timeout)));
    let out = PyList::empty_bound(py);
    for r in ready {
        match r {
            Ready::Sub(slot) => {
                for item in slot.take() {
                    match item {
                        Ok(d) => match monitor_kwargs(
                            py,
                            &d,
                            slot.data_type,
                            slot.native_count,
                            slot.as_numpy,
                        ) {
                            Ok(kw) => out.append(("m", slot.token, kw))?,
                            Err(e) => out.append(("x", slot.token, e.into_value(py)))?,
                        },
                        Err(e) => out.append(("x", slot.token, to_py_err(e).into_value(py)))?,
                    }
                }
            }
            Ready::Conn { token, state } => out.append(("c", token, state_tuple(py, &state)))?,
            Ready::Done { token, result } => match result {
                Ok(Completed::Unit) => out.append(("d", token, py.None()))?,
                Ok(Completed::Read {
                    data_type,
                    count,
                    data,
                    native_count,
                    as_numpy,
                }) => match read_dict(py, data_type, count, &data, native_count, as_numpy) {
                    Ok(d) => out.append(("d", token, d))?,
                    Err(e) => out.append(("e", token, e.into_value(py)))?,
                },
                Err(e) => out.append(("e", token, to_py_err(e).into_value(py)))?,
            },
        }
    }
    Ok(out.into_py(py))
}

/// The native module of `caproto_rs`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Chan>()?;
    m.add_class::<Task>()?;
    m.add_function(wrap_pyfunction!(channel, m)?)?;
    m.add_function(wrap_pyfunction!(initialize, m)?)?;
    m.add_function(wrap_pyfunction!(wait_events, m)?)?;
    m.add_function(wrap_pyfunction!(set_numpy, m)?)?;
    m.add(
        "ChannelAccessException",
        m.py().get_type_bound::<ChannelAccessException>(),
    )?;
    m.add("CATimeoutError", m.py().get_type_bound::<CATimeoutError>())?;
    Ok(())
}
