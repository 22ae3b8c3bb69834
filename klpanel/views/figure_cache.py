"""Figures rendered once per process and copied for each session.

Every new visitor's first screen rendered the same HoloViews pictures (section 1's optima, the Explore plot) for
the same default state, at tens to hundreds of milliseconds each. :func:`copy_of` renders a figure the first time
its key is asked for, keeps it as Bokeh's JSON (the last 32 keys, per process), and hands every caller its own copy:
the same models with new ids, decoded from the JSON. The caller then changes its copy (sources, ranges, hooks) as it
changed a freshly rendered figure; nothing is shared between sessions but the JSON text.
"""

from __future__ import annotations

import json
import re
from typing import Callable, Hashable

import numpy as np
from bokeh.core.serialization import Deserializer, Serializer
from bokeh.model import Model
from bokeh.util.serialization import make_id

from ..models.cache import LRUCache

FIGURES = LRUCache(32)  # key -> the rendered figure as JSON text
DECODER = Deserializer  # what turns the JSON into models (the served app's speedup ``copies`` puts a faster one here)
_ID = re.compile(r'"id": "(p\d+)"')  # every model's id in Bokeh's JSON (its definition and each reference to it)


def copy_of(key: Hashable, draw: Callable[[], Model]) -> Model:
    """A new copy of the Bokeh model ``draw()`` returns (with everything it references), drawn once per ``key``:
    ``key`` must name everything the drawing depends on."""
    text = FIGURES.get_or_compute(key, lambda: json.dumps(Serializer(deferred=False).encode(draw())))
    ids: dict[str, str] = {}
    text = _ID.sub(lambda m: f'"id": "{ids.setdefault(m.group(1), make_id())}"', text)
    with np.printoptions(threshold=8, edgeitems=1):  # Bokeh formats each value it sets for a trace log line
        return DECODER().decode(json.loads(text))
