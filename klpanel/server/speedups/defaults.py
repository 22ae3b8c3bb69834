"""Bokeh property defaults worked out once per class, not at every read.

A model's property it never set reads its default, and Bokeh 3.10 works that default out again at every read:
``PropertyDescriptor.has_unstable_default`` walks the property's type parameters (two imports per call) to decide
whether the default is made afresh per instance, and ``Property.themed_default`` copies the raw or themed default and
validates it again (``prepare_value``). A new session's page reads defaults ~25,000 times (building its models,
applying the theme, collecting references, serialising), and both answers depend only on the class, the property and
the theme's value for it. This keeps them: the first per (descriptor, class), the second per (property, class, name,
themed value) when the default is a plain immutable value (None, a bool, number or string) made by no function, and
for an empty list, dict or set its type, made afresh at each read. Other lists and dicts, models and anything a
function makes are worked out as before.

Each default read also asks the model for its theme's values (``HasProps.themed_values``), which Bokeh looks up with
``getattr(self, "__themed_values__", None)``: a model no theme touched (most of a page's) raises and catches an
``AttributeError`` through ``HasProps.__getattr__`` at every read, ~18,000 a page (~0.9 µs each, ~10 % of a build).
The same value is read here from the instance's ``__dict__``, where ``apply_theme`` sets and deletes it. Upstream
text: benchmarks/README.md.
"""

from __future__ import annotations

from bokeh.core.has_props import HasProps
from bokeh.core.property.bases import Property
from bokeh.core.property.descriptors import PropertyDescriptor
from bokeh.core.property.singletons import Undefined
from bokeh.core.property.wrappers import PropertyValueDict, PropertyValueList, PropertyValueSet

from . import Patches

WRITTEN_FOR = {"bokeh": "3.10"}

_STOCK_UNSTABLE = PropertyDescriptor.__dict__["has_unstable_default"]
_STOCK_THEMED = Property.__dict__["themed_default"]
IMMUTABLE = (type(None), bool, int, float, str, type(Undefined))
#: an empty default of these is kept as its type and made afresh (empty) at each read: a model's tags, callbacks,
#: classes, styles... (four to eight of them per model, ~4,800 reads a page)
EMPTY = (PropertyValueList, PropertyValueDict, PropertyValueSet, list, dict, set)
_MISSING = object()

_unstable: dict = {}  # (descriptor, class) -> whether its default is made afresh per instance
#: (the property's id: it lives as long as its class, class, name, no_eval, the themed value's type and value) -> the
#: prepared default
_defaults: dict = {}


def has_unstable_default(self, obj) -> bool:
    key = (self, type(obj))
    found = _unstable.get(key)
    if found is None:
        found = _unstable[key] = _STOCK_UNSTABLE(self, obj)
    return found


def themed_default(self, cls, name, theme_overrides, *, no_eval=False):
    if theme_overrides is not None and name in theme_overrides:
        themed = theme_overrides[name]
        if type(themed) not in IMMUTABLE:
            return _STOCK_THEMED(self, cls, name, theme_overrides, no_eval=no_eval)
        key = (id(self), cls, name, no_eval, type(themed), themed)
    else:
        key = (id(self), cls, name, no_eval, None, None)
    found = _defaults.get(key, _MISSING)
    if found is not _MISSING:
        return found() if type(found) is type else found
    value = _STOCK_THEMED(self, cls, name, theme_overrides, no_eval=no_eval)
    made = callable(self._default) or callable(cls._overridden_defaults().get(name))  # a fresh value per call
    if not made and type(value) in IMMUTABLE:
        _defaults[key] = value
    elif not made and type(value) in EMPTY and not value:
        _defaults[key] = type(value)  # a new empty container per read, as the stock copy is
    return value


def themed_values(self):
    # apply_theme keeps a theme's values in the instance's __dict__ (HasProps has no __slots__), and nowhere else
    return self.__dict__.get("__themed_values__")


themed_values.__doc__ = HasProps.themed_values.__doc__


def _clear() -> None:  # after an uninstall: what the replacements kept
    _unstable.clear()
    _defaults.clear()


_patches = Patches("defaults", WRITTEN_FOR, [
    (PropertyDescriptor, "has_unstable_default", has_unstable_default),
    (Property, "themed_default", themed_default),
    (HasProps, "themed_values", themed_values)], cleared=_clear)
install, uninstall, installed = _patches.install, _patches.uninstall, _patches.installed
