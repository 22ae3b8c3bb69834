"""The typed, bounded input fields of the JSON API and the error they raise (:class:`BadRequest`).

A field reads a raw value from a query string (``str``) or a JSON body (number, list, string) and returns a
clean Python value, or raises :class:`BadRequest` carrying the HTTP status, a message that says what is wrong,
what is allowed and (``reason``) why, and the offending field's name. :mod:`klpanel.server.openapi` renders the
same fields as schemas, so the documented and the enforced ranges cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class BadRequest(Exception):
    """Invalid API input: ``status`` (400, 413, 503...), a human ``error`` and the ``field`` at fault."""

    def __init__(self, error: str, field: str | None = None, status: int = 400, headers=None):
        super().__init__(error)
        self.error, self.field, self.status = error, field, status
        self.headers = dict(headers or {})

    def payload(self) -> dict:
        return {"error": self.error, "field": self.field}


def _fmt(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Field:
    """One input: ``kind`` is ``number``, ``integer``, ``numbers`` (a list: comma-separated in a
    query, an array in JSON), ``name`` (one of ``choices``), ``names`` (a list of ``choices``) or
    ``object`` (a nested JSON object, parsed by its own fields)."""

    name: str
    kind: str
    doc: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    max_items: int | None = None
    choices: tuple | None = None
    nullable: bool = False  # JSON null accepted (and returned as None)
    reason: str | None = None  # why the range is what it is: said in range errors and in the spec

    # -- the allowed range, in words (used by every error message) -------------------------
    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        lo = "-inf" if self.minimum is None else _fmt(self.minimum)
        hi = "inf" if self.maximum is None else _fmt(self.maximum)
        left = "(" if self.exclusive_minimum or self.minimum is None else "["
        right = ")" if self.exclusive_maximum or self.maximum is None else "]"
        what = "an integer" if self.kind == "integer" else "a finite number"
        return f"{what} in {left}{lo}, {hi}{right}"

    def fail(self, why: str, raw, field: str | None = None) -> BadRequest:
        shown = repr(raw)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        name = field or self.name
        return BadRequest(f"{name} {why}, got {shown}", name)

    # -- parsing --------------------------------------------------------------------------
    def parse(self, raw, field: str | None = None, json_value: bool = False):
        """Clean value from a query string or (``json_value``) a JSON value, where numbers must be
        JSON numbers and lists JSON arrays; ``field`` overrides the reported name (``q0.sigma``)."""
        if json_value and isinstance(raw, str) and self.kind not in ("name", "object"):
            raise self.fail(f"must be {'a JSON array' if self.kind in ('numbers', 'names') else self.allowed()}",
                            raw, field)
        if raw is None and self.nullable:
            return None
        if self.kind == "object":
            if not isinstance(raw, dict):
                raise self.fail("must be a JSON object", raw, field)
            return raw
        if self.kind in ("number", "integer"):
            return self._scalar(raw, field)
        if self.kind == "name":
            if not isinstance(raw, str) or raw not in self.choices:
                raise self.fail(f"must be {self.allowed()}", raw, field)
            return raw
        items = self._items(raw, field)
        if json_value and self.kind == "numbers" and any(isinstance(x, str) for x in raw):
            raise self.fail(f"values must each be {self.allowed()}", next(x for x in raw if isinstance(x, str)), field)
        if self.kind == "names":
            bad = [x for x in items if not isinstance(x, str) or x not in self.choices]
            if bad:
                raise self.fail(f"must list names, each {self.allowed()} (unknown: {bad[0]!r})", raw, field)
            if len(set(items)) != len(items):
                raise self.fail("must not repeat a name", raw, field)
            return items
        return [self._scalar(x, field, item=True) for x in items]

    def _items(self, raw, field):
        if isinstance(raw, str):
            items = raw.split(",") if raw.strip() else []
        elif isinstance(raw, list):
            items = raw
        else:
            raise self.fail("must be a list", raw, field)
        if not items:
            raise self.fail("must not be empty", raw, field)
        if self.max_items is not None and len(items) > self.max_items:
            raise self.fail(f"must have at most {self.max_items} values (got {len(items)})", raw, field)
        return [x.strip() if isinstance(x, str) else x for x in items]

    def _scalar(self, raw, field, item=False):
        must = "values must each be" if item else "must be"
        if isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                raise self.fail(f"{must} {self.allowed()}", raw, field) from None
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
            value = float(raw)
        else:
            raise self.fail(f"{must} {self.allowed()}", raw, field)
        if not math.isfinite(value):
            raise self.fail(f"{must} {self.allowed()} (no NaN or infinity)", raw, field)
        if self.kind == "integer":
            if not value.is_integer():
                raise self.fail(f"{must} {self.allowed()}", raw, field)
            value = int(value)
        too_low = self.minimum is not None and (
            value <= self.minimum if self.exclusive_minimum else value < self.minimum)
        too_high = self.maximum is not None and (
            value >= self.maximum if self.exclusive_maximum else value > self.maximum)
        if too_low or too_high:
            raise self.fail(f"{must} {self.allowed()}" + (f" ({self.reason})" if self.reason else ""), raw, field)
        return value


def param_field(name: str, p, doc: str | None = None, maximum: float | None = None, reason: str | None = None) -> Field:
    """A field from a ``param.Number``/``param.Integer``/``param.Selector``: type, bounds, default and doc.
    ``maximum`` caps a parameter that is unbounded above (the API bounds every number it accepts)."""
    import param
    if isinstance(p, param.Selector):
        return Field(name, "name", doc or p.doc, default=p.default, choices=tuple(p.objects))
    lo, hi = p.bounds or (None, None)
    hi = maximum if hi is None else hi
    inclusive = p.inclusive_bounds or (True, True)
    kind = "integer" if isinstance(p, param.Integer) else "number"
    return Field(name, kind, doc or p.doc, default=p.default, minimum=lo, maximum=hi,
                 exclusive_minimum=lo is not None and not inclusive[0],
                 exclusive_maximum=p.bounds is not None and p.bounds[1] is not None and not inclusive[1],
                 nullable=p.allow_None, reason=reason)
