"""The served process's startup heap is frozen out of full garbage collections (the ``heap`` speedup): in a fresh
interpreter, as the server's setup script runs it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import gc
from klpanel.server.speedups import install_all
installed = install_all()
import klpanel.views
print(gc.get_freeze_count() if 'heap' in installed else 0, gc.get_freeze_count(),
      'klpanel.views' in __import__('sys').modules)
"""


def _run(env):
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert out.returncode == 0, out.stderr
    frozen, count, imported = out.stdout.split()
    return int(frozen), int(count), imported == "True"


def test_the_startup_heap_is_frozen_with_the_views_imported():
    frozen, count, imported = _run({})
    assert frozen == count > 50_000 and imported  # Panel, Bokeh, numpy, klpanel: all imported before the freeze


@pytest.mark.parametrize("setting", ["0", "-heap"])
def test_klpanel_speedups_turn_it_off(setting):
    frozen, count, _ = _run({"KLPANEL_SPEEDUPS": setting})
    assert frozen == 0 and count < 5_000  # a few hundred frozen by an imported library itself, not the heap
