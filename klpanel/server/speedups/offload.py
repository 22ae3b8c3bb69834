"""Each new session's page built in a worker thread, so that the event loop keeps the other sessions' animations
and messages going meanwhile.

Bokeh 3.10 builds a session's document in a worker (``asyncio.to_thread``) when its application has no code
handler, and Panel 1.10 claims the document for the building thread; a served file's page (``panel serve
kl_explorer.py``) is still built on the event loop, because a code handler patches ``sys.path``, ``sys.argv`` and the
working directory while the file runs, and Bokeh will not let other requests see that. klpanel's page files run
:func:`klpanel.server.kl_explorer.serve_page` and nothing else, and nothing on the loop depends on those globals, so
for them (and only them: :func:`is_klpanel_page`) the build goes to the worker as a function app's does. The build
costs the same CPU (~190 ms), but it no longer holds the loop: with ten sessions animating beside six new visitors a
second, their frames arrive between the build's slices of the interpreter instead of after it. Figures and the
upstream issue text: benchmarks/README.md.
"""

from __future__ import annotations

from pathlib import Path

from bokeh.server import contexts

from . import fits

WRITTEN_FOR = {"bokeh": "3.10", "panel": "1.10"}

_Context = contexts.ApplicationContext
_STOCK = _Context.__dict__.get("_can_initialize_document_in_worker")
PAGE_FILE = Path(__file__).resolve().parents[1] / "kl_explorer.py"  # the page inside the package
#: the page files a build may run off the loop: the package's own, and the repository's ``apps/kl_explorer.py``
#: (which imports and runs the same ``serve_page``)
PAGE_FILES = {PAGE_FILE, PAGE_FILE.parents[2] / "apps" / "kl_explorer.py"}


def is_klpanel_page(application) -> bool:
    """Whether ``application`` serves one of klpanel's page files (:data:`PAGE_FILES`) and nothing else but Bokeh's
    document lifecycle handler."""
    from bokeh.application.handlers.code import CodeHandler
    from bokeh.application.handlers.document_lifecycle import DocumentLifecycleHandler

    handlers = [h for h in getattr(application, "handlers", ()) if not isinstance(h, DocumentLifecycleHandler)]
    paths = [getattr(getattr(h, "_runner", None), "path", None) for h in handlers]
    return (len(handlers) == 1 and isinstance(handlers[0], CodeHandler) and paths[0] is not None
            and Path(paths[0]).resolve() in PAGE_FILES)


def _can_initialize_document_in_worker(self) -> bool:
    return _STOCK(self) or is_klpanel_page(self._application)


def supported() -> bool:
    """Whether this Bokeh decides per application where a document is built."""
    return callable(_STOCK)


def installed() -> bool:
    return _Context.__dict__.get("_can_initialize_document_in_worker") is _can_initialize_document_in_worker


def install() -> bool:
    """Build klpanel's pages off the event loop in this process (idempotent); False (Bokeh left as it is) outside
    ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("offload", WRITTEN_FOR) or not supported():
        return False
    _Context._can_initialize_document_in_worker = _can_initialize_document_in_worker
    return True


def uninstall() -> None:
    """Back to Bokeh's own behaviour."""
    if installed():
        _Context._can_initialize_document_in_worker = _STOCK
