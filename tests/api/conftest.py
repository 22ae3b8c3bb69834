"""Fixtures of the API tests: one server for the session (``apitools.Server``) and a keep-alive client."""

from __future__ import annotations

import pytest
import requests

from apitools import Server


@pytest.fixture(scope="session")
def server():
    srv = Server()
    yield srv
    log = srv.stop()
    # no request of the whole session may have crashed a handler
    assert "Traceback" not in log, log[-5000:]


@pytest.fixture(scope="session")
def api(server):
    """A keep-alive session whose ``get``/``post`` take paths relative to the server."""
    session = requests.Session()

    class Client:
        url = server.url

        def get(self, path, **kw):
            return session.get(server.url + path, timeout=120, **kw)

        def post(self, path, **kw):
            return session.post(server.url + path, timeout=120, **kw)

        def request(self, method, path, **kw):
            return session.request(method, server.url + path, timeout=120, **kw)

    yield Client()
    session.close()
