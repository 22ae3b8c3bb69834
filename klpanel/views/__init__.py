"""Panel views of the explorer (thin ``pn.viewable.Viewer`` classes reading :mod:`klpanel.models.explorer`)."""

from . import frames, onloop, serialization
from .app import KLExplorer

frames.install()  # TCP_NODELAY on the server's websockets: a message's frames leave at once (see the module)
onloop.install()  # Panel's coroutine callbacks run on the event loop, not via a worker thread (see the module)
serialization.install()  # PATCH-DOC messages cost what they carry, not the page's size (see the module)

__all__ = ["KLExplorer"]
