"""Fixtures: a C softIoc (TEST_DB) and this repository's `simple` example
IOC, each on its own loopback ports, started once per session and killed
at its end. The environment points the client at both before caproto_rs
is first used (it reads EPICS_CA_* once)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import iocs  # noqa: E402


@pytest.fixture(scope="session")
def softioc():
    ioc = iocs.softioc(iocs.TEST_DB)
    yield ioc
    ioc.stop()


@pytest.fixture(scope="session")
def simple():
    ioc = iocs.simple_ioc()
    yield ioc
    ioc.stop()


@pytest.fixture(scope="session")
def epics(softioc, simple):
    """The caproto_rs module, its client configured to reach both IOCs."""
    env = dict(softioc.env)
    env["EPICS_CA_ADDR_LIST"] = f"127.0.0.1:{softioc.port} 127.0.0.1:{simple.port}"
    os.environ.update(env)
    import caproto_rs
    return caproto_rs
