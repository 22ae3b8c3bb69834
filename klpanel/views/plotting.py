"""How the sections show :mod:`klpanel.plots`' pictures, and the one hand-built figure left (the run cards' and the
α tab's density, which no picture defines).

Two paths. A picture that changes on a target or option change is a ``pn.pane.HoloViews`` of an ``hv.DynamicMap``
bound to the models (:func:`holoviews_pane`). A picture that changes 20-30 times a second (the Explore q, the
animated runs) is rendered once (:func:`render`) and its Bokeh ``ColumnDataSource``s, found by
``plots.sources(fig)``, are written directly: a HoloViews update costs milliseconds to tens of milliseconds of
server time where the source write costs microseconds.
"""

from __future__ import annotations

import inspect
import weakref

import holoviews as hv
import numpy as np
import panel as pn
from bokeh.models import AllIndices, GlyphRenderer, Range1d, UnionRenderers
from bokeh.plotting import figure

from ..plots.style import density_ylim
from . import components, styles
from .figure_cache import copy_of

HOOKED = "klpanel-hooked"  # a HoloViews plot's handle marking its figure as already given the page's hooks


def density_figure(height: int = 340, **kwargs):
    """A figure with fixed ranges (set by :func:`set_ranges`), a save (PNG) tool and no logo."""
    kwargs.setdefault("tools", "pan,wheel_zoom,box_zoom,reset,save")
    fig = figure(height=height, sizing_mode="stretch_width", x_range=Range1d(-8, 8), y_range=Range1d(0, 1.3),
                 toolbar_location="above", output_backend="canvas", x_axis_label="x", y_axis_label="density",
                 **kwargs)
    components.figure_hooks(fig)
    fig.toolbar.logo = None
    fig.grid.grid_line_alpha = 0.25
    fig.background_fill_alpha = 0.0
    fig.border_fill_alpha = 0.0
    return fig


def set_ranges(fig, x, *curves) -> None:
    """Fix the ranges to the grid and the tallest curve (changes only when the target changes)."""
    fig.x_range.update(start=float(x[0]), end=float(x[-1]))
    lo, hi = density_ylim(*curves)
    fig.y_range.update(start=lo, end=hi)


def as_column(values) -> np.ndarray:
    """Plot data travels as float32 (half the websocket bytes; far below the screen's resolution)."""
    return np.asarray(values, dtype=np.float32)


def page_look(fig, name: str | None = None):
    """What every figure of the page has besides its picture: the figure hooks (:data:`components.FIGURE_HOOKS`),
    no Bokeh logo, a transparent background (the page's theme shows through), and ``name`` for tests and tools.
    Drawn on a canvas, as the hand-built figures were: HoloViews renders for WebGL, which a browser without a GPU
    emulates (tens of milliseconds more per repaint)."""
    fig.output_backend = "canvas"
    components.figure_hooks(fig)
    fig.toolbar.logo = None
    fig.background_fill_alpha = fig.border_fill_alpha = 0.0
    if name:
        fig.name = name
    return fig


#: a renderer's glyphs for selection, non-selection and muting: BokehJS derives each from the main glyph when it is
#: "auto" (as HoloViews' defaults do: 0.2 alpha), where HoloViews sends three more glyph models per renderer
DERIVED_GLYPHS = ("selection_glyph", "nonselection_glyph", "muted_glyph")


def lean(fig):
    """``fig`` with each renderer's derived glyphs left to BokehJS (:data:`DERIVED_GLYPHS`) and its stateless models
    shared (:func:`share_stateless`): fewer models per renderer for every session to create, serialise and send,
    and nothing a visitor sees changes. Returns ``fig``."""
    for renderer in fig.renderers:
        if isinstance(renderer, GlyphRenderer):
            renderer.update(**dict.fromkeys(DERIVED_GLYPHS, "auto"))
    return share_stateless(fig)


def share_stateless(fig):
    """``fig`` with the models that hold no state of their own shared by its renderers: one ``AllIndices`` filter and
    one ``UnionRenderers`` selection policy per figure. Not the ``CDSView``: it holds its source's indices, and when
    several renderers share one, each renderer's BokehJS view recomputes them and signals all the others at every
    change of the source. Returns ``fig``."""
    every = policy = None
    for renderer in fig.renderers:
        if not isinstance(renderer, GlyphRenderer):
            continue
        source, view = renderer.data_source, renderer.view
        if isinstance(getattr(source, "selection_policy", None), UnionRenderers):
            policy = policy or source.selection_policy
            source.selection_policy = policy
        if isinstance(view.filter, AllIndices):
            every = every or view.filter
            view.filter = every
    return fig


def render(element, name: str | None = None, key=None, finish=None):
    """``element`` (a :mod:`klpanel.plots` picture, or a function making it) rendered once to a Bokeh figure with
    the page's look; ``finish(fig)``, if given, then rearranges the rendered figure (its sources, glyphs, legend).
    With ``key`` (everything the picture and ``finish`` depend on) both happen once per process and each call gets a
    copy (:mod:`.figure_cache`; the function is then called only for the first): every new session's first screen
    draws the same pictures, and creates only the models the finished figure keeps."""
    def draw():
        fig = styles.render(element if isinstance(element, hv.core.Dimensioned) else element())
        return lean(fig if finish is None else finish(fig))
    return page_look(draw() if key is None else copy_of(key, draw), name)


def share_source(fig, keys, into: str):
    """``fig`` with the renderers ``klpanel-<key>`` of ``keys`` (equally long columns, distinct names but a shared
    ``x``) drawing from the source of ``into``: one source, one ``x`` column and one selection model for all of them,
    fewer models and bytes for every session. A view writes such a source once per change (:func:`write_sources`)."""
    by_key = {r.name[len("klpanel-"):]: r for r in fig.renderers if (r.name or "").startswith("klpanel-")}
    shared = by_key[into].data_source
    for key in keys:
        renderer = by_key[key]
        if renderer.data_source is not shared:
            shared.data.update({c: v for c, v in renderer.data_source.data.items() if c not in shared.data})
            renderer.update(data_source=shared)
    return fig


def write_sources(sources: dict, columns: dict) -> None:
    """Write ``columns`` ({source key: {column: values}}) to ``sources`` ({key: ColumnDataSource}), once per source
    however many keys share it (:func:`share_source`): the columns of a shared source's keys go in one message."""
    merged: dict = {}
    for key, data in columns.items():
        source = sources[key]
        merged.setdefault(id(source), (source, {}))[1].update(data)
    for source, data in merged.values():
        source.data = data


def look_hook(name: str | None = None, then=None, *args):
    """A HoloViews hook giving a figure the page's look (:func:`page_look`) the first time it is drawn (and its
    legends their place, :func:`styles.fit_figure`, at every frame), then
    calling ``then(*args, plot)`` (the HoloViews plot, whose ``state`` is the figure: e.g. to add a view's own
    renderers); a later frame of the same plot does nothing.

    ``then`` is held weakly when it is a bound method: HoloViews keeps an element's options, hooks included, in
    its process-wide option store, which would otherwise keep a closed session's view alive."""
    then_ref = weakref.WeakMethod(then) if inspect.ismethod(then) else (lambda: then)

    def hook(plot, element):
        styles.fit_figure(plot.state)  # every frame: HoloViews puts an overlay's legend back where its options say
        if plot.handles.get(HOOKED):
            return
        plot.handles[HOOKED] = True
        page_look(lean(plot.state), name)
        call = then_ref()
        if call is not None:
            call(*args, plot)
    return hook


def holoviews_pane(obj, **kwargs) -> pn.pane.HoloViews:
    """A pane serving ``obj`` (a DynamicMap of :mod:`klpanel.plots` pictures), its axes linked to no other pane's
    (Panel links shared dimension names across panes by default: the landscape's σ and the phase plot's σ* are
    different things)."""
    kwargs.setdefault("sizing_mode", "stretch_width")
    return pn.pane.HoloViews(obj, linked_axes=False, **kwargs)


def framewise(picture):
    """``picture`` (an overlay, or a layout of overlays) with its axes following each frame (its xlim/ylim options
    and data), as the hand-built figures' ranges followed the target. The option sits on each overlay's first
    layer, which carries the figure's options (``plots.style.framed``)."""
    overlays = picture.values() if isinstance(picture, hv.Layout) else [picture]
    for overlay in overlays:
        (overlay.get(0) if isinstance(overlay, hv.Overlay) else overlay).opts(framewise=True)
    return picture


def vline_spans(plot) -> list:
    """The Bokeh ``Span``s drawing the ``hv.VLine`` marks of an overlay's HoloViews ``plot``, in the overlay's order:
    a view moves a mark (the current α, a loss' parameter) by writing its ``location``, not by a HoloViews update."""
    return [sub.handles["glyph"] for sub in plot.subplots.values() if isinstance(sub.current_frame, hv.VLine)]
