"""The page's HTML from a kept session; the visitor's own session built when its browser connects.

Panel's ``reuse_sessions`` (public configuration): a ``GET /kl_explorer`` answers with the HTML of a session kept for
its key, with a new token (the speedup ``pages`` renders that HTML once per kept session: ~2 ms a GET), and the
session of that token is built when the page's websocket connects, from the GET's request (so a link's state,
``?modes=5&mu=...``, applies as before). The server used to build the session before it sent any HTML: time to
interactive 1.86 -> ~1 s, and a client that only fetches the HTML (a link preview, a crawler, a health probe) costs no
session (~0.2 s of CPU). With several server processes
(``--num-procs``) the websocket may reach another process than the GET did; the session is built where it arrives.
Figures: benchmarks/README.md.

The HTML differs only with the theme, so the key is the path and the theme (:func:`page_key`): any other ``?theme=``
value shares the dark page, as the app shows it, and a link cannot make the server keep a session per value. The kept
sessions are made by the server itself when the health check first finds it warm (:func:`keep_pages`), so no
visitor's session is kept (Panel keeps the first one per key, for good, with whatever runs it left animating).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import panel as pn
from tornado.httpclient import AsyncHTTPClient

from ..views.app import THEME_NAMES

log = logging.getLogger(__name__)

APP_PATHS = ["/kl_explorer"]  # the pages whose sessions keep_pages makes (the server's own, from its command line)
THEMES = THEME_NAMES  # a link's ?theme= -> the page's theme (the page's own table)
DEFAULT_THEME = "dark"  # the page's own, and what it shows for any value it does not know

_keeping = None  # the task making the kept sessions (one per process)


def page_key(request) -> tuple:
    """The kept session a request's HTML comes from: its path and its page's theme."""
    values = request.arguments.get("theme") or [b""]
    value = values[0].decode("utf-8", "replace").strip("'\"").lower()
    return request.path.rstrip("/") or "/", THEMES.get(value, DEFAULT_THEME)


def local_styles(doc) -> None:
    """Have ``doc``'s components link Panel's stylesheets from this server, as a page whose HTML came from its own
    session does: Panel points them at its CDN until it renders the session's HTML, and a visitor's session built
    from a kept page's token never has its HTML rendered (a browser without the internet, or a pinned CDN, then
    loads no styles). Set before the page is built, so every stylesheet is made with the server's address."""
    from bokeh.settings import settings
    from panel.io.resources import LOCAL_DIST
    from panel.io.state import state

    if doc is None or not str(settings.resources(default="server")).startswith("server"):
        return
    doc.template_variables.setdefault("dist_url", f"{state.rel_path}/{LOCAL_DIST}" if state.rel_path else LOCAL_DIST)


def configure() -> None:
    """Serve each page's HTML from a kept session; the visitor's own session is built when its browser connects (the
    server's setup)."""
    pn.config.session_key_func = page_key
    pn.config.reuse_sessions = True


def active() -> bool:
    return pn.config.reuse_sessions is True and pn.config.session_key_func is page_key


async def keep_pages(port: int) -> None:
    """Request the app's page once per theme from this server (``port`` on the loopback), so that the sessions kept
    for the pages' HTML are the server's own, never a visitor's; once per process (later calls wait for the first).
    A failure is logged: the first visitor's session is then kept, as Panel does."""
    global _keeping
    if not active():
        return
    if _keeping is None:
        _keeping = asyncio.ensure_future(_keep(port))
    await asyncio.shield(_keeping)


def keep_pages_at_start(argv: list[str]) -> None:
    """From the server's setup: make the kept pages as soon as the server's loop runs (before any visitor, whether
    or not a health check comes), on the ``--port`` of the ``panel serve`` command line ``argv`` (default 5006)."""
    from tornado.ioloop import IOLoop

    APP_PATHS[:] = app_paths(argv) or APP_PATHS
    IOLoop.current().add_callback(keep_pages, port_of(argv))


def app_paths(argv: list[str]) -> list[str]:
    """The URL paths of the apps a ``panel serve`` command line serves: each ``.py`` file given as an app (not as the
    value of ``--setup`` or ``--index``), at ``/<its name>``."""
    return [f"/{Path(arg).stem}" for i, arg in enumerate(argv)
            if i > 0 and arg.endswith(".py") and "serve" in argv[:i] and argv[i - 1] not in ("--setup", "--index")]


def port_of(argv: list[str], default: int = 5006) -> int:
    """The ``--port`` of a ``panel serve`` command line (``--port N`` or ``--port=N``), else ``default``."""
    port = default
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--port=") else (
            argv[i + 1] if arg == "--port" and i + 1 < len(argv) else None)
        if value is not None and value.isdigit():
            port = int(value)
    return port


async def _keep(port: int) -> None:
    client = AsyncHTTPClient()
    for path in APP_PATHS:
        for theme in sorted(set(THEMES.values())):
            try:
                await client.fetch(f"http://127.0.0.1:{port}{path}?theme={theme}", request_timeout=120)
            except Exception as exc:  # health still answers; the page is kept on its first visit instead
                log.warning("klpanel could not make the kept session of %s (%s theme): %s", path, theme, exc)
