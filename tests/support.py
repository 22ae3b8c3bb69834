"""Helpers every test folder (and the benchmarks) shares: a free port, polling until a condition holds, and whether
a URL answers. tests/conftest.py puts this folder on ``sys.path``; scripts outside pytest insert it themselves."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from types import SimpleNamespace


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 60.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``condition()`` until it returns something truthy (returned); TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def answering(url: str, timeout: float = 5.0) -> bool:
    """Whether ``url`` answers 200 (False while the server is not up yet)."""
    import requests
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:  # refused, reset or timed out: not up yet
        return False


def wait_serving(proc, url: str, name: str, log) -> None:
    """Wait until the server process ``proc`` (``name``, for messages) answers 200 at ``url``; if it exits first,
    RuntimeError with ``log()``, its output."""
    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log()}")
        return answering(url)
    wait_until(up, timeout=120, interval=0.2, what=f"{name} to answer at {url}")


class Visitor:
    """A browser-less visitor: GET the page, open its websocket (the server builds the session then) and pull its
    document (``doc``, as JSON text); ``close()`` when done."""

    def __init__(self, url: str):
        import requests
        from bokeh.client.connection import ClientConnection
        from bokeh.protocol import Protocol
        from tornado.ioloop import IOLoop

        asyncio.set_event_loop(asyncio.new_event_loop())
        page = requests.get(url, timeout=120)
        page.raise_for_status()
        stub = SimpleNamespace(token=re.search(r'"token":\s*"([^"]+)"', page.text).group(1),
                               _handle_patch=lambda message: None, _notify_disconnected=lambda: None)
        self.conn = ClientConnection(stub, page.url.split("?")[0].rstrip("/").replace("http", "ws", 1) + "/ws",
                                     io_loop=IOLoop.current())
        self.conn.connect()
        reply = self.conn._send_message_wait_for_reply(Protocol().create("PULL-DOC-REQ"))
        self.doc = json.dumps(reply.content["doc"])

    def slider(self, title: str) -> float:
        """The value of the page's slider titled ``title``."""
        found = [obj["attributes"]["value"] for obj in self._objects(json.loads(self.doc))
                 if obj["attributes"].get("title") == title and "Slider" in obj["name"]]
        assert len(found) == 1, f"{len(found)} sliders {title!r} in the page"
        return float(found[0])

    def _objects(self, value):
        if isinstance(value, list):
            for v in value:
                yield from self._objects(v)
        elif isinstance(value, dict):
            if value.get("type") == "object" and isinstance(value.get("attributes"), dict):
                yield value
            for v in value.values():
                yield from self._objects(v)

    def close(self):
        self.conn.close()
