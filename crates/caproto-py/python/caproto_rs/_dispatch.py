"""The dispatcher: one Python thread that takes the client's events
(monitor updates, connection changes, completions) from the native
module and runs their handlers. The Rust I/O only queues events; it never
waits for this thread or for the GIL."""

import atexit
import itertools
import sys
import threading
import traceback

from . import _native

_handlers = {}
_tokens = itertools.count(1)
_lock = threading.Lock()
_thread = None
_stop = threading.Event()


def register(handler):
    """A token whose events go to ``handler(kind, payload)``."""
    token = next(_tokens)
    _handlers[token] = handler
    _ensure_started()
    return token


def unregister(token):
    _handlers.pop(token, None)


def in_dispatcher():
    """True when called from a callback (on the dispatcher thread)."""
    return threading.current_thread() is _thread


def _ensure_started():
    global _thread
    if _thread is not None:
        return
    with _lock:
        if _thread is None:
            t = threading.Thread(target=_run, name="caproto-rs-dispatch",
                                 daemon=True)
            t.start()
            _thread = t


def _run():
    handlers = _handlers
    wait = _native.wait_events
    while not _stop.is_set():
        try:
            events = wait(0.2)
        except BaseException:
            if _stop.is_set() or sys.is_finalizing():
                return
            traceback.print_exc()
            _stop.wait(0.5)
            continue
        for kind, token, payload in events:
            handler = handlers.get(token)
            if handler is None:
                continue
            try:
                handler(kind, payload)
            except BaseException:
                # A failing callback (even one calling sys.exit) must not
                # stop the delivery of everyone else's events.
                print(f"caproto_rs: exception in a callback ({kind})",
                      file=sys.stderr)
                traceback.print_exc()


@atexit.register
def _shutdown():
    # Stop the dispatcher before the interpreter finalises, so that it is
    # never inside the native module when daemon threads are torn down.
    _stop.set()
    t = _thread
    if t is not None and t is not threading.current_thread():
        t.join(timeout=2.0)
