"""Figures rendered once per process and copied per session (klpanel.views.figure_cache): a copy is the rendered
figure, model for model and value for value, under ids of its own; copies do not share anything a session changes;
the section figures drawn this way are what HoloViews draws."""

from __future__ import annotations

import json
import re

import holoviews as hv
import numpy as np
from bokeh.core.serialization import Serializer
from bokeh.document import Document
from bokeh.models import ColumnDataSource

from klpanel import plots
from klpanel.models.explorer import Explorer
from klpanel.views.explore import explore_figure
from klpanel.views.figure_cache import FIGURES, copy_of


def described(fig) -> list:
    """Every model of ``fig`` as (type, its properties as Bokeh sends them, references to models without their ids),
    in a stable order."""
    models = list(fig.references())
    out = []
    for model in models:
        serializer = Serializer(references=models, deferred=False)  # other models as references, not inline
        props = {key: re.sub(r'"id": ?"p\d+"', '"id"', json.dumps(serializer.encode(value), sort_keys=True))
                 for key, value in model.properties_with_values(include_defaults=True).items()}
        out.append((type(model).__name__, sorted(props.items())))
    return sorted(out, key=repr)


def test_a_copy_is_the_rendered_figure_under_new_ids():
    e = Explorer()
    picture = plots.optima(e.target, list(e.optima))
    drawn = []
    first = copy_of(("test", 1), lambda: drawn.append(1) or hv.render(picture, backend="bokeh"))
    second = copy_of(("test", 1), lambda: drawn.append(1) or hv.render(picture, backend="bokeh"))
    assert drawn == [1]  # rendered once for the key
    fresh = hv.render(picture, backend="bokeh")
    assert described(first) == described(fresh) == described(second)
    ids = [{m.id for m in fig.references()} for fig in (first, second, fresh)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2]
    Document().add_root(first)  # a copy is a valid document of its own
    Document().add_root(second)


def test_copies_share_nothing_a_session_writes():
    e = Explorer()
    a, b = (copy_of(("test", 2), lambda: hv.render(plots.optima(e.target, ["jsd"]), backend="bokeh"))
            for _ in range(2))
    source_a = next(iter(a.select({"type": ColumnDataSource})))
    source_b = b.select_one({"type": ColumnDataSource, "name": source_a.name})
    before = {k: np.array(v) for k, v in source_b.data.items()}
    source_a.data = {k: np.zeros(len(v)) for k, v in source_a.data.items()}
    a.x_range.start = -100
    assert all(np.array_equal(source_b.data[k], before[k]) for k in before)
    assert b.x_range.start != -100


def test_the_explore_figure_from_the_cache_is_the_rendered_one():
    e = Explorer()
    FIGURES.clear()
    rendered = explore_figure(e)  # the first: rendered
    copied = explore_figure(e)  # a copy
    assert described(copied) == described(rendered)
