"""Panel views of the explorer (thin ``pn.viewable.Viewer`` classes reading :mod:`klpanel.explorer`)."""

from . import serialization
from .app import KLExplorer

serialization.install()  # PATCH-DOC messages cost what they carry, not the page's size (see the module)

__all__ = ["KLExplorer"]
