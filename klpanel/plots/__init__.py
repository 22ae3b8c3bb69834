"""klpanel's pictures as HoloViews objects: pure functions from the models to elements with named dimensions and
the app's look (registry colours, hover, fixed ranges), which render in a notebook, in a served page
(``hv.render``) and to a file (``hv.save``), and compose with ``*`` and ``+``.

>>> import holoviews as hv
>>> from klpanel import Target, plots
>>> from klpanel.models.runs import random_restarts, step_runs
>>> p = Target()
>>> runs = random_restarts(4, p, "reverse_kl"); step_runs(runs, 200)
>>> hv.save(plots.landscape(p, "reverse_kl") * plots.trajectories(runs), "landscape.html")

Importing this package loads HoloViews and its Bokeh backend (``import klpanel`` does not); no Panel, nothing of
``klpanel.views`` or ``klpanel.server``. A view that must update faster than HoloViews re-renders renders a
picture once and then writes its Bokeh data sources directly: :func:`sources` finds them by name.
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  registers the Bokeh backend (current backend if it is the only one)
from bokeh.models import ColumnDataSource, GlyphRenderer

from .densities import area_columns, explore, optima, values_title
from .landscape import landscape, landscape_data, mu_landscape, trajectories
from .spectrum import distillation, phase, spectrum
from .style import renderer_name
from .twod import bishop  # noqa: F401  (the 2-D picture, Bishop PRML fig. 10.2)

if hv.Store.current_backend == "bokeh":
    # what hv.extension("bokeh") does after loading the backend: build hv.opts.Curve(...) etc. from its options
    # (switching to it on import ran before they were registered); no notebook output, no other backend touched
    hv.Store.set_current_backend("bokeh")


def sources(fig) -> dict[str, ColumnDataSource]:
    """{key: data source} of every glyph renderer named by klpanel (``klpanel-<key>``, see each function's
    docstring) in ``fig``, a Bokeh figure or layout from ``hv.render``: what a view writes to update a picture
    without HoloViews. Keys are the documented ones, e.g. ``"q"``, ``"optimum-reverse_kl"``, ``"path-0"``."""
    prefix = renderer_name("")
    # a figure's own renderers, else a search of the whole layout (which walks every model it references)
    found = fig.renderers if hasattr(fig, "renderers") else fig.select({"type": GlyphRenderer})
    return {r.name[len(prefix):]: r.data_source for r in found
            if isinstance(r, GlyphRenderer) and r.name and r.name.startswith(prefix)}


__all__ = ["area_columns", "distillation", "explore", "landscape", "landscape_data", "mu_landscape", "optima", "phase",
           "sources", "spectrum", "trajectories", "values_title"]
