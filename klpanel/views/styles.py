"""The page's responsive look, shared by every section: controls beside a plot on a wide screen and above it on a
narrow one, cards in a grid that fills the width, legends that wrap with their plot, and the served page's design.

Layouts follow the width of their container (wrapping flex rows and CSS grids, no fixed widths), so a section fits a
phone, a tablet, a desktop or a notebook cell alike. The served template adds what needs its own document:
``klpanel.css`` (touch-sized controls on phones, visible keyboard focus; Panel's design modifiers put it in every
widget's shadow root) and ``a11y.js`` (accessible names for controls Bokeh leaves unnamed).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import holoviews as hv
import panel as pn
from bokeh.document import Document
from bokeh.io.doc import patch_curdoc
from bokeh.models import CustomJS
from panel.layout import Card, Tabs
from panel.theme import Inherit
from panel.theme import fast as _fast
from panel.widgets import Widget

HERE = Path(__file__).parent

#: width of a controls column beside its plot; the share of the row its plot keeps before the controls go above it
CONTROLS_WIDTH = 320
MAIN_SHARE = "55%"
#: narrowest card of a card grid (run cards, divergence cards)
CARD_MIN_WIDTH = 320
GAP = "8px"
#: below this viewport width the served page is laid out for a phone (header, margins, touch-sized controls)
PHONE_MAX_WIDTH = 640

WRAP_CSS = f":host {{ flex-wrap: wrap; gap: {GAP}; align-items: flex-start; }}"
#: a grid of equal cards; a Column's (hidden) scroll button would take a cell of it
GRID_CSS = (f":host {{ display: grid !important; gap: 8px; "
            f"grid-template-columns: repeat(auto-fit, minmax(min(100%, {CARD_MIN_WIDTH}px), 1fr)); }} "
            ".scroll-button { display: none !important; }")


class WrapRow(pn.Row):
    """A row whose children wrap onto more lines when it is narrow. Panel gives a row the sum of its children's fixed
    widths as its minimum width (and its ancestors inherit it), which would keep it from wrapping: this one has none."""

    def _compute_sizing_mode(self, children, props):
        sizing = super()._compute_sizing_mode(children, props)
        sizing.pop("min_width", None)
        return sizing


def beside(controls, main, width: int = CONTROLS_WIDTH, share: str = MAIN_SHARE, **params):
    """``controls`` (a list) left of ``main`` (a list) while ``main`` keeps at least ``share`` of the row, above it
    once it would not: a wrapping flex row, so it follows its container's width (page or notebook cell). A hidden
    one of them joins its column when first shown (:func:`column`)."""
    left = column(*controls, sizing_mode="stretch_width", css_classes=["kl-controls"],
                  styles={"flex": f"1 1 {width}px", "min-width": "0"})
    right = column(*main, sizing_mode="stretch_width", css_classes=["kl-main"],
                   styles={"flex": "999 1 0px", "min-width": share})
    return WrapRow(left, right, sizing_mode="stretch_width", stylesheets=[WRAP_CSS], **params)


def column(*objects, **params) -> pn.Column:
    """``pn.Column(*objects)`` without the hidden ones (``visible=False``: a message with nothing to say, a control
    of another mode); each joins the column at its place when it is first made visible, and stays. A hidden component
    costs each new session its models (~2 ms each) though most visitors never see it."""
    shown = [o for o in objects if getattr(o, "visible", True)]
    layout = pn.Column(*shown, **params)
    placed = {id(o): item for o, item in zip(shown, layout.objects)}  # each object as the column holds it

    def join(obj, event):
        if not event.new or id(obj) in placed:
            return
        at = next(i for i, o in enumerate(objects) if o is obj)
        before = [placed[id(o)] for o in objects[:at] if id(o) in placed]
        items = layout.objects
        index = max((i + 1 for i, item in enumerate(items) if before and item is before[-1]), default=0)
        layout.insert(index, obj)
        placed[id(obj)] = layout.objects[index]

    for obj in objects:
        if id(obj) not in placed:
            obj.param.watch(partial(join, obj), "visible")
    return layout


def wrapping_row(*objects, align_items: str = "flex-start", **params):
    """A row of controls that wraps onto more lines when its container is narrow (never overlaps); ``align_items``
    "flex-end" lines up a titled widget's box with a button beside it."""
    return WrapRow(*objects, stylesheets=[WRAP_CSS, f":host {{ align-items: {align_items}; }}"], **params)


def plots_row(*plots, min_width: int = 360, **params):
    """Plots side by side, each at least ``min_width`` wide (or the whole width, if less): below that they stack."""
    for plot in plots:
        plot.param.update(sizing_mode="stretch_width", styles={**plot.styles, "flex": f"1 1 {min_width}px",
                                                                "min-width": f"min(100%, {min_width}px)"})
    return WrapRow(*plots, sizing_mode="stretch_width", stylesheets=[WRAP_CSS], **params)


def stretch(pane):
    """``pane`` (a ``pn.Param`` or a layout) with each widget in it as wide as the pane: Panel gives a parameter's
    widget a fixed 300 px, which ran under its neighbours in a narrower column."""
    for widget in pane.select(Widget):
        widget.param.update(width=None, sizing_mode="stretch_width")
    return pane


def card_grid(*objects, **params):
    """Cards in as many equal columns as fit (each at least :data:`CARD_MIN_WIDTH`), filling the width: one a row on
    a phone, two on a tablet, three or four on a desktop."""
    params.setdefault("sizing_mode", "stretch_width")
    return pn.Column(*objects, stylesheets=[GRID_CSS], **params)


#: on a phone, a plot's tools are touch targets too (they sit in the toolbar's own shadow root)
TOOLBAR_CSS = (f"@media (max-width: {PHONE_MAX_WIDTH}px) {{ .bk-OnOffButton, .bk-ClickButton, .bk-tool-overflow "
               "{ flex: 0 0 40px !important; width: 40px !important; height: 40px !important; } }")

#: BokehJS, whenever the plot's width or title changes: the title's font shrinks (to 9 px at least) until the title
#: fits the plot, and each legend takes as many columns as the width holds (its longest label decides a column's)
FIT_JS = """
const title = fig.title;
const laid_out = fig.inner_width > 50;  // before the first layout the width is not known yet
if (laid_out && title && title.text) {
  const given = String(title.text_font_size || '13px');
  const unit = given.endsWith('pt') ? 4 / 3 : given.endsWith('em') ? 13 : 1;  // in px (an em of a canvas: ~13 px)
  title._kl_size ??= parseFloat(given) * unit || 13;
  const fits = Math.floor((fig.inner_width + 40) / (0.62 * title.text.length));
  const size = `${Math.max(9, Math.min(title._kl_size, fits))}px`;
  // the browser's own layout: not sent to the server (each change was a message the server applied to no end)
  if (title.text_font_size !== size) title.setv({text_font_size: size}, {sync: false});
}
for (const legend of laid_out ? legends : []) {
  // a legend beside the frame (left or right) widens or narrows the frame with its columns: fitting it would
  // oscillate, the frame's width and the columns changing each other at every repaint
  if (!fig.above.includes(legend) && !fig.below.includes(legend)) continue;
  const px = parseFloat(legend.label_text_font_size) || 13;
  const longest = Math.max(1, ...legend.items.map(i => String((i.label && i.label.value) || '').length));
  const item = legend.glyph_width + legend.label_standoff + legend.spacing + 0.6 * px * longest + 4;
  const n = Math.max(1, Math.floor(fig.inner_width / item));
  if (legend.ncols !== n) legend.setv({ncols: n}, {sync: false});
}
"""


FITTED = "klpanel-fitted"  # a figure's tag once fit_figure has given it its callbacks


def fit_figure(fig):
    """The page's rules for a figure, whoever drew it: the toolbar on a row of its own above the plot (a long title
    never pushes it off a narrow one) with touch-sized tools on a phone; legends outside the frame (above it, unless
    already below), horizontal, in as many columns as the width holds, so they never cover data; the
    title's font as small as it must be to fit. Returns ``fig``."""
    fitted = FITTED in fig.tags  # again (legends added since): place those, keep the rest
    if fig.toolbar_location is not None:
        fig.update(toolbar_location="above", toolbar_sticky=False)
        if not fitted:
            fig.toolbar.stylesheets = [*fig.toolbar.stylesheets, TOOLBAR_CSS]
    legends = list(fig.legend)
    for legend in legends:
        place = "below" if legend in fig.below else "above"
        for panel in (fig.center, fig.left, fig.right, fig.above, fig.below):
            if legend in panel:
                panel.remove(legend)
        legend.update(orientation="horizontal", location="top_left", background_fill_alpha=0.0,
                      border_line_alpha=0.0)
        fig.add_layout(legend, place)
    if fitted:
        fig.js_property_callbacks["change:inner_width"][-1].args["legends"] = legends
        return fig
    fig.tags = [*fig.tags, FITTED]
    fit = CustomJS(args={"fig": fig, "legends": legends}, code=FIT_JS)
    fig.js_on_change("inner_width", fit)
    if fig.title is not None:
        fig.title.js_on_change("text", fit)
    return fig


def render(element):
    """``hv.render(element)`` that leaves the session document alone. HoloViews' renderer puts its own theme (black
    titles, Bokeh's grey labels) on the plot's document, and Bokeh then re-themes every model in it: on the session's
    document that undid the page's light or dark theme, and putting the page's theme back changed every axis, grid
    and title on the page twice, each change a message to the browser (~850 messages while a reader scrolled through
    the sections). The plot is drawn for a document of its own, and then belongs to the session's (HoloViews' session
    hook), whose theme its models take when the page adds them."""
    own = Document()
    with patch_curdoc(own):  # the document HoloViews finds (``curdoc()``) and themes: its own
        plot = hv.renderer("bokeh").get_plot(element)
    # in a session, the plot's hooks go with the session's document; outside one, HoloViews would hang the plot on
    # Bokeh's process-wide default document, which kept every figure and its views alive: it keeps its own
    doc = pn.state.curdoc
    if doc is not None:
        plot.document = doc
    return plot.state


#: BokehJS: the frame's height follows its width, so the frame stays square (equal scales on both axes)
SQUARE_JS = "if (Math.abs(fig.frame_height - fig.inner_width) > 1) fig.frame_height = Math.round(fig.inner_width);"


def square_frame(fig, max_width: int = 560):
    """``fig`` as wide as its container up to ``max_width`` (figure, not frame), with a square frame at any width: a
    picture whose two axes share a scale (ellipses, contours) keeps its shapes on a phone. Returns ``fig``."""
    fig.update(frame_width=None, width=None, sizing_mode="stretch_width", max_width=max_width)
    fig.js_on_change("inner_width", CustomJS(args={"fig": fig}, code=SQUARE_JS))
    return fig


#: Panel's Fast design without its Google-Fonts stylesheet, so the page loads nothing from outside the server (no
#: failed request, no console error offline; the system font stands in), and with ``klpanel.css`` in every widget,
#: card and tab set. It is named "Fast" because Panel finds a design's bundled files (js/fast_design.js) by its
#: lower-cased name, and its stylesheet route finds the class by that name in this module.
Fast = type("Fast", (_fast.Fast,), {
    "_resources": {**_fast.Fast._resources, "font": {}},
    "modifiers": {**_fast.Fast.modifiers, **{cls: {"stylesheets": [Inherit, "klpanel.css"]}
                                             for cls in (Widget, Card, Tabs)}},
    "__module__": __name__})

#: the template's own CSS (its header and margins are outside every shadow root)
PAGE_CSS = f"""
#header {{ height: auto; min-height: 44px; }}
@media (max-width: {PHONE_MAX_WIDTH}px) {{
  #header {{ padding: 6px 8px; }}
  .app-header {{ display: block; flex: 1 1 auto; min-width: 0; white-space: normal; }}
  .title {{ white-space: normal; overflow-wrap: anywhere; font-size: 1.15rem; line-height: 1.3; margin-left: 0; }}
  #header-items {{ width: auto; padding-left: 0; }}
  #main {{ padding: 0 4px; }}
  .main-margin {{ margin-top: 4px; }}
  fast-card.pn-wrapper {{ padding: 4px; }}
  #theme-switch {{ min-height: 40px; }}
}}
"""

A11Y_JS = (HERE / "a11y.js").read_text(encoding="utf-8")


def accessible(doc) -> None:
    """Give the served document's unnamed controls their accessible names once it is ready (see ``a11y.js``)."""
    doc.js_on_event("document_ready", CustomJS(code=A11Y_JS))
