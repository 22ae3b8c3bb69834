"""Panel's stylesheet models taken from the document's cache when made, not made to be thrown away.

Panel 1.10 turns every component's stylesheet URLs into new ``ImportedStyleSheet`` models each time it processes
them (``Syncable._process_param_change``: each component's loading and layout sheets, again when the design is
applied), and then swaps each new model for the one its document already holds for that URL
(``Reactive._resolve_stylesheets``). A new session's page made ~290 such models to keep 8 (~12 ms of its build, and
their garbage). Here ``panel.reactive``'s name ``ImportedStyleSheet`` makes a model only when the current document
holds none for the URL; the model it returns is the one Panel's swap would have chosen, so the page is the same.
Inside the swap itself (where Panel replaces a model that belongs to another document) it always makes a new one.
Upstream text: benchmarks/README.md.
"""

from __future__ import annotations

import threading

from bokeh.models import ImportedStyleSheet
from panel import reactive
from panel.io.resources import stylesheet_url
from panel.io.state import state

from . import fits

WRITTEN_FOR = {"panel": "1.10", "bokeh": "3.10"}

_STOCK_NAME = reactive.__dict__.get("ImportedStyleSheet")
_STOCK_RESOLVE = reactive.Reactive.__dict__.get("_resolve_stylesheets")
_local = threading.local()  # .resolving: inside Panel's swap on this thread


class Sheets:
    """Stands for ``ImportedStyleSheet`` in ``panel.reactive``: a call gives the current document's model for the
    URL when it has a usable one (Panel's own rule), else a new model; ``isinstance`` tests the real class."""

    def __call__(self, *args, **kwargs):
        doc = state.curdoc
        if doc is not None and not args and list(kwargs) == ["url"] and not getattr(_local, "resolving", False):
            cached = state._stylesheets.get(doc, {}).get(kwargs["url"])
            if cached is not None and stylesheet_url(cached) is not None and cached.document in (None, doc):
                return cached
        return ImportedStyleSheet(*args, **kwargs)

    def __instancecheck__(self, obj) -> bool:
        return isinstance(obj, ImportedStyleSheet)


SHEETS = Sheets()


def _resolve_stylesheets(self, properties, doc):
    _local.resolving = True
    try:
        return _STOCK_RESOLVE(self, properties, doc)
    finally:
        _local.resolving = False


def installed() -> bool:
    return reactive.__dict__.get("ImportedStyleSheet") is SHEETS


def install() -> bool:
    """Stylesheet models from the document's cache when made (idempotent); False (stock kept) outside
    ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("stylesheets", WRITTEN_FOR) or _STOCK_NAME is not ImportedStyleSheet or not callable(_STOCK_RESOLVE):
        return False
    reactive.ImportedStyleSheet = SHEETS
    reactive.Reactive._resolve_stylesheets = _resolve_stylesheets
    return True


def uninstall() -> None:
    if installed():
        reactive.ImportedStyleSheet = _STOCK_NAME
        reactive.Reactive._resolve_stylesheets = _STOCK_RESOLVE
