"""Background computations of the spectrum tabs: one at a time per tab, with a progress bar.

Curves cost seconds (every α, every spread), so in a server session they are computed in a worker thread while a
progress bar moves, and handed to the document's thread; outside a server session they are computed in place.
"""

from __future__ import annotations

import threading
import time
from functools import partial

import panel as pn
import param

from ...models.background import background_pool
from .. import components

WORKER = background_pool(1, "klpanel-spectrum-view")


class ProgressBar(pn.viewable.Viewer):
    """A thin progress bar drawn in HTML: showing, moving and hiding it only replaces the pane's inner HTML
    (Panel's Progress widget toggles ``visible``, which re-lays out the whole page in the browser: ~200 ms per
    toggle on this page). ``fraction`` None hides it."""

    fraction = param.Number(default=None, bounds=(0, 1), allow_None=True, doc="Done, 0 … 1; None: hidden")

    def __init__(self, **params):
        super().__init__(**params)
        self.pane = components.HTML("", sizing_mode="stretch_width", margin=(2, 10))
        self.param.watch(self._draw, "fraction")

    @property
    def shown(self) -> bool:
        return self.fraction is not None

    def _draw(self, event):
        f = self.fraction
        self.pane.object = "" if f is None else (
            '<div class="kl-progress" role="progressbar" aria-label="Computing" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{100 * f:.0f}" style="height:6px;border-radius:3px;background:rgba(128,128,128,0.25)">'
            f'<div style="height:6px;border-radius:3px;width:{100 * f:.1f}%;background:#1f77b4"></div></div>')

    def __panel__(self):
        return self.pane


class Superseded(Exception):
    """Raised in a background computation, at its next progress report, once a newer one was asked for."""


#: seconds between two progress messages of a background computation (its points can take < 1 ms each)
PROGRESS_EVERY_S = 0.2


class Job:
    """One background computation at a time per section part: a newer request supersedes an older one (which
    stops at its next progress report instead of computing on for nothing), progress reaches the page at most
    every ``PROGRESS_EVERY_S``."""

    def __init__(self, section, progress: ProgressBar, status: pn.pane.Markdown):
        self.section, self.progress, self.status = section, progress, status
        self.generation = 0
        self._lock = threading.Lock()

    def run(self, compute, apply, label):
        """``compute(progress) -> result`` off the UI thread (server) or in place; then ``apply(result)``."""
        with self._lock:
            self.generation += 1
            gen = self.generation
        doc = self.section._doc
        if doc is None:
            apply(compute(None))
            return
        self.progress.fraction = 0.0
        self.status.object = f"*Computing {label}…*"

        shown = [0.0]  # when progress was last sent: every message is a DOM update and paint in the browser

        def report(done, total):
            if gen != self.generation:
                raise Superseded
            now = time.monotonic()
            if done == total or now - shown[0] >= PROGRESS_EVERY_S:
                shown[0] = now
                doc.add_next_tick_callback(partial(self._show, gen, done, total))

        def finished(future):
            try:
                if future.exception() is not None:
                    doc.add_next_tick_callback(partial(self._fail, gen, future.exception()))
                else:
                    doc.add_next_tick_callback(partial(self._apply, gen, apply, future.result()))
            except Exception:  # the session has gone meanwhile: nobody to show it to
                pass

        WORKER.submit(compute, report).add_done_callback(finished)

    def _show(self, gen, done, total):
        if gen == self.generation:
            self.progress.fraction = min(1.0, done / max(total, 1))

    def _apply(self, gen, apply, result):
        if gen == self.generation:
            self.progress.fraction = None
            self.status.object = ""
            apply(result)

    def _fail(self, gen, exc):
        if gen == self.generation:
            self.progress.fraction = None
            self.status.object = f"Could not compute this: {exc}"
