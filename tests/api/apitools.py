"""Helpers of the API tests: a real ``panel serve apps/kl_explorer.py --plugins klpanel.server.api`` on a free port,
wait_until, and strict JSON parsing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from support import free_port, wait_until  # noqa: F401 (the API tests import them from here)

ROOT = Path(__file__).parents[2]
APP = ROOT / "apps" / "kl_explorer.py"


class Server:
    """``panel serve`` with the API plugin in a subprocess; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, env=None, command=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = command(self.port) if command else [
            sys.executable, "-m", "panel", "serve", str(APP), "--plugins", "klpanel.server.api",
            "--port", str(self.port), "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{self.port}",
            "--setup", str(ROOT / "apps" / "server_setup.py")]  # the speedups KLPANEL_SPEEDUPS chooses, as served
        # a file, not a pipe: an undrained pipe fills up and blocks the server's logging
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                                     stdout=self.log, stderr=subprocess.STDOUT, text=True)
        wait_until(self._up, what=f"the API at {self.url}/api/health")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"panel serve exited with {self.proc.returncode}:\n{self.read_log()}")
        try:
            return requests.get(self.url + "/api/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def read_log(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> str:
        """Stop the server; returns its log (stdout and stderr)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        out = self.read_log()
        self.log.close()
        return out


def strict_json(response):
    """The body parsed with NaN/Infinity refused (JSON has neither)."""
    def refuse(token):
        raise AssertionError(f"non-JSON constant {token} in the body")
    return json.loads(response.text, parse_constant=refuse)
