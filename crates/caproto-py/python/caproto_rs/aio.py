"""asyncio API: awaitable reads and writes, monitors as async iterators.

::

    import asyncio
    from caproto_rs.aio import Context

    async def main():
        ctx = Context()
        print(await ctx.get("sim:readback"))
        await ctx.put("sim:setpoint", 2.5)
        async for update in ctx.monitor("sim:readback"):
            print(update["value"], update["timestamp"])

    asyncio.run(main())

The I/O runs on the client's own thread; results reach the event loop
through ``loop.call_soon_threadsafe``, so nothing here blocks the loop.
Values and metadata have the shapes of the synchronous API (pyepics').
"""

import asyncio

from . import _dispatch, _native, dbr
from ._native import CATimeoutError, ChannelAccessException

try:
    import numpy
except ImportError:
    numpy = None

__all__ = ["Context", "ChannelAccessException", "CATimeoutError"]


def _settle(fut, kind, payload):
    """Completes `fut` (on its loop) from a dispatcher event."""
    if fut.done():
        return
    if kind == "e":
        fut.set_exception(payload)
    else:
        fut.set_result(payload)


class Context:
    """An asyncio view of the client. Channels are created on first use of
    a name and kept (they connect once and stay connected)."""

    def __init__(self, timeout=5.0):
        self.timeout = timeout
        self._chans = {}

    def _chan(self, name):
        chan = self._chans.get(name)
        if chan is None:
            chan = self._chans[name] = _native.channel(name)
        return chan

    async def _connected(self, name, timeout):
        """The channel of `name` once connected, and its state tuple."""
        chan = self._chan(name)
        st = chan.state()
        if st[0] == 1:
            return chan, st
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def on_event(kind, payload):
            if kind == "c" and payload[0] == 1:
                loop.call_soon_threadsafe(_settle, fut, "d", payload)

        token = _dispatch.register(on_event)
        watch = chan.watch(token)
        try:
            st = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise CATimeoutError(f"{name}: not connected within {timeout} s") from None
        finally:
            watch.close()
            _dispatch.unregister(token)
        return chan, st

    async def connect(self, pvname, timeout=None):
        """Waits for the connection; returns ``{"type", "count", "host",
        "read_access", "write_access"}``."""
        timeout = self.timeout if timeout is None else timeout
        _, st = await self._connected(pvname, timeout)
        return {"type": dbr.Name(st[1]).lower(), "count": st[2], "host": st[5],
                "read_access": st[3], "write_access": st[4]}

    async def get_with_metadata(self, pvname, form="time", count=None,
                                as_numpy=True, timeout=None):
        """``{"value": ..., <metadata of form>}``: 'native' (value only),
        'time' (status, severity, timestamp...) or 'ctrl' (units,
        precision, limits, enum_strs...)."""
        timeout = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        chan, st = await self._connected(pvname, timeout)
        ftype = dbr.promote_type(st[1], form)
        if ftype == dbr.CTRL_STRING:
            ftype = dbr.TIME_STRING
        fut = loop.create_future()

        def on_done(kind, payload):
            _dispatch.unregister(token)
            loop.call_soon_threadsafe(_settle, fut, kind, payload)

        token = _dispatch.register(on_done)
        chan.read_async(ftype, int(count or 0), float(timeout), bool(as_numpy), token)
        return await fut

    async def get(self, pvname, count=None, as_numpy=True, timeout=None):
        """The value of ``pvname`` (raises CATimeoutError if not found)."""
        md = await self.get_with_metadata(pvname, form="native", count=count,
                                          as_numpy=as_numpy, timeout=timeout)
        return md["value"]

    async def put(self, pvname, value, wait=True, timeout=None):
        """Writes ``value``; with ``wait`` (the default) returns once the
        server has completed the write."""
        timeout = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        chan, st = await self._connected(pvname, timeout)
        raw = False
        if numpy is not None and isinstance(value, numpy.ndarray) and st[1] in dbr.NP_DTYPES:
            value = numpy.ascontiguousarray(value, dtype=dbr.NP_DTYPES[st[1]]).tobytes()
            raw = True
        if not wait:
            chan.write(value, False, float(timeout), raw)
            return
        fut = loop.create_future()

        def on_done(kind, payload):
            _dispatch.unregister(token)
            loop.call_soon_threadsafe(_settle, fut, kind, payload)

        token = _dispatch.register(on_done)
        chan.write_async(value, float(timeout), raw, token)
        await fut

    async def monitor(self, pvname, form="time", count=None,
                      mask=dbr.DBE_VALUE | dbr.DBE_ALARM, as_numpy=True,
                      queue_size=1000, timeout=None):
        """An async iterator of updates (dicts with ``value``, ``ftype``,
        ``count`` and the metadata of ``form``); the first is the current
        value. A consumer more than ``queue_size`` updates behind loses the
        oldest ones. Leaving the ``async for`` cancels the subscription."""
        timeout = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        chan, st = await self._connected(pvname, timeout)
        ftype = dbr.promote_type(st[1], form)
        if ftype == dbr.CTRL_STRING:
            ftype = dbr.TIME_STRING
        queue = asyncio.Queue(maxsize=max(1, queue_size))

        def put(item):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(item)

        token = _dispatch.register(
            lambda kind, payload: loop.call_soon_threadsafe(put, (kind, payload)))
        sub = chan.subscribe(ftype, int(count or 0), int(mask), bool(as_numpy), token)
        try:
            while True:
                kind, payload = await queue.get()
                if kind == "m":
                    yield payload
                elif kind == "x":
                    raise payload
        finally:
            sub.close()
            _dispatch.unregister(token)
