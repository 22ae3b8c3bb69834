"""Section 2 — one card per selected divergence: formula (KaTeX), behaviour, what it means for LLM
distillation (all registry text), and a live line with this target's optimum from the library."""

from __future__ import annotations

import html
from functools import cache

import panel as pn
import param
from markdown_it import MarkdownIt

from ..numerics import divergences
from ..models.explorer import Explorer, format_value
from . import components, styles
from ..plots.style import COLORS


def card_text(name: str) -> str:
    """The card's prose, straight from the registry (the claims test reads exactly this)."""
    d = divergences.REGISTRY[name]
    return f"{d.behaviour}\n\n**In LLM distillation.** {d.distillation}"


@cache
def card_html(name: str) -> str:
    """The card's fixed part as one piece of HTML: its heading in the divergence's colour, the formula (``$$...$$``,
    typeset by KaTeX in the browser) and the prose (:func:`card_text`, Markdown made HTML here, as Panel's Markdown
    pane does). One pane instead of three: each component costs every new session ~2 ms (issue 21)."""
    d = divergences.REGISTRY[name]
    # the heading in the divergence's colour is large text (19 px bold): 3:1 on both themes is legible (WCAG AA)
    return (f'<h3 style="margin:0 0 4px;font-size:19px;color:{COLORS[name]}">{html.escape(d.label)}</h3>'
            f'<div style="font-size:1.05em">$${html.escape(d.latex)}$$</div>'
            + MarkdownIt("commonmark").render(card_text(name)))


def optimum_line(explorer: Explorer, name: str) -> str:
    """``Here: optimum q = N(-3.000, 0.350²), value 0.617; 4 local minima`` (from ``explorer.optima``),
    as HTML for a Panel HTML pane (a Bokeh ``Div`` re-lays out the whole page on every change: ~30-50 ms of the
    browser's time per card and target change)."""
    if name in explorer.problems:
        return f"<em>Here:</em> {html.escape(explorer.problems[name])}"
    best = explorer.optima.get(name)
    if best is None:
        return ""
    n = len(best.local_minima)
    minima = "1 local minimum (the global one)" if n == 1 else f"{n} local minima"
    return (f"<em>Here:</em> optimum q = N({best.mu:.3f}, {best.sigma:.3f}²), value {format_value(best.value)}; "
            f"{minima}.")


class FormulaCards(pn.viewable.Viewer):
    """Cards for the registry, each on the page while its divergence is selected. A card is built when its
    divergence is first selected (a hidden card still cost every new session its Bokeh models: the six divergences
    off by default were 30 of the section's 50 components)."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        self.cards, self.lines = {}, {}  # the cards built so far, by divergence
        self.grid = styles.card_grid()
        self._update()
        self.explorer.param.watch(self._update, ["selected", "optima", "problems"], precedence=1)  # after the plot

    def _card(self, name: str):
        """Divergence ``name``'s card (built on first use)."""
        if name not in self.cards:
            self.lines[name] = components.HTML(optimum_line(self.explorer, name), sizing_mode="stretch_width",
                                               css_classes=[f"klpanel-optimum-{name}"])
            self.cards[name] = pn.Column(
                pn.pane.LaTeX(card_html(name), renderer="katex", sizing_mode="stretch_width"),
                self.lines[name],
                sizing_mode="stretch_width", min_height=300, margin=0,
                styles={"border": f"1px solid {COLORS[name]}", "border-radius": "8px", "padding": "8px"})
        return self.cards[name]

    def _update(self, *events):
        selected = [name for name in divergences.REGISTRY if name in self.explorer.selected]
        with pn.io.hold():
            shown = [self._card(name) for name in selected]
            for name, card in self.cards.items():
                card.visible = name in selected
                if card.visible:
                    self.lines[name].object = optimum_line(self.explorer, name)
            if self.grid.objects != shown:
                self.grid.objects = shown

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## 2. The divergences", sizing_mode="stretch_width"),
            self.grid,
            sizing_mode="stretch_width")
