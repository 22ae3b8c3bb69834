"""Serve the app the way users do (``klpanel serve``: app + API) on a free port; pages answer 200, their sessions
are built when a client connects, and the server logs no exception, also for a URL carrying state, and one carrying
nonsense."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from support import Visitor, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "klpanel.server.cli", "serve", "--port", str(port)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"

    def answering():
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            return requests.get(f"{url}/kl_explorer", timeout=30).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(answering, timeout=90, interval=0.2, what="the served page")
        yield url, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the CLI and the `panel serve` it started
        proc.wait(timeout=30)


@pytest.mark.parametrize("path", [
    "/",  # --index kl_explorer
    "/kl_explorer?modes=5&spread=2.5&mu=-1.25&sigma=0.5&div=%5B%22jsd%22%2C%22renyi%22%5D&renyi_alpha=0.75"
    "&components=0.5,0.5%7C-4,4%7C0.5,0.5",
    "/kl_explorer?modes=99&sigma=-1&mu=abc&div=%5B%22nope%22%5D&components=1,2%7Cx%7C1",
])
def test_page_serves_without_server_exception(server, path):
    url, log = server
    response = requests.get(url + path, timeout=60)
    assert response.status_code == 200
    assert "Forward KL vs Reverse KL Divergence" in response.text
    visitor = Visitor(url + path)  # the page's HTML comes from a kept session: its own is built when it connects
    try:
        assert "klpanel-optimal-plot" in visitor.doc
    finally:
        visitor.close()
    assert requests.get(url + "/api/health", timeout=30).status_code == 200  # the API plugin beside it
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text
