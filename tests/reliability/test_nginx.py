"""Scale-out as deployed: ``deploy/run_local.sh`` starts Debian's nginx (``deploy/nginx.conf``: ip_hash sticky
sessions, websocket upgrade headers) in front of 2 ``panel serve`` processes on loopback. Two browser sessions
load the app through nginx and animate (their websockets work through the proxy), the JSON API answers
through it, a burst of API requests gets nginx's JSON 429 beyond the per-client rate, and the operations
endpoints are reachable from loopback (nginx allows only that). Everything the
script started is stopped afterwards.

nginx comes from Debian: when it is missing and we are root, ``apt-get install -y nginx-light`` runs first;
otherwise the test is skipped with the reason. CI serves the light dynamics page; the whole app::

    KLPANEL_NGINX_APP=full .venv/bin/python -m pytest -q -s tests/reliability/test_nginx.py
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from reltools import APP, LOAD_TIMEOUT_MS, ROOT, free_port, status, wait_animating, wait_until

pytestmark = pytest.mark.ui

PAGE = APP if os.environ.get("KLPANEL_NGINX_APP") == "full" else ROOT / "tests" / "reliability" / "dynamics_page.py"
SCRIPT = ROOT / "deploy" / "run_local.sh"


def have_nginx() -> str | None:
    """None when nginx is there (installed now if need be), else why not."""
    if shutil.which("nginx"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "nginx is not installed and we cannot install it (needs root and apt-get: apt-get install nginx-light)"
    r = subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light"], capture_output=True, text=True,
                       timeout=600, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return None if shutil.which("nginx") else f"apt-get install nginx-light failed: {r.stderr[-500:]}"


@pytest.fixture(scope="module")
def deployment(artifacts):
    reason = have_nginx()
    if reason:
        pytest.skip(reason)
    if not shutil.which("curl"):
        pytest.skip("deploy/run_local.sh needs curl")
    port, first = free_port(), free_port()
    second = first + 1  # run_local.sh numbers its app ports from the first
    log_path, run_dir = artifacts / "deploy-run-local.log", artifacts / "deploy-run"  # logs kept for a look
    log = open(log_path, "w")
    proc = subprocess.Popen(["bash", str(SCRIPT), "2", str(port), str(first)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "KLPANEL_APP": str(PAGE), "KLPANEL_RUN_DIR": str(run_dir)})

    def started():
        if proc.poll() is not None:
            raise RuntimeError(f"run_local.sh exited with {proc.returncode}:\n{log_path.read_text()}")
        return "behind nginx at" in log_path.read_text()

    try:
        wait_until(started, timeout=300, interval=0.5, what="deploy/run_local.sh to start nginx and 2 apps")
        yield {"url": f"http://127.0.0.1:{port}", "apps": [f"http://127.0.0.1:{p}" for p in (first, second)],
               "page": PAGE.stem, "log": log_path}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the script's trap stops nginx and the apps it started
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_two_browser_sessions_and_the_api_through_nginx(browser, deployment):
    url = deployment["url"]
    # the API through the proxy
    health = requests.get(f"{url}/api/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    r = requests.get(f"{url}/api/evaluate", params={"divergences": "forward_kl,tv", "mu": 0, "sigma": 0.8}, timeout=60)
    assert r.status_code == 200 and round(r.json()["values"]["forward_kl"], 2) == 4.38
    assert requests.get(f"{url}/api/landscape", params={"n": 5}, timeout=120).status_code == 200
    assert requests.get(f"{url}/api/nope", timeout=30).status_code == 404

    # two browser sessions: page over HTTP, document and animation frames over the proxied websocket
    contexts = [browser.new_context() for _ in range(2)]
    try:
        pages = [c.new_page() for c in contexts]
        for page in pages:
            page.goto(f"{url}/{deployment['page']}", timeout=LOAD_TIMEOUT_MS)
        for i, page in enumerate(pages):  # frames of each session's callback arrive over its proxied websocket
            try:
                wait_animating(page)
            except Exception as exc:
                counts = [status(app) for app in deployment["apps"]]
                raise AssertionError(f"page {i} shows no animation frame ({exc}); the apps' counts: {counts}; "
                                     f"logs in {deployment['log'].parent / 'deploy-run'}") from None
        live = [status(app) for app in deployment["apps"]]
        # ip_hash: the page's GET and its websocket reached the same process (else no session would connect)
        assert sum(s["sessions"] for s in live) == 2 and sum(s["connections"] for s in live) == 2, live
    finally:
        for c in contexts:
            c.close()
    # nginx's rule lets the operations endpoints through from loopback (the only client here)
    assert requests.get(f"{url}/status/sessions", timeout=30).status_code == 200
    assert requests.get(f"{url}/liveness", timeout=30).status_code == 200


def test_api_burst_through_nginx_is_answered_429_in_json(deployment):
    """Over nginx's per-client API rate (30/s, burst 60) the edge answers a JSON 429 at once; nothing queues."""
    url = deployment["url"]

    def health(_):
        r = requests.get(f"{url}/api/health", timeout=60)
        return r.status_code, r.headers.get("Retry-After"), r.text

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(health, range(200)))
    codes = Counter(code for code, _, _ in answers)
    assert set(codes) <= {200, 429} and codes[200] >= 60 and codes[429] >= 1, codes
    refused = next(a for a in answers if a[0] == 429)
    assert refused[1] == "1" and "too many requests" in json.loads(refused[2])["error"]
