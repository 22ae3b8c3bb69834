"""A kept session's page rendered once, each later ``GET`` only given its own token.

With ``reuse_sessions`` (:mod:`klpanel.server.reuse`) every ``GET /kl_explorer`` answers with the HTML of the session
kept for its key, and Panel 1.10 renders that HTML again each time: ``server_html_page_for_session`` walks the kept
document's ~250 models to bundle their resources and patch their stylesheets, ~25 ms of the event loop per request,
so twenty visitors arriving together waited for each other (p95 ~450 ms). The kept document never changes, and two
renders of it differ in their token alone (plus the random ids of the roots' ``<div>``s, which name elements of that
page only), so the page is kept per session with its token cut out, and each request puts its own token in.
Sessions whose expiration is not blocked (a visitor's own, Panel without reuse) are rendered as before.
Upstream text: benchmarks/README.md.
"""

from __future__ import annotations

import weakref

from panel.io import server

from . import fits

WRITTEN_FOR = {"panel": "1.10", "bokeh": "3.10"}

_STOCK = server.__dict__.get("server_html_page_for_session")
_pages: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # kept session -> {render's key: (head, tail)}


def server_html_page_for_session(session, resources, title, token=None, template=server.BASE_TEMPLATE,
                                 template_variables=None):
    token = token or session.token
    if not session.expiration_blocked or not token:
        return _STOCK(session, resources, title, token, template, template_variables)
    key = (title, resources.mode, resources.root_url, id(template), id(template_variables),
           tuple(r.id for r in session.document.roots))
    pages = _pages.setdefault(session, {})
    parts = pages.get(key)
    if parts is None:
        page = _STOCK(session, resources, title, token, template, template_variables)
        if page.count(token) != 1:  # the token not once in the page: nothing to cut, rendered every time
            return page
        parts = pages[key] = tuple(page.split(token))
    return token.join(parts)


def installed() -> bool:
    return server.__dict__.get("server_html_page_for_session") is server_html_page_for_session


def install() -> bool:
    """Keep each kept session's rendered page (idempotent); False (stock kept) outside ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("pages", WRITTEN_FOR) or not callable(_STOCK):
        return False
    server.server_html_page_for_session = server_html_page_for_session
    return True


def uninstall() -> None:
    if installed():
        server.server_html_page_for_session = _STOCK
        _pages.clear()
