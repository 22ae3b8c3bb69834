"""The app in a Jupyter notebook: which outputs show it, whether any of them is still on a page, and the Bokeh models
its sections write themselves, sent to every one of them.

Served, everything that changes in a session's document goes out over its websocket. In a notebook every output is a
Bokeh document of its own with its own comm, and Panel sends what Panel changes (a widget's or a pane's parameter);
the figures a section writes directly (a frame of the animation, a new landscape) belong to one document only, the
last output that rendered them. :class:`Outputs` keeps those figures in a document of its own, never displayed, and
sends its changes (one message per turn of the kernel's event loop) to every output that shows them: two outputs of
one app show one state.

Nothing tells the kernel that an output went away (a re-run cell, a cleared output, a closed notebook: JupyterLab
drops the output's Bokeh document and its comms stay open), so every output carries a :class:`Beacon`: while the
output is on a page, the page reports every ``BEAT_MS`` (and JupyterLab's theme); an output that has not reported for
``GONE_AFTER_S`` is gone. An animation asks :attr:`Outputs.shown` and stops when nothing shows it; it skips frames
while a page is :attr:`Outputs.behind` (a slow browser: frames would pile up in it). Each output's comm is made to
keep its messages in order and have the page's messages answered on the kernel's loop (:mod:`.comms`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

import panel as pn
import param
from bokeh.document import Document
from bokeh.themes import Theme
from panel.io.model import diff, remove_root
from panel.io.notebook import push
from panel.io.state import set_curdoc

from . import comms, components
from .comms import answer_on_kernel_loop, count_messages, send_once_open

#: JupyterLab's theme, as the page reports it -> Panel's design theme
THEMES = {"light": "default", "dark": "dark"}
BEAT_MS = 1000  # how often an output on a page reports
GONE_AFTER_S = 3.5  # an output that has not reported for this long is gone (cleared, re-run, closed)
#: an output silent for this long is sent nothing more (one silent for less may be a page whose kernel was busy: it
#: keeps getting every change, so it still shows the state when it reports again)
FORGET_AFTER_S = 60.0
NEVER_REPORTED_S = 120.0  # an output that never reported is given up after this long (no page: nbclient, nbconvert)
MAX_BEHIND = 30  # messages a page may have left to apply (about a second of animation) before frames wait for it


def running_tickers() -> list:
    """Every klpanel periodic callback that is ticking in this process (the dynamics' animations)."""
    return components.running_tickers()


def kernel_loop():
    """The event loop of the calling thread if one is running (a Jupyter kernel runs its cells in one), else None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class KernelLoop:
    """The kernel's event loop as a section's background work asks a served document: ``add_next_tick_callback``
    runs a callback on the loop's thread soon, whichever thread asks."""

    def __init__(self, loop):
        self.loop = loop

    def add_next_tick_callback(self, callback) -> None:
        self.loop.call_soon_threadsafe(callback)


class Beacon(pn.custom.JSComponent):
    """Invisible. While its output is on a page, the page reports every ``BEAT_MS``: the output's root, a count and
    JupyterLab's theme (``data-jp-theme-light`` on the page's body); the timer stops when the output is removed.
    It also keeps the output's comm from sending the kernel's own changes back to it (see the script)."""

    report = param.String(default="", doc="'<output root id> <count> <light|dark> <messages applied>', as the page "
                                          "last sent it")

    _esm = """
export function render({ model, view }) {
  const doc = view.model.document
  // Panel 1.10's notebook comm (its CommManager, a root of the output's document) sends every change of the
  // document to the kernel, those the kernel has just sent too (it ignores BokehJS's sync flag): each frame's data
  // came back, and the kernel searched the whole page for every source in it. It listens for the page's own
  // changes from here on, and sends one without its 50 ms wait (its acknowledgements still batch a burst).
  for (const root of doc.roots()) {
    if (typeof root._document_changed === "function" && root._document_listener && !root.klpanel_own_changes) {
      doc.remove_on_change(root._document_listener)
      doc.on_change((event) => { if (event.sync) root._document_changed(event) })
      root.setv({debounce: 0}, {sync: false})
      root.klpanel_own_changes = true
    }
  }
  // the kernel's messages this page has applied, for the kernel to see how far behind it is
  if (!doc.klpanel_applied) {
    const apply = doc.apply_json_patch.bind(doc)
    doc.klpanel_applied = 0
    doc.apply_json_patch = (...args) => { doc.klpanel_applied++; return apply(...args) }
  }
  const root_id = view.root.model.id
  let count = 0
  const beat = () => {
    const light = document.body.dataset.jpThemeLight
    model.report = `${root_id} ${++count} ${light === "false" ? "dark" : "light"} ${doc.klpanel_applied}`
  }
  beat()
  const timer = setInterval(beat, %d)
  model.on("remove", () => clearInterval(timer))
}
""" % BEAT_MS

    def __init__(self, rendered: Callable | None = None, **params):
        super().__init__(width=0, height=0, margin=0, sizing_mode="fixed", **params)
        self._rendered = rendered

    def _get_model(self, doc, root=None, parent=None, comm=None):
        # Panel's hook for building this component's model in an output: the one place an output's document and
        # comm are known in Python (Panel keeps them in its private ``state._views``)
        model = super()._get_model(doc, root, parent, comm)
        if comm is not None and self._rendered is not None:
            self._rendered((root or model).ref["id"], doc, comm)
        return model


@dataclass
class Output:
    """One notebook output: its Bokeh document and comm, when it was rendered and last reported."""

    doc: Document
    comm: object
    rendered: float
    ref: str = ""  # the id of the output's root model
    reported: float | None = None
    theme: str | None = None  # the JupyterLab theme the output was last styled for ("light" or "dark")
    open: Callable[[], None] | None = None  # sends what waits for the page (send_once_open)
    sent: int = 0  # messages sent to the page
    behind: int = 0  # of those, not yet applied by the page at its last report

    def count_sent(self) -> None:
        self.sent += 1

    def gone(self, now: float, after: float = GONE_AFTER_S) -> bool:
        if self.reported is None:
            return now - self.rendered > NEVER_REPORTED_S
        return now - self.reported > after


class Outputs:
    """The notebook outputs of ``layout`` (a Panel layout; its :class:`Beacon` is appended to it): whether any is
    shown, a callback for each new one, JupyterLab's theme, and the layout's own Bokeh figures (every
    ``pn.pane.Bokeh`` in it) kept in :attr:`doc` and sent to every output that shows them."""

    def __init__(self, layout):
        self.layout = layout
        self.beacon = Beacon(rendered=self._rendered)
        self.beacon.param.watch(self._on_report, "report")
        layout.append(self.beacon)
        self.doc = Document()  # owns the figures between outputs; never displayed itself
        self.doc.on_change(self._on_change)
        self.theme: str | None = None  # JupyterLab's theme, "light" or "dark", once a page has reported
        self._outputs: dict[str, Output] = {}
        self._shared: list = []  # more Bokeh models to keep in doc (share)
        self._events: list = []
        self._flush_pending = False
        self._shown_callbacks: list[Callable[[], None]] = []
        self._loop = kernel_loop()  # the kernel's: cells, ticks and (answer_on_kernel_loop) the pages' messages

    # -- which outputs show the layout ------------------------------------------------------------------------
    @property
    def shown(self) -> bool:
        """Whether a page shows one of the outputs (reported in the last ``GONE_AFTER_S``)."""
        now = time.monotonic()
        return any(o.reported is not None and not o.gone(now) for o in self._outputs.values())

    def on_shown(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever a page starts showing an output (its first report, or its first after a
        silence that had counted it gone)."""
        self._shown_callbacks.append(callback)

    def _rendered(self, ref: str, doc: Document, comm) -> None:
        # rendered in Panel's configured theme: restyled only when JupyterLab's differs
        theme = "dark" if pn.config.theme == "dark" else "light"
        self._outputs[ref] = out = Output(doc, comm, time.monotonic(), ref, theme=theme)
        count_messages(comm, out.count_sent)
        if self._loop is not None:  # at the latest once Panel has finished rendering the output
            self._loop.call_soon(self.settle)

    def settle(self) -> None:
        """After an output has been rendered (best before the page has it: ``KLExplorer._repr_mimebundle_``): its
        messages wait for its page in order, the page's messages are answered on the kernel's loop, and the figures
        come back (:meth:`adopt`)."""
        if self._loop is not None and comms.fits():
            for out in self._outputs.values():
                out.open = send_once_open(out.comm, self._loop) or out.open
                answer_on_kernel_loop(out.doc, self._loop)
        self.adopt()

    @property
    def behind(self) -> bool:
        """Whether a page that shows an output had not applied the last ``MAX_BEHIND`` messages sent to it when it
        last reported (a busy browser: an animation waits for it instead of piling frames up)."""
        now = time.monotonic()
        return any(o.behind > MAX_BEHIND and not o.gone(now) for o in self._outputs.values())

    def _on_report(self, event) -> None:
        ref, _, theme, applied = (event.new.split(" ") + ["", "", ""])[:4]
        out = self._outputs.get(ref)
        if out is None:
            return
        now = time.monotonic()
        new = out.reported is None or out.gone(now)
        out.reported = now
        out.behind = out.sent - int(applied) if applied.isdigit() else 0
        self.theme = theme or self.theme
        if out.open is not None:
            out.open()
        if theme in THEMES and theme != out.theme:
            self._follow_theme(out, theme)
        if new:
            for callback in self._shown_callbacks:
                callback()

    def _follow_theme(self, out: Output, theme: str) -> None:
        """Style output ``out`` for JupyterLab's ``theme``: Panel's design in its light or dark theme applied to the
        layout's models there (the widgets' and panes' stylesheets), and the matching Bokeh theme on the output's
        document and on :attr:`doc` (the plots' text, grid and axes)."""
        from panel.theme import Native

        out.theme = theme
        design = (pn.config.design or Native)(theme=THEMES[theme])
        bokeh_theme = design.theme.bokeh_theme or Theme(json={})
        root = out.doc.get_model_by_id(out.ref)
        with pn.io.hold(out.doc, comm=out.comm):
            if root is not None:  # in the output's document: its stylesheets' URLs are the output's (Panel's
                with set_curdoc(out.doc):  # Jupyter endpoint, or inlined), not Panel's CDN
                    design.apply(self.layout, root)
            out.doc.theme = bokeh_theme
        self.doc.theme = bokeh_theme

    # -- the layout's own figures -------------------------------------------------------------------------------
    def share(self, *models) -> None:
        """Keep ``models`` in :attr:`doc` too: Bokeh models a section writes directly that sit in no ``pn.pane.Bokeh``
        of the layout (data sources drawn on each output's own HoloViews figure)."""
        self._shared.extend(models)
        self.adopt()

    def figures(self) -> list:
        """The Bokeh models kept in :attr:`doc`: the object of every ``pn.pane.Bokeh`` in the layout (a section's
        figures, its run cards) and the shared models."""
        return [pane.object for pane in self.layout.select(pn.pane.Bokeh) if pane.object is not None] + self._shared

    def adopt(self) -> None:
        """Take the figures back into :attr:`doc` after an output rendered them (Panel moves a Bokeh model into the
        document of the output it renders it in), and send what changed in the meantime to that output."""
        moved = False
        for fig in self.figures():
            if fig.document is not self.doc:
                remove_root(fig, replace=self.doc)
                moved = True
        if moved:
            for out in self._outputs.values():
                push(out.doc, out.comm)

    def _on_change(self, event) -> None:
        if not self._outputs:
            return
        self._events.append(event)
        if self._flush_pending:
            return
        loop = kernel_loop()
        if loop is None:
            self.flush()
        else:
            self._flush_pending = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Send the figures' changes to every output that has them, one message each (serialized against what that
        output's document has sent already: models it knows travel as references), but not a change back to the
        output it came from."""
        self._flush_pending = False
        events, self._events = self._events, []
        now = time.monotonic()
        for out in self._outputs.values():
            if out.gone(now, FORGET_AFTER_S):
                continue
            mine = [e for e in events if getattr(e, "setter", None) != out.comm.id
                    and getattr(e, "model", None) is not None and out.doc.get_model_by_id(e.model.id) is not None]
            msg = diff(out.doc, events=mine) if mine else None
            if msg is not None:
                push(out.doc, out.comm, msg=msg)
