"""The parts of pyepics' low-level ``epics.ca`` module that scripts use
directly. Polling functions are no-ops: events are delivered by a
background thread and need no polling."""

import time

from . import _native
from ._native import CATimeoutError, ChannelAccessException
from .pv import (AUTOMONITOR_MAXLENGTH, DEFAULT_CONNECTION_TIMEOUT,
                 DEFAULT_SUBSCRIPTION_MASK)

__all__ = ["ChannelAccessException", "CATimeoutError", "initialize_libca",
           "finalize_libca", "poll", "pend_io", "pend_event", "flush_io",
           "AUTOMONITOR_MAXLENGTH", "DEFAULT_CONNECTION_TIMEOUT",
           "DEFAULT_SUBSCRIPTION_MASK"]


def initialize_libca():
    """Starts the client (reads ``EPICS_CA_*``); done on first use anyway."""
    _native.initialize()


def finalize_libca(maxtime=10.0):
    """No-op: the client stops with the interpreter."""


def poll(evt=1.0e-5, iot=1.0):
    """No-op (yields the GIL once)."""
    time.sleep(0)


def pend_io(timeout=1.0):
    """No-op: requests are sent at once."""
    return 1


def pend_event(timeout=1.0e-5):
    """No-op (yields the GIL once)."""
    time.sleep(0)
    return 1


def flush_io():
    """No-op: requests are sent at once."""
    return 1
