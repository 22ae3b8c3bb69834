"""Fixtures of the reliability tests: the browser tests' ``browser`` and ``artifacts`` fixtures (``tests/ui/
conftest.py``, loaded by path so that its autouse fixtures stay in ``tests/ui``) and ``admin_server``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from reltools import ADMIN_ARGS, AppServer

_spec = importlib.util.spec_from_file_location("klpanel_ui_conftest", Path(__file__).parents[1] / "ui" / "conftest.py")
_ui = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ui)
browser, artifacts = _ui.browser, _ui.artifacts


@pytest.fixture
def admin_server(artifacts, request):
    """A fresh app server (API and admin plugins, short session expiry) per test; its log must stay clean."""
    server = AppServer(artifacts / f"reliability-{request.node.name}.log", extra_args=ADMIN_ARGS)
    yield server
    server.stop()
    errors = server.errors()
    assert not errors, "server log shows an exception:\n" + "\n".join(errors)
