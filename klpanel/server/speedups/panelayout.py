"""A pane's own layout made when something first asks for it, not with every pane.

Panel 1.10 gives every pane a ``Row`` holding it (``PaneBase.layout``: what ``pn.panel(obj)`` returns for an object
that is not a component) and keeps that row's width, margin and sizing in step with the pane through a watcher. A
pane placed in a layout, as all of klpanel's are, never uses it: the row and the first sync were ~0.3 ms of each
pane's 0.5 ms construction, ~25 panes in a new visitor's first screen. This makes the row on first access of
``layout`` (with the pane's arguments, then synced as Panel syncs it) and skips the sync until then; Panel's own
``__init__`` is otherwise unchanged (:func:`__init__` is its code without the two lines). Upstream text:
benchmarks/README.md.
"""

from __future__ import annotations

from panel.viewable import Layoutable
from panel.pane.base import PaneBase

from . import Patches

WRITTEN_FOR = {"panel": "1.10"}

_STOCK_SYNC = PaneBase.__dict__["_sync_layoutable"]
_ARGS = "_klpanel_layout_args"  # the pane's layout arguments, until its layout is made
_MADE = "_klpanel_layout"  # the pane's layout, once made (or set)


def __init__(self, object=None, **params):  # PaneBase.__init__ of Panel 1.10 without making self.layout
    self._object_changing = False
    super(PaneBase, self).__init__(object=object, **params)
    if not hasattr(self, '_internal_callbacks'):
        self._internal_callbacks = []
    applies = self.applies(self.object, **(params if self._applies_kw else {}))
    if (isinstance(applies, bool) and not applies) and self.object is not None:
        self._type_error(self.object)
    self.__dict__[_ARGS] = {k: v for k, v in params.items()
                            if k in Layoutable.param and k not in self._skip_layoutable}
    self._internal_callbacks.append(self.param.watch(self._sync_layoutable, list(Layoutable.param)))


def _get_layout(self):
    layout = self.__dict__.get(_MADE, self.__dict__.get("layout"))  # (a pane made before the install has its own)
    if layout is None:
        layout = self.__dict__[_MADE] = self.default_layout(self, **self.__dict__.pop(_ARGS, {}))
        _STOCK_SYNC(self)  # as Panel's __init__ syncs the row it makes
    return layout


def _set_layout(self, layout):  # a pane that makes its own (Panel's Param pane)
    self.__dict__.pop(_ARGS, None)
    self.__dict__[_MADE] = layout


def _sync_layoutable(self, *events):
    if _ARGS not in self.__dict__:  # else the row is synced when it is made
        _STOCK_SYNC(self, *events)


_patches = Patches("panelayout", WRITTEN_FOR, [
    (PaneBase, "__init__", __init__),
    (PaneBase, "layout", property(_get_layout, _set_layout, doc="The pane's own layout (made on first use)")),
    (PaneBase, "_sync_layoutable", _sync_layoutable)])
install, uninstall, installed = _patches.install, _patches.uninstall, _patches.installed
