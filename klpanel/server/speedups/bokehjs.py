"""Two BokehJS shims added to every page with a density figure, and the page's fast-changing glyphs on the
``overlay`` level.

BokehJS rewrites every renderer's ``<style>`` on every paint even when unchanged, each write forcing a style
recalculation of the page (bokeh/bokeh#15286): :data:`SAME_CSS_JS` skips writes that change nothing. Glyphs on the
``overlay`` level are repainted without the primary layer (axes, grid), but BokehJS clips only the primary layer to
the frame: :data:`OVERLAY_CLIP_JS` clips overlay glyphs too, so the views may put what changes per frame there.
"""

from __future__ import annotations

from bokeh.models import CustomJS

from klpanel.views import components

from . import fits

WRITTEN_FOR = {"bokeh": "3.10"}  # BokehJS ships with the Python package

SAME_CSS_JS = """
const dom = (window.Bokeh && Bokeh.require) ? Bokeh.require("core/dom") : null;
const proto = dom && dom.InlineStyleSheet ? dom.InlineStyleSheet.prototype : null;
if (proto && typeof proto._update === "function" && !proto._klSameCss) {
  const update = proto._update;
  proto._update = function (css) { if (this.el.textContent !== css) { update.call(this, css); } };
  proto._klSameCss = true;
}
"""

OVERLAY_CLIP_JS = """
const gr = (window.Bokeh && Bokeh.require) ? Bokeh.require("models/renderers/glyph_renderer") : null;
const view = gr && gr.GlyphRendererView ? gr.GlyphRendererView.prototype : null;
if (view && !view._klClip) {
  Object.defineProperty(view, "needs_clip", {get() { return this.model.level === "overlay"; }, configurable: true});
  view._klClip = true;
}
"""


def cheap_repaints(fig):
    """Install both shims in the page showing ``fig`` when it is first laid out (served and in Jupyter)."""
    fig.js_on_change("inner_width", CustomJS(code=SAME_CSS_JS + OVERLAY_CLIP_JS))
    return fig


def installed() -> bool:
    return cheap_repaints in components.FIGURE_HOOKS


def install() -> bool:
    """Pages built from now on carry the shims and draw their changing glyphs on ``overlay`` (idempotent); False
    outside ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("bokehjs", WRITTEN_FOR):
        return False
    components.FIGURE_HOOKS.append(cheap_repaints)
    components.swap("REPAINT_LEVEL", "overlay")
    return True


def uninstall() -> None:
    if installed():
        components.FIGURE_HOOKS.remove(cheap_repaints)
        components.restore("REPAINT_LEVEL")
