"""Panel views of the explorer (thin ``pn.viewable.Viewer`` classes reading :mod:`klpanel.explorer`)."""

from . import onloop, serialization
from .app import KLExplorer

onloop.install()  # Panel's coroutine callbacks run on the event loop, not via a worker thread (see the module)
serialization.install()  # PATCH-DOC messages cost what they carry, not the page's size (see the module)

__all__ = ["KLExplorer"]
