"""A template's design applied once to a new page, not twice.

Panel 1.10's template builds a session's page (``BaseTemplate._init_doc``) by applying its design to every component
(``Design.apply``) and then running the page's hooks (``_preprocess``), one of which is the same design's
``_apply_hooks``: the whole page's modifiers, stylesheets and Bokeh theme are applied a second time, with nothing
changed in between but the preprocessors' links (~9 ms of each session's build). Here the hook call that follows
``Design.apply`` on the same components and root, for the whole page, is skipped; every later hook call (a component
added or replaced while the session runs) applies the design as before. ``tests/test_speedup_same_page.py`` checks
that the page is the same. Upstream text: benchmarks/README.md.
"""

from __future__ import annotations

import threading

from panel.theme.base import Design

from . import fits

WRITTEN_FOR = {"panel": "1.10"}

_STOCK_APPLY = Design.__dict__.get("apply")
_STOCK_HOOKS = Design.__dict__.get("_apply_hooks")
_local = threading.local()  # .applied: (design, viewable, root) of the last whole-page apply on this thread


def apply(self, viewable, root, isolated=True):
    _local.applied = None
    result = _STOCK_APPLY(self, viewable, root, isolated=isolated)
    if not isolated:
        _local.applied = (self, viewable, root)
    return result


def _apply_hooks(self, viewable, root, changed, old_models=None):
    applied, _local.applied = getattr(_local, "applied", None), None
    if old_models is None and applied is not None and changed is viewable and all(
            a is b for a, b in zip(applied, (self, viewable, root))):
        return None  # the same design just applied to the same page
    return _STOCK_HOOKS(self, viewable, root, changed, old_models)


def installed() -> bool:
    return Design.__dict__.get("apply") is apply


def install() -> bool:
    """Apply a template's design to a new page once (idempotent); False (stock kept) outside ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("design", WRITTEN_FOR) or not callable(_STOCK_APPLY) or not callable(_STOCK_HOOKS):
        return False
    Design.apply = apply
    Design._apply_hooks = _apply_hooks
    return True


def uninstall() -> None:
    if installed():
        Design.apply = _STOCK_APPLY
        Design._apply_hooks = _STOCK_HOOKS
        _local.applied = None
