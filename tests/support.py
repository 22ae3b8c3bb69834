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
