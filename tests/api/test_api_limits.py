"""The heavy-work cap (503 with Retry-After instead of an unbounded queue) and mounting with ``pn.serve``."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import requests

from apitools import Server, strict_json, wait_until


def test_over_the_heavy_cap_is_503_and_light_endpoints_still_answer():
    server = Server(env={"KLPANEL_API_MAX_HEAVY": "1"})
    try:
        results = {}
        slow = threading.Thread(target=lambda: results.update(slow=requests.get(
            server.url + "/api/landscape", params={"divergence": "reverse_kl", "n": 200}, timeout=300)))
        slow.start()
        health = lambda: requests.get(server.url + "/api/health", timeout=10).json()["heavy"]
        wait_until(lambda: health()["in_flight"] == 1, what="the landscape to be in flight")
        for path in ("/api/optimal", "/api/landscape?n=5"):
            r = requests.get(server.url + path, timeout=30)
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "1"
            assert "busy" in strict_json(r)["error"]
        r = requests.post(server.url + "/api/run", json={"steps": 1}, timeout=30)
        assert r.status_code == 503
        # light work does not queue behind heavy work
        assert requests.get(server.url + "/api/evaluate", timeout=30).status_code == 200
        slow.join(timeout=300)
        assert results["slow"].status_code == 200
        assert health() == {"in_flight": 0, "limit": 1}
        assert requests.get(server.url + "/api/optimal", timeout=60).status_code == 200
    finally:
        log = server.stop()
    assert "Traceback" not in log, log[-3000:]


PN_SERVE = """
import sys
import panel as pn
from klpanel.server.api import ROUTES
pn.serve({"app": lambda: pn.pane.Markdown("app")}, port=int(sys.argv[1]), address="127.0.0.1",
         extra_patterns=ROUTES, show=False, start=True)
"""


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()]


def test_routes_mount_with_pn_serve():
    server = Server(command=lambda port: [sys.executable, "-c", PN_SERVE, str(port)])
    try:
        r = requests.get(server.url + "/api/evaluate", params={"divergences": "tv"}, timeout=30)
        assert r.status_code == 200 and "tv" in r.json()["values"]
        assert requests.get(server.url + "/api/landscape", params={"n": 4}, timeout=60).status_code == 200
        assert requests.get(server.url + "/api/nope", timeout=30).status_code == 404
        assert requests.get(server.url + "/app", timeout=30).status_code == 200
        workers = [p for p in _children(server.proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert workers, "the landscape ran in a worker process"
    finally:
        server.proc.kill()  # no clean shutdown at all: the workers must still go
        server.stop()
    wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in workers), timeout=30,
               what="the pool's workers to exit after the server died")
