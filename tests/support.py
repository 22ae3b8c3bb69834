"""Helpers every test folder (and the benchmarks) shares: a free port, polling until a condition holds, and whether
a URL answers. tests/conftest.py puts this folder on ``sys.path``; scripts outside pytest insert it themselves."""

from __future__ import annotations

import socket
import time


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
    except requests.ConnectionError:
        return False
