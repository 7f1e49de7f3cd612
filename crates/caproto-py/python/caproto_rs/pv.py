"""The ``PV`` class: pyepics' ``epics.PV`` on the caproto-rs client.

A PV connects in the background, keeps a monitor on its value (for
channels shorter than ``AUTOMONITOR_MAXLENGTH`` elements, as pyepics does)
and runs its callbacks on the dispatcher thread with the keyword arguments
pyepics passes (``pvname``, ``value``, ``char_value``, ``timestamp``,
``status``, ``severity``, ... and ``cb_info``).
"""

import math
import threading
import time
import weakref

from . import _dispatch, _native, dbr
from ._native import ChannelAccessException, CATimeoutError

try:
    import numpy
except ImportError:  # numpy is optional: arrays are then lists
    numpy = None

#: Channels with fewer elements are monitored by default (pyepics' value).
AUTOMONITOR_MAXLENGTH = 65536
#: Default time to wait for a connection (pyepics' ca.DEFAULT_CONNECTION_TIMEOUT).
DEFAULT_CONNECTION_TIMEOUT = 2.0
#: Default event mask of monitors.
DEFAULT_SUBSCRIPTION_MASK = dbr.DBE_VALUE | dbr.DBE_ALARM

_ACCESS = ("no access", "read-only", "write-only", "read/write")

_FIELDS = ("pvname", "value", "char_value", "status", "ftype", "chid",
           "host", "count", "access", "write_access", "read_access",
           "severity", "timestamp", "posixseconds", "nanoseconds",
           "precision", "units", "enum_strs", "monitor_delta",
           "upper_disp_limit", "lower_disp_limit", "upper_alarm_limit",
           "lower_alarm_limit", "lower_warning_limit",
           "upper_warning_limit", "upper_ctrl_limit", "lower_ctrl_limit")


def fmt_time(tstamp=None):
    """A timestamp (default: now) as 'YYYY-mm-dd HH:MM:SS.fffff' in local
    time, with five decimals as pyepics prints it."""
    if tstamp is None:
        tstamp = time.time()
    whole, frac = divmod(tstamp, 1)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(whole))
    return f"{stamp}.{round(1.0e5 * frac):05d}"


def _timeout(t, default):
    return default if t is None else float(t)


class PV:
    """A Process Variable: ``get()``/``put()``, ``value``, metadata
    properties and callbacks, as pyepics' ``epics.PV``."""

    _fmtsca = "<PV '{pvname}', count={count}, type={typefull}, access={access}>"
    _fmtarr = "<PV '{pvname}', count={count}/{nelm}, type={typefull}, access={access}>"

    def __init__(self, pvname, callback=None, form="time", verbose=False,
                 auto_monitor=None, count=None, connection_callback=None,
                 connection_timeout=None, access_callback=None,
                 monitor_delta=None):
        self.pvname = pvname.strip()
        self.form = form.lower()
        if self.form not in ("native", "time", "ctrl"):
            self.form = "time"
        self.verbose = verbose
        self._auto_monitor = auto_monitor
        self.ftype = None
        self.connected = False
        self.connection_timeout = _timeout(connection_timeout,
                                           DEFAULT_CONNECTION_TIMEOUT)
        self._user_max_count = count
        self._lock = threading.RLock()
        self._args = dict.fromkeys(_FIELDS)
        self._args.update(pvname=self.pvname, count=count, nelm=-1,
                          type="unknown", typefull="unknown",
                          access="unknown", monitor_delta=monitor_delta)
        self.connection_callbacks = []
        if connection_callback is not None:
            self.connection_callbacks.append(connection_callback)
        self.access_callbacks = []
        if access_callback is not None:
            self.access_callbacks.append(access_callback)
        self.callbacks = {}
        if isinstance(callback, (tuple, list)):
            for i, cb in enumerate(callback):
                if callable(cb):
                    self.callbacks[i] = (cb, {})
        elif callable(callback):
            self.callbacks[0] = (callback, {})
        self._put_complete = None
        self._native_type = None
        self._applied = None
        self._conn_seen = (False, 0)
        self._access_seen = None
        self._mon = None
        self._mon_token = None
        self._mon_mask = None
        self._chan = _native.channel(self.pvname)
        self._conn_token = _dispatch.register(_weak(self, "_on_event"))
        self.chid = self._conn_token
        self._args["chid"] = self.chid
        self._watch = self._chan.watch(self._conn_token)

    # -- connection --------------------------------------------------------

    def _apply_state(self, st):
        """Takes the native connection state into the PV's fields; returns
        whether connected."""
        status, native, nelm, rd, wr, host, connections = st
        if status != 1 or native is None:
            return False
        with self._lock:
            self._args["read_access"] = rd
            self._args["write_access"] = wr
            self._args["access"] = _ACCESS[int(rd) + 2 * int(wr)]
            if connections == self._applied:
                # Same connection (an access rights change): the count
                # stays what the last update said, as in pyepics.
                return True
            self._applied = connections
            self._native_type = native
            self._args["nelm"] = nelm
            self._args["count"] = min(nelm, self._user_max_count or nelm)
            self._args["host"] = host
            self.ftype = dbr.promote_type(native, self.form)
            name = dbr.Name(self.ftype).lower()
            self._args["type"] = name
            self._args["typefull"] = name
            self._args["ftype"] = self.ftype
        return True

    def _on_event(self, kind, payload):
        if kind != "c":
            return
        st = payload
        conn = self._apply_state(st)
        seen = (conn, st[6])
        if seen != self._conn_seen and (conn or self._conn_seen[0]):
            self._conn_seen = seen
            for cb in list(self.connection_callbacks):
                if callable(cb):
                    cb(pvname=self.pvname, conn=conn, pv=self)
        access = (st[3], st[4]) if conn else None
        if conn and access != self._access_seen:
            self._access_seen = access
            for cb in list(self.access_callbacks):
                if callable(cb):
                    cb(access[0], access[1], pv=self)
        if conn:
            # Subscribe before saying connected (as pyepics), so that a
            # thread that sees `connected` finds the monitor in place.
            self._check_auto_monitor(connected=True)
        self.connected = conn

    def wait_for_connection(self, timeout=None):
        """Waits up to ``timeout`` s (default: the PV's connection timeout)
        for the connection; True if connected."""
        if not self.connected:
            timeout = _timeout(timeout, self.connection_timeout)
            if self._chan.wait(timeout) and self._apply_state(self._chan.state()):
                self._check_auto_monitor(connected=True)
                self.connected = True
        return self.connected

    def connect(self, timeout=None):
        """Waits for the connection (see ``wait_for_connection``)."""
        return self.wait_for_connection(timeout=timeout) and self.ftype is not None

    def reconnect(self):
        """The client reconnects by itself; this waits for it."""
        return self.wait_for_connection()

    def poll(self, evt=1.0e-4, iot=1.0):
        """No-op: events are delivered by the dispatcher thread."""

    # -- monitor -----------------------------------------------------------

    @property
    def auto_monitor(self):
        """None (monitor when shorter than AUTOMONITOR_MAXLENGTH), False,
        True, or an event mask (dbr.DBE_*)."""
        return self._auto_monitor

    @auto_monitor.setter
    def auto_monitor(self, value):
        self._auto_monitor = value
        self._check_auto_monitor()

    @property
    def auto_monitor_mask(self):
        return self._mon_mask

    def clear_auto_monitor(self):
        self.auto_monitor = False

    def _clear_monitor(self):
        with self._lock:
            mon, token = self._mon, self._mon_token
            self._mon = self._mon_token = self._mon_mask = None
        if mon is not None:
            mon.close()
            _dispatch.unregister(token)

    def _check_auto_monitor(self, connected=None):
        if connected is None:
            connected = self.connected
        if not connected or self.ftype is None:
            return
        nelm = self._args["nelm"]
        if self._auto_monitor is None:
            self._auto_monitor = nelm < AUTOMONITOR_MAXLENGTH
        if not self._auto_monitor:
            self._clear_monitor()
            return
        mask = (DEFAULT_SUBSCRIPTION_MASK if self._auto_monitor is True
                else int(self._auto_monitor))
        with self._lock:
            if self._mon is not None:
                if self._mon_mask == mask:
                    return
            else:
                self._mon_token = _dispatch.register(_weak(self, "_on_monitor"))
                self._mon_mask = mask
                ftype = dbr.TIME_STRING if self.ftype == dbr.CTRL_STRING else self.ftype
                self._mon = self._chan.subscribe(ftype,
                                                 self._user_max_count or 0,
                                                 mask, True, self._mon_token)
                return
        self._clear_monitor()
        self._check_auto_monitor(connected)

    def _on_monitor(self, kind, kw):
        if kind != "m":
            return  # a failed update (e.g. read access lost): ignored
        args = self._args
        args.update(kw)
        args["chid"] = self.chid
        args["ftype"] = self.ftype
        if "timestamp" not in kw:
            args["timestamp"] = time.time()
            args["posixseconds"] = 0
            args["nanoseconds"] = 0
        self._set_charval(kw["value"], call_ca=False)
        if self.verbose:
            print(f"{self.pvname}: {args['char_value']} ({fmt_time(args['timestamp'])})")
        self.run_callbacks()

    def _sync_latest(self):
        """Takes in the newest update the I/O has received, even if the
        dispatcher has not run the callbacks for it yet."""
        mon = self._mon
        if mon is not None:
            kw = mon.latest()
            if kw is not None:
                args = self._args
                args.update(kw)
                args["chid"] = self.chid
                args["ftype"] = self.ftype

    # -- callbacks ---------------------------------------------------------

    def run_callbacks(self):
        """Runs every user callback with the current data."""
        for index in sorted(self.callbacks):
            self.run_callback(index)

    def run_callback(self, index):
        """Runs callback ``index`` with the PV's fields as keyword arguments
        plus its own keywords and ``cb_info=(index, pv)``."""
        try:
            fcn, kwargs = self.callbacks[index]
        except KeyError:
            return
        kwds = dict(self._args)
        kwds.update(kwargs)
        kwds["cb_info"] = (index, self)
        if callable(fcn):
            fcn(**kwds)

    def add_callback(self, callback=None, index=None, run_now=False,
                     with_ctrlvars=True, **kw):
        """Adds a value callback; returns its index (for remove_callback)."""
        if callable(callback):
            if index is None:
                index = 1 + max(self.callbacks) if self.callbacks else 1
            self.callbacks[index] = (callback, kw)
        if with_ctrlvars and self.connected:
            self.get_ctrlvars()
        if run_now:
            self.get(as_string=True)
            if self.connected:
                self.run_callback(index)
        return index

    def remove_callback(self, index=None):
        """Removes callback ``index``."""
        self.callbacks.pop(index, None)

    def clear_callbacks(self, with_access_callback=False,
                        with_connect_callback=False):
        self.callbacks.clear()
        if with_access_callback:
            self.access_callbacks = []
        if with_connect_callback:
            self.connection_callbacks = []

    # -- get ---------------------------------------------------------------

    def get(self, count=None, as_string=False, as_numpy=True, timeout=None,
            with_ctrlvars=False, use_monitor=True):
        """The value (from the monitor unless ``use_monitor=False``), or
        None if the PV is not connected or the read timed out."""
        data = self.get_with_metadata(count=count, as_string=as_string,
                                      as_numpy=as_numpy, timeout=timeout,
                                      with_ctrlvars=with_ctrlvars,
                                      use_monitor=use_monitor)
        return None if data is None else data["value"]

    def _read(self, ftype, count, timeout, as_numpy=True):
        """One read of ``ftype``; None on timeout (as pyepics)."""
        if count is None:
            count = 0
        else:
            count = min(int(count), max(self._args["nelm"], 1))
        if timeout is None:
            # pyepics: 1 + log10(count) seconds
            timeout = 1.0 + math.log10(max(1, self._args["nelm"]))
        if ftype == dbr.CTRL_STRING:
            # DBR_CTRL_STRING carries only status and severity; pyepics
            # reads it through the TIME_STRING structure and reports
            # timestamp keys too: ask for TIME_STRING, whose are real.
            ftype = dbr.TIME_STRING
        try:
            return self._chan.read(ftype, count, timeout, bool(as_numpy))
        except CATimeoutError:
            return None

    def get_with_metadata(self, count=None, as_string=False, as_numpy=True,
                          timeout=None, with_ctrlvars=False, form=None,
                          use_monitor=True, as_namespace=False):
        """A dict of the value and the metadata of the PV's form."""
        if not self.wait_for_connection(timeout=timeout):
            return None
        if form is None:
            form, ftype = self.form, self.ftype
        else:
            ftype = dbr.promote_type(self._native_type, form)
        if with_ctrlvars and self._args["units"] is None and form == "ctrl":
            self.get_ctrlvars()
        if use_monitor and ftype == self.ftype:
            self._sync_latest()
        cached = self._args["value"]
        try:
            cached_len = len(cached)
        except TypeError:
            cached_len = 1
        if (not use_monitor or self._mon is None or ftype != self.ftype
                or cached is None
                or (count is not None and count > cached_len)):
            if count is None and self._args["count"] != self._args["nelm"]:
                # pyepics: a PV reads as many elements as its last update
                # had; an empty last update must not make it read none.
                count = self._args["count"] or None
            metad = self._read(ftype, count, timeout, as_numpy)
            if metad is None:
                return None
            self._args.update(metad)
            if with_ctrlvars and form != "ctrl":
                metad = dict(self._args)
            val = metad["value"]
        else:
            metad = dict(self._args)
            val = cached
        if as_string:
            metad["value"] = self._set_charval(val, force_long_string=True)
        elif self._args["nelm"] > 1 and val is not None:
            if not isinstance(val, (list, tuple)) and not _is_array(val):
                val = [val]
            if count is None:
                count = len(val)
            if as_numpy and numpy is not None and not isinstance(val, numpy.ndarray):
                val = numpy.asarray(val)
            elif not as_numpy and numpy is not None and isinstance(val, numpy.ndarray):
                val = val.tolist()
            if 0 < count < len(val):
                val = val[:count]
            metad["value"] = val
        if as_namespace:
            from types import SimpleNamespace
            return SimpleNamespace(**metad)
        return metad

    def get_ctrlvars(self, timeout=5, warn=True):
        """The CTRL metadata (units, precision, limits, enum_strs, status,
        severity), as a dict; None if not connected."""
        if not self.wait_for_connection():
            return None
        metad = self._read(dbr.promote_type(self._native_type, "ctrl"), 1, timeout)
        if metad is None:
            return None
        metad.pop("value", None)
        self._args.update(metad)
        return metad

    def get_timevars(self, timeout=5, warn=True):
        """The TIME metadata (status, severity, timestamp, posixseconds,
        nanoseconds), as a dict; None if not connected."""
        if not self.wait_for_connection():
            return None
        metad = self._read(dbr.promote_type(self._native_type, "time"), 1, timeout)
        if metad is None:
            return None
        metad.pop("value", None)
        self._args.update(metad)
        return metad

    # -- put ---------------------------------------------------------------

    def put(self, value, wait=False, timeout=30.0, use_complete=False,
            callback=None, callback_data=None):
        """Writes ``value``. ``wait=True`` waits for completion (returns 1,
        or -1 if it did not complete within ``timeout``); ``callback`` is
        called with ``pvname=`` (and ``data=callback_data``) on completion.
        Returns None if the PV is not connected."""
        if not self.wait_for_connection():
            return None
        ntype = self._native_type
        if ntype == dbr.ENUM and isinstance(value, str):
            strs = self._args["enum_strs"]
            if strs is None:
                self.get_ctrlvars()
                strs = self._args["enum_strs"] or ()
            if value in strs:
                value = list(strs).index(value)
        raw = False
        if (numpy is not None and isinstance(value, numpy.ndarray)
                and ntype in dbr.NP_DTYPES):
            value = numpy.ascontiguousarray(value, dtype=dbr.NP_DTYPES[ntype]).tobytes()
            raw = True
        if not (wait or callable(callback) or use_complete):
            self._chan.write(value, False, self.connection_timeout, raw)
            return 1
        self._put_complete = False if use_complete else None
        if callable(callback) or use_complete:
            if wait and _dispatch.in_dispatcher():
                # From a callback: the completion could not be delivered
                # while this thread waits for it; wait here instead.
                ok = self._put_wait(value, timeout, raw)
                self._put_done(callback, callback_data)
                return ok
            finished = threading.Event()

            def done(kind, payload):
                _dispatch.unregister(token)
                if kind == "e":
                    print(f"caproto_rs: put to {self.pvname} failed: {payload}")
                self._put_done(callback, callback_data)
                finished.set()

            token = _dispatch.register(done)
            self._chan.write_async(value, float(timeout), raw, token)
            if not wait:
                return 1
            return 1 if finished.wait(float(timeout)) else -1
        return self._put_wait(value, timeout, raw)

    def _put_wait(self, value, timeout, raw):
        try:
            self._chan.write(value, True, float(timeout), raw)
        except CATimeoutError:
            return -1
        return 1

    def _put_done(self, callback, callback_data):
        self._put_complete = True
        if callable(callback):
            if isinstance(callback_data, dict):
                callback(pvname=self.pvname, **callback_data)
            else:
                callback(pvname=self.pvname, data=callback_data)

    @property
    def put_complete(self):
        """True once the last put with ``use_complete=True`` completed."""
        return self._put_complete

    # -- char value --------------------------------------------------------

    def _set_charval(self, val, call_ca=True, force_long_string=False):
        """The text form of ``val`` (formatted with the PV's precision, the
        enum string, a CHAR array as text, ...), kept as ``char_value``."""
        args = self._args
        if val is None:
            args["char_value"] = "None"
            return "None"
        ntype = dbr.native_type(args["ftype"])
        if ntype == dbr.STRING:
            args["char_value"] = val
            return val
        count = args["count"] or 1
        if ntype == dbr.CHAR and (count < AUTOMONITOR_MAXLENGTH or force_long_string):
            if numpy is not None and isinstance(val, numpy.ndarray):
                codes = val.tolist()
                if not isinstance(codes, list):
                    codes = [codes]
            elif isinstance(val, (list, tuple)):
                codes = list(val)
            else:
                codes = [val]
            if 0 in codes:
                codes = codes[:codes.index(0)]
            try:
                cval = "".join(chr(c) for c in codes).rstrip()
            except ValueError:
                cval = ""
            args["char_value"] = cval
            return cval
        cval = repr(val)
        if count > 1:
            try:
                length = len(val)
            except TypeError:
                length = 1
            cval = f"<array size={length}, type={dbr.Name(args['ftype']).lower()}>"
        elif ntype in (dbr.FLOAT, dbr.DOUBLE):
            if call_ca and args["precision"] is None:
                self.get_ctrlvars()
            try:
                prec = args["precision"]
                fmt = "%%.%df"
                if 4 < abs(int(math.log10(abs(val + 1.0e-9)))):
                    fmt = "%%.%dg"
                cval = (fmt % prec) % val
            except (ValueError, TypeError, ArithmeticError):
                cval = str(val)
        elif ntype == dbr.ENUM:
            if call_ca and args["enum_strs"] in ([], None):
                self.get_ctrlvars()
            try:
                cval = args["enum_strs"][val]
            except (TypeError, KeyError, IndexError):
                cval = str(val)
        args["char_value"] = cval
        return cval

    # -- properties --------------------------------------------------------

    def _getarg(self, arg):
        self._sync_latest()
        if self._args["value"] is None:
            self.get()
        if self._args[arg] is None and self.connected:
            if arg in ("status", "severity", "timestamp", "posixseconds",
                       "nanoseconds"):
                self.get_timevars(timeout=1, warn=False)
            else:
                self.get_ctrlvars(timeout=1, warn=False)
        return self._args.get(arg, None)

    value = property(lambda self: self._getarg("value"),
                     lambda self, val: self.put(val), None, "value property")

    @property
    def char_value(self):
        """The value as text."""
        self._getarg("char_value")
        return self._set_charval(self._getarg("value"))

    status = property(lambda self: self._getarg("status"))
    severity = property(lambda self: self._getarg("severity"))
    timestamp = property(lambda self: self._getarg("timestamp"))
    posixseconds = property(lambda self: self._getarg("posixseconds"))
    nanoseconds = property(lambda self: self._getarg("nanoseconds"))
    precision = property(lambda self: self._getarg("precision"))
    units = property(lambda self: self._getarg("units"))
    enum_strs = property(lambda self: self._getarg("enum_strs"))
    host = property(lambda self: self._getarg("host"))
    read_access = property(lambda self: self._getarg("read_access"))
    write_access = property(lambda self: self._getarg("write_access"))
    access = property(lambda self: self._getarg("access"))
    monitor_delta = property(lambda self: self._getarg("monitor_delta"))
    upper_disp_limit = property(lambda self: self._getarg("upper_disp_limit"))
    lower_disp_limit = property(lambda self: self._getarg("lower_disp_limit"))
    upper_alarm_limit = property(lambda self: self._getarg("upper_alarm_limit"))
    lower_alarm_limit = property(lambda self: self._getarg("lower_alarm_limit"))
    upper_warning_limit = property(lambda self: self._getarg("upper_warning_limit"))
    lower_warning_limit = property(lambda self: self._getarg("lower_warning_limit"))
    upper_ctrl_limit = property(lambda self: self._getarg("upper_ctrl_limit"))
    lower_ctrl_limit = property(lambda self: self._getarg("lower_ctrl_limit"))

    @property
    def char_status(self):
        s = self.status
        return dbr.ALARM_STATUS[s] if s is not None and 0 <= s < len(dbr.ALARM_STATUS) else str(s)

    @property
    def char_severity(self):
        s = self.severity
        return dbr.ALARM_SEVERITY[s] if s is not None and 0 <= s < 4 else str(s)

    @property
    def type(self):
        """'double', 'time_double', 'ctrl_enum', ... ('unknown' until
        connected)."""
        return self._args["type"]

    @property
    def typefull(self):
        return self._args["typefull"]

    @property
    def count(self):
        """Element count (of the last value for arrays)."""
        self._sync_latest()
        if self._args["count"] is not None:
            return self._args["count"]
        return self._getarg("count")

    @property
    def nelm(self):
        """Native element count (-1 until connected)."""
        return self._args["nelm"]

    @property
    def info(self):
        """A paragraph describing the PV (as ``cainfo`` prints it)."""
        return self._getinfo()

    def _getinfo(self):
        if not self.wait_for_connection():
            return None
        self.get_ctrlvars()
        args = self._args
        mod, xtype = "native", args["typefull"]
        if "_" in xtype:
            mod, xtype = xtype.split("_")
        self._set_charval(args["value"], call_ca=False)
        out = [f"== {self.pvname}  ({mod}_{xtype}) =="]
        fields = {}
        val = args["value"]
        if self.count == 1:
            fields["value"] = str(val)
        else:
            try:
                head = ",".join(str(val[i]) for i in range(min(5, len(val))))
            except TypeError:
                head = "unknown"
            ext = ",...." if self.count > 10 else ""
            fields["value"] = f" array  [{head}{ext}]"
        for nam in ("char_value", "count", "nelm", "type", "units",
                    "precision", "host", "access", "monitor_delta", "status",
                    "char_status", "severity", "char_severity", "timestamp",
                    "posixseconds", "nanoseconds", "upper_ctrl_limit",
                    "lower_ctrl_limit", "upper_disp_limit", "lower_disp_limit",
                    "upper_alarm_limit", "lower_alarm_limit",
                    "upper_warning_limit", "lower_warning_limit"):
            att = getattr(self, nam, None)
            if att is None:
                continue
            if nam == "timestamp":
                att = f"{att:.3f} ({fmt_time(att)})"
            elif nam == "char_value":
                att = f"'{att}'"
            fields[nam] = str(att)
        for key, val in fields.items():
            out.append(f"   {key:20s} = {val}" if len(key) > 14 else f"   {key:15s} = {val}")
        if xtype == "enum":
            out.append("   enum strings: ")
            for index, nam in enumerate(self.enum_strs or ()):
                out.append(f"       {index} = {nam}")
        if self._mon is not None:
            out.append(f"   PV is internally monitored, with {len(self.callbacks)} user-defined callbacks")
        else:
            out.append("   PV is NOT internally monitored")
        out.append("=============================")
        return "\n".join(out)

    def __repr__(self):
        fmt = self._fmtarr if self._args["nelm"] > 1 else self._fmtsca
        count = self._args["count"] if self._args["count"] is not None else 0
        return fmt.format(pvname=self.pvname, count=count, nelm=self._args["nelm"],
                          typefull=self._args["typefull"], access=self._args["access"])

    def __eq__(self, other):
        return isinstance(other, PV) and self.pvname == other.pvname and self.form == other.form

    def __hash__(self):
        return hash((self.pvname, self.form))

    def disconnect(self, deepclean=True):
        """Stops the monitor and the callbacks; the channel is cleared when
        the PV is garbage collected."""
        self._clear_monitor()
        self.callbacks.clear()
        if deepclean:
            self.connection_callbacks = []
            self.access_callbacks = []
        w = self._watch
        if w is not None:
            w.close()
            self._watch = None
        _dispatch.unregister(self._conn_token)
        self.connected = False

    def __del__(self):
        try:
            self.disconnect()
        except Exception:
            pass


def _weak(obj, method):
    """A handler that calls ``obj.method`` while ``obj`` lives (the
    dispatcher must not keep PVs alive)."""
    ref = weakref.ref(obj)

    def handler(kind, payload):
        o = ref()
        if o is not None:
            getattr(o, method)(kind, payload)
    return handler


def _is_array(val):
    return numpy is not None and isinstance(val, numpy.ndarray)
