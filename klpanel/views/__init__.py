"""Panel views of the explorer (thin ``pn.viewable.Viewer`` classes reading :mod:`klpanel.explorer`)."""

from .app import KLExplorer

__all__ = ["KLExplorer"]
