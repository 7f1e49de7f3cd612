"""The asyncio API."""

import asyncio

import numpy
import pytest


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_get_put_and_metadata(epics):
    from caproto_rs.aio import Context

    async def main():
        ctx = Context()
        await ctx.put("py:ao", 4.5)
        value = await ctx.get("py:ao")
        md = await ctx.get_with_metadata("py:ai", form="ctrl")
        info = await ctx.connect("py:wave")
        wave = await ctx.get("py:wave", count=5)
        return value, md, info, wave

    value, md, info, wave = run(main())
    assert value == 4.5
    assert md["units"] == "mm" and md["value"] == 3.25
    assert info["count"] == 1000 and info["type"] == "double"
    assert isinstance(wave, numpy.ndarray) and len(wave) == 5


def test_gets_run_concurrently(epics):
    from caproto_rs.aio import Context

    async def main():
        ctx = Context()
        return await asyncio.gather(*(ctx.get(n) for n in ("py:ai", "py:long", "py:str", "simple:B")))

    ai, long_, s, b = run(main())
    assert ai == 3.25 and isinstance(long_, int) and isinstance(s, str) and isinstance(b, float)


def test_monitor_async_iteration(epics):
    from caproto_rs.aio import Context

    async def main():
        ctx = Context()
        seen = []
        async for update in ctx.monitor("py:busy"):
            seen.append(update["value"])
            if len(seen) == 1:
                await ctx.put("py:busy", 123)
            if update["value"] == 123:
                return seen, update

    seen, update = run(main())
    assert seen[-1] == 123
    assert {"value", "status", "severity", "timestamp"} <= set(update)


def test_not_found_raises_timeout(epics):
    from caproto_rs.aio import Context

    async def main():
        await Context().get("py:nowhere", timeout=0.3)

    with pytest.raises(epics.CATimeoutError):
        run(main())
