"""No MathJax bundle for a page without MathJax to typeset.

Panel 1.10 adds Bokeh's MathJax bundle (``bokeh-mathjax.min.js``, 1.8 MB, a third of a new visitor's 5.4 MB of
static files) to every page that holds any Panel HTML model (``panel.io.resources._panel_use_mathjax``): a Markdown
or HTML pane might hold TeX. klpanel typesets its formulas with KaTeX, and its HTML panes leave math off
(``disable_math``, their default). This narrows the question to what Panel's HTML view typesets: an HTML model with
math on whose text has a TeX delimiter (``$``, ``\\(`` or ``\\[``). Bokeh's own question (a TeX axis label, a
``MathText``...) is asked as before, and BokehJS renders a page without the bundle as it renders any page without
math (its provider reports "failed" and the text shows as written). Upstream text: benchmarks/README.md.
"""

from __future__ import annotations

from panel.io import resources

from . import Patches

WRITTEN_FOR = {"panel": "1.10"}

TEX_DELIMITERS = ("$", "\\(", "\\[")


def typesets_math(model) -> bool:
    """Whether Panel's HTML view would typeset ``model``'s text with MathJax."""
    from panel.models.markup import HTML as PanelHTML
    return (isinstance(model, PanelHTML) and not model.disable_math
            and any(d in (model.text or "") for d in TEX_DELIMITERS))


def _panel_use_mathjax(roots) -> bool:
    return resources._any(roots, typesets_math)


_patches = Patches("nomathjax", WRITTEN_FOR, [(resources, "_panel_use_mathjax", _panel_use_mathjax)])
install, uninstall, installed = _patches.install, _patches.uninstall, _patches.installed
