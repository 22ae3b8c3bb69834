"""Panel views of the explorer (thin ``pn.viewable.Viewer`` classes reading :mod:`klpanel.models.explorer`).

Importing them changes no library: the server's speedups (:mod:`klpanel.server.speedups`) are installed by the
server's setup and swap their classes into :mod:`.components`."""

from .app import KLExplorer

__all__ = ["KLExplorer"]
