"""caproto_rs: EPICS Channel Access for Python on the caproto-rs (Rust)
client, with pyepics' API.

``import caproto_rs as epics`` runs scripts written for pyepics::

    import caproto_rs as epics
    epics.caput("sim:setpoint", 2.5, wait=True)
    print(epics.caget("sim:readback"))
    pv = epics.PV("sim:readback", callback=lambda value=None, **kw: print(value))

The client reads ``EPICS_CA_*`` from the environment when first used. The
asyncio API is in ``caproto_rs.aio``.
"""

import sys
import time

from . import _native, ca, dbr
from ._native import CATimeoutError, ChannelAccessException
from .pv import (AUTOMONITOR_MAXLENGTH, DEFAULT_CONNECTION_TIMEOUT, PV,
                 fmt_time)

try:
    import numpy as _numpy
except ImportError:  # arrays are then lists
    _numpy = None
else:
    _native.set_numpy(_numpy.frombuffer)

__all__ = ["caget", "caput", "cainfo", "camonitor", "camonitor_clear",
           "caget_many", "caput_many", "get_pv", "PV", "poll", "ca", "dbr",
           "ChannelAccessException", "CATimeoutError", "fmt_time"]

__version__ = "0.1.0"

#: True: arrays come back as numpy arrays (numpy is installed).
HAS_NUMPY = _numpy is not None

_PVcache_ = {}
_PVmonitors_ = {}


def get_pv(pvname, form="time", connect=False, context=None, timeout=5.0,
           connection_callback=None, access_callback=None, callback=None,
           verbose=False, count=None, auto_monitor=None, monitor_delta=None):
    """The PV of ``pvname`` and ``form`` from the cache, created if needed
    (``connect=True``: wait up to ``timeout`` s for its connection)."""
    if form not in ("native", "time", "ctrl"):
        form = "time"
    key = (pvname, form)
    pv = _PVcache_.get(key)
    if pv is None:
        pv = PV(pvname, form=form, callback=callback,
                connection_callback=connection_callback,
                access_callback=access_callback, connection_timeout=timeout,
                count=count, verbose=verbose, auto_monitor=auto_monitor,
                monitor_delta=monitor_delta)
        _PVcache_[key] = pv
    else:
        if connection_callback is not None:
            if pv.connected:
                connection_callback(pvname=pv.pvname, conn=True, pv=pv)
            pv.connection_callbacks.append(connection_callback)
        if access_callback is not None:
            if pv.connected:
                access_callback(pv.read_access, pv.write_access, pv=pv)
            pv.access_callbacks.append(access_callback)
        if callback is not None:
            pv.run_callback(pv.add_callback(callback))
        if auto_monitor and not pv.auto_monitor:
            pv.auto_monitor = auto_monitor
    if connect and not pv.wait_for_connection(timeout=timeout):
        print(f"cannot connect to {pvname}", file=sys.stderr)
    return pv


def caget(pvname, as_string=False, count=None, as_numpy=True,
          use_monitor=True, timeout=5.0, connection_timeout=5.0, form="time"):
    """The value of ``pvname``, or None if it cannot be connected or read
    within the timeouts. ``as_string``: the text form (enum string,
    formatted number, CHAR array as text); ``count``: at most this many
    elements; ``use_monitor=False``: always ask the server; ``form``: the
    PV (and its monitor) of that form is used ('native', 'time' as
    pyepics, or 'ctrl'), which decides the metadata the PV keeps."""
    start = time.monotonic()
    pv = get_pv(pvname, form=form, timeout=connection_timeout, connect=True)
    if not pv.connected:
        return None
    if as_string:
        pv.get_ctrlvars()
    timeout -= time.monotonic() - start
    return pv.get(count=count, timeout=timeout, use_monitor=use_monitor,
                  as_string=as_string, as_numpy=as_numpy)


def caput(pvname, value, wait=False, timeout=60.0, connection_timeout=5.0):
    """Writes ``value`` to ``pvname``; ``wait=True`` waits for the server to
    complete the write. Returns 1 on success, -1 if the completion did not
    come within ``timeout``, None if the PV cannot be connected."""
    start = time.monotonic()
    pv = get_pv(pvname, timeout=connection_timeout, connect=True)
    if not pv.connected:
        return None
    timeout -= time.monotonic() - start
    return pv.put(value, wait=wait, timeout=timeout)


def cainfo(pvname, print_out=True, timeout=5.0, connection_timeout=5.0):
    """A description of ``pvname`` (printed, or returned with
    ``print_out=False``); None if it cannot be connected."""
    pv = get_pv(pvname, timeout=connection_timeout, connect=True)
    if not pv.connected:
        return None
    pv.get(timeout=timeout)
    pv.get_ctrlvars(timeout=timeout)
    if print_out:
        print(pv.info)
        return None
    return pv.info


def camonitor(pvname, writer=None, callback=None, connection_timeout=5.0,
              monitor_delta=None):
    """Monitors ``pvname``: each update calls ``callback(**kwargs)`` (the
    PV callback keywords), or writes a line with ``writer`` (default:
    print)."""
    if writer is None:
        writer = print
    if callback is None:
        def callback(pvname=None, value=None, char_value=None, **kw):
            if char_value is None:
                char_value = repr(value)
            writer(f"{pvname:.32s} {fmt_time()} {char_value}")
    pv = get_pv(pvname, timeout=connection_timeout, connect=True,
                monitor_delta=monitor_delta)
    if pv.connected:
        pv.get()
        pv.add_callback(callback, index=-999, with_ctrlvars=True)
        _PVmonitors_[pvname] = pv


def camonitor_clear(pvname):
    """Stops ``camonitor`` of ``pvname``."""
    pv = _PVmonitors_.pop(pvname, None)
    if pv is not None:
        pv.remove_callback(index=-999)


def caget_many(pvlist, as_string=False, as_numpy=True, count=None,
               timeout=1.0, connection_timeout=5.0, conn_timeout=None):
    """Values of several PVs (connected together); None for those that
    fail."""
    if conn_timeout is not None:
        connection_timeout = conn_timeout
    pvs = [get_pv(name, connect=False) for name in pvlist]
    for pv in pvs:
        pv.wait_for_connection(timeout=connection_timeout)
    return [pv.get(count=count, as_string=as_string, as_numpy=as_numpy,
                   timeout=timeout, use_monitor=False) if pv.connected else None
            for pv in pvs]


def caput_many(pvlist, values, wait=False, connection_timeout=5.0,
               put_timeout=60):
    """Writes several PVs; a list of the ``caput`` results."""
    pvs = [get_pv(name, connect=False) for name in pvlist]
    out = []
    for pv, value in zip(pvs, values):
        if not pv.wait_for_connection(timeout=connection_timeout):
            out.append(-1)
            continue
        out.append(pv.put(value, wait=bool(wait), timeout=put_timeout))
    return out


def poll(evt=1.0e-5, iot=1.0):
    """No-op (kept for pyepics scripts): events are delivered by a
    background thread."""
    time.sleep(0)


def initialize_libca():
    """Starts the client (reads ``EPICS_CA_*``); done on first use."""
    _native.initialize()
