"""The package as users install it: a wheel built from the sources, installed into a fresh virtual environment,
serves the app and the API (``klpanel serve``) and prints the demo table (``klpanel demo``) from a folder outside
the repository, with no repository file on the path.

The temporary venv sees the dev venv's third-party packages through a plain path line in a ``.pth`` file (no
download); a path line runs no code, so the dev venv's editable-install finder for klpanel stays inactive and
``import klpanel`` must come from the wheel, which the test checks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from support import answering, free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path(os.environ.get("KLPANEL_WHEEL_SOURCE", ROOT))  # another checkout's sources, e.g. a release tag's
SOURCES = ("klpanel", "pyproject.toml", "README.md")  # what the wheel is built from


def run(cmd, **kwargs):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{cmd} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv's bin folder, a working folder outside the repository, environment) with the built wheel installed."""
    pytest.importorskip("setuptools", reason="building the wheel without network needs setuptools (the test extra)")
    tmp = tmp_path_factory.mktemp("wheel")
    # build from a copy: an in-tree build would leave build/ and *.egg-info in the shared working tree
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = SOURCE / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
        else:
            shutil.copy(path, src / name)
    dist = tmp / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("klpanel-*.whl")

    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / "bin"
    run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--no-deps", "-q", str(wheel)])
    purelib = Path(run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip())
    (purelib / "dev_venv_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")

    work = tmp / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONUNBUFFERED"] = "1"
    return bin_dir, work, env, env_dir


def test_klpanel_comes_from_the_wheel(installed):
    bin_dir, work, env, env_dir = installed
    where = run([str(bin_dir / "python"), "-c", "import klpanel, klpanel.server.cli as c; print(klpanel.__file__);"
                 " print(c.APP_FILE.is_file(), c.SETUP_FILE.is_file())"], cwd=work, env=env).split()
    assert Path(where[0]).resolve().is_relative_to(env_dir.resolve()), where
    assert where[1:] == ["True", "True"]  # the served page and its setup file ship inside the package


def test_demo_prints_the_table(installed):
    bin_dir, work, env, _ = installed
    out = run([str(bin_dir / "klpanel"), "demo"], cwd=work, env=env)
    assert "optimal q (mu, sigma)" in out
    from klpanel import divergences
    for d in divergences.REGISTRY.values():  # one row per registry divergence
        assert any(line.startswith(d.label) for line in out.splitlines()), (d.label, out)


def test_serve_answers(installed, tmp_path):
    bin_dir, work, env, _ = installed
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(bin_dir / "klpanel"), "serve", "--port", str(port)], cwd=work, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def health():
        if proc.poll() is not None:
            raise RuntimeError(f"klpanel serve exited with {proc.returncode}:\n{log.read_text()}")
        return answering(f"{url}/api/health")

    try:
        # the first page compiles the numerics kernels into the new install's cache: minutes on a loaded machine
        wait_until(health, timeout=240, interval=0.5, what="klpanel serve's /api/health")
        assert answering(f"{url}/kl_explorer", timeout=240), log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the CLI became `panel serve` (execve); its whole group
        proc.wait(timeout=30)
    text = log.read_text()
    assert "Traceback" not in text, text[-5000:]
