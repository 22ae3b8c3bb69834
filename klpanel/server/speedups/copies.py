"""A session's copies of the cached figures decoded without working out the defaults their JSON then replaces.

Every new session copies the first screen's two figures from their JSON (:mod:`klpanel.views.figure_cache`). Bokeh's
``Deserializer`` makes each model with ``HasProps.__init__``, which works out every property default that is made
afresh per model (a figure's toolbar, ranges and scales, every list and dict), and then sets each property from the
JSON through ``set_from_json``, which works that default out again to compare it with the new value: about one
throw-away model per model decoded (~160 a session), ~2/3 of the copy's time. :class:`CopyDeserializer` works out
only the defaults the JSON does not set, and sets a property whose default is made afresh directly (as
``set_from_json`` would after its comparison); every other property goes through ``set_from_json`` as before. The
models' JSON is the same (``tests/test_speedup_same_page.py``). Figures and the upstream issue text:
benchmarks/README.md.
"""

from __future__ import annotations

from bokeh.core.has_props import HasProps
from bokeh.core.property.dataspec import DataSpec
from bokeh.core.serialization import Deserializer

from ...views import figure_cache
from . import fits

WRITTEN_FOR = {"bokeh": "3.10"}

_STOCK = figure_cache.DECODER


class CopyDeserializer(Deserializer):
    """Bokeh's decoder, each new model made without the defaults its attributes replace."""

    def _decode_object_ref(self, obj):
        if obj["id"] in self._references:  # Bokeh's own handling (a warning, the known model)
            return super()._decode_object_ref(obj)
        cls = self._resolve_type(obj["name"])
        instance = cls.__new__(cls, id=obj["id"])
        self._references[instance.id] = instance
        attributes = obj.get("attributes") or {}
        if not instance._initialized:  # HasProps.__init__, its fresh defaults only for what the JSON leaves unset
            super(HasProps, instance).__init__()
            instance._property_values, instance._unstable_default_values, instance._unstable_themed_values = {}, {}, {}
            for name in instance.properties(_with_props=True):
                if name not in attributes and instance.lookup(name).has_unstable_default(instance):
                    instance.lookup(name)._get(instance)
            instance._initialized = True
        for key, value in attributes.items():
            value, descriptor = self._decode(value), instance.lookup(key)
            if (isinstance(descriptor.property, DataSpec) or key in instance._property_values
                    or not descriptor.has_unstable_default(instance)):
                instance.set_from_json(key, value, setter=self._setter)
            else:  # unset, its default made afresh: nothing to compare with, nothing to notify on a new model
                descriptor._set_value(instance, descriptor.property.prepare_value(instance, key, value))
        return instance


def installed() -> bool:
    return figure_cache.DECODER is CopyDeserializer


def install() -> bool:
    """Decode the session's figure copies with :class:`CopyDeserializer` (idempotent); False outside
    ``WRITTEN_FOR``."""
    if installed():
        return True
    if not fits("copies", WRITTEN_FOR):
        return False
    figure_cache.DECODER = CopyDeserializer
    return True


def uninstall() -> None:
    if installed():
        figure_cache.DECODER = _STOCK
