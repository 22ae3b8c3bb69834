"""Input of the JSON API: one table of typed, bounded fields feeds both parsing and the OpenAPI spec.

A field reads a raw value from a query string (``str``) or a JSON body (number, list, string) and
returns a clean Python value, or raises :class:`BadRequest` carrying the HTTP status, a message that
says what is wrong and what is allowed, and the offending field's name. ``klpanel.server.openapi`` renders
the same fields as OpenAPI parameter and property schemas, so the documented and the enforced
ranges cannot drift apart.

No Panel or Tornado here: this module is plain Python over the numerics.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from ..numerics import divergences
from ..models.approximation import Approximation
from ..models.target import MAX_MODES, Target

#: Work caps per request (also published in the OpenAPI spec).
MAX_GRID_SIDE = 400
MAX_BODY_BYTES = 64 * 1024
MAX_STEPS = 2000
MAX_SAMPLES = 4096
MAX_SEED = 2**32 - 1
#: Sanity bounds for locations (means, mu) and scales (sigmas, sigma) accepted over HTTP.
LOCATION_BOUNDS = (-100.0, 100.0)
SCALE_BOUNDS = (0.01, 100.0)
WEIGHT_BOUNDS = (0.0, 1e6)  # exclusive minimum: every weight must be > 0


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
            raise self.fail(f"{must} {self.allowed()}", raw, field)
        return value


def _param_field(name: str, p, doc: str | None = None, maximum: float | None = None) -> Field:
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
                 nullable=p.allow_None)


# -- the fields of every endpoint ------------------------------------------------------------
GENERATOR_FIELDS = tuple(_param_field(n, Target.param[n]) for n in ("n_modes", "spread", "decay"))
CUSTOM_FIELDS = (
    Field("weights", "numbers", "Mixture weights, each > 0 (normalised to sum to 1)",
          minimum=WEIGHT_BOUNDS[0], maximum=WEIGHT_BOUNDS[1], exclusive_minimum=True, max_items=MAX_MODES),
    Field("means", "numbers", "Component means", minimum=LOCATION_BOUNDS[0], maximum=LOCATION_BOUNDS[1],
          max_items=MAX_MODES),
    Field("sigmas", "numbers", "Component standard deviations", minimum=SCALE_BOUNDS[0],
          maximum=SCALE_BOUNDS[1], max_items=MAX_MODES),
)
TARGET_FIELDS = GENERATOR_FIELDS + CUSTOM_FIELDS

Q_FIELDS = (
    Field("mu", "number", "Mean of q", default=Approximation.param.mu.default,
          minimum=LOCATION_BOUNDS[0], maximum=LOCATION_BOUNDS[1]),
    Field("sigma", "number", "Standard deviation of q", default=Approximation.param.sigma.default,
          minimum=SCALE_BOUNDS[0], maximum=SCALE_BOUNDS[1]),
)


def _divergence_param_fields() -> tuple:
    """One field per divergence parameter name in the registry; bounds are the union over the
    divergences sharing the name (each divergence's own range is then enforced by
    ``divergences.validate_params`` for the divergences actually requested)."""
    specs: dict[str, list] = {}
    for d in divergences.REGISTRY.values():
        for spec in d.params:
            specs.setdefault(spec.name, []).append((d.name, spec))
    fields = []
    for name, owners in specs.items():
        lo = min(s.bounds[0] for _, s in owners)
        hi = max(s.bounds[1] for _, s in owners)
        uses = "; ".join(f"{d}: default {s.default:g}, range [{s.bounds[0]:g}, {s.bounds[1]:g}]"
                         for d, s in owners)
        fields.append(Field(name, "number", f"Divergence parameter ({uses}). {owners[0][1].doc}",
                            minimum=lo, maximum=hi))
    return tuple(fields)


DIVERGENCE_PARAM_FIELDS = _divergence_param_fields()
NAMES = tuple(divergences.REGISTRY)
DIVERGENCES_FIELD = Field("divergences", "names", "Divergences to evaluate (default: every one in the "
                          "registry)", choices=NAMES)
DIVERGENCE_FIELD = Field("divergence", "name", "Divergence", default="reverse_kl", choices=NAMES)
LANDSCAPE_FIELDS = (
    DIVERGENCE_FIELD,
    Field("mu_min", "number", "Smallest mu of the grid", -6.0, *LOCATION_BOUNDS),
    Field("mu_max", "number", "Largest mu of the grid", 6.0, *LOCATION_BOUNDS),
    Field("sigma_min", "number", "Smallest sigma of the grid", 0.15, *SCALE_BOUNDS),
    Field("sigma_max", "number", "Largest sigma of the grid", 4.0, *SCALE_BOUNDS),
    Field("n", "integer", f"Grid points per side (at most {MAX_GRID_SIDE})", 50, 2, MAX_GRID_SIDE),
)


def _optimizer_fields() -> tuple:
    """``name`` plus every hyper-parameter of any optimizer in ``optimizers.OPTIMIZERS`` (union of their
    ranges; the chosen optimizer's own ones are enforced by ``optimizers.make_optimizer``)."""
    from ..models.optimizers import OPTIMIZERS
    fields = {"name": Field("name", "name", "Optimizer", default="gd", choices=tuple(OPTIMIZERS))}
    caps = {"lr": 10.0, "clip": 1e3, "eps": 1.0}
    for cls in OPTIMIZERS.values():
        for pname, p in cls.param.objects().items():
            if pname != "name" and pname not in fields:
                fields[pname] = _param_field(pname, p, maximum=caps.get(pname, 1e3))
    return tuple(fields.values())


def _run_fields():
    from ..models.estimators import ESTIMATORS
    from ..models.runs import Run
    floor = Run.param.sigma_floor
    return (
        Field("name", "name", "Gradient estimator", default="exact", choices=tuple(ESTIMATORS)),
        Field("n_samples", "integer", "Monte-Carlo samples per gradient", Run.param.n_samples.default, 1, MAX_SAMPLES),
        Field("seed", "integer", "Seed of the run's random numbers", Run.param.seed.default, 0, MAX_SEED),
    ), (
        DIVERGENCE_FIELD, *DIVERGENCE_PARAM_FIELDS,
        Field("steps", "integer", f"Optimizer steps (at most {MAX_STEPS}; fewer once converged)", 200, 1, MAX_STEPS),
        Field("sigma_floor", "number", "Lower bound on sigma after every step (0: none)", floor.default, 0.0,
              SCALE_BOUNDS[1], nullable=True),
        Field("tol", "number", "Converged once the gradient norm is below this", Run.param.tol.default, 0.0, 1.0),
    )


OPTIMIZER_FIELDS = _optimizer_fields()
ESTIMATOR_FIELDS, RUN_SCALAR_FIELDS = _run_fields()
#: the objects nested in a run request body
RUN_OBJECTS = {"target": TARGET_FIELDS, "q0": Q_FIELDS, "optimizer": OPTIMIZER_FIELDS, "estimator": ESTIMATOR_FIELDS}


def parse_json(body: bytes):
    """A request body as JSON: size-capped (413), UTF-8, no NaN/Infinity literals (400, field ``body``)."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}", "body", 413)
    def refuse(token):
        raise ValueError(f"{token} is not valid JSON (use finite numbers)")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=refuse)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}", "body") from None


def parse_run(body) -> dict:
    """A ``POST /api/run`` body -> ``{"target": spec, "steps": n, **Run keyword arguments}``."""
    top = parse_object(RUN_SCALAR_FIELDS + tuple(Field(k, "object", "") for k in RUN_OBJECTS), body)
    nested = {k: parse_object(fields, top[k] if top[k] is not None else {}, k + ".")
              for k, fields in RUN_OBJECTS.items()}
    spec = target_spec(nested["target"], "target.")
    build_target(spec, "target.")
    q0 = nested["q0"]  # the fields' bounds already make mu finite and sigma > 0
    name = top["divergence"]
    optimizer = None  # absent: Run's default, the original page's GD (lr 0.03, clip ±1.5)
    if top["optimizer"] is not None:
        optimizer = {k: x for k, x in nested["optimizer"].items() if k in top["optimizer"] or k == "name"}
        _checked_optimizer(optimizer)
    estimator = nested["estimator"]
    return {"target": spec, "steps": top["steps"], "divergence": name,
            "divergence_params": divergence_params([name], top), "mu0": q0["mu"], "sigma0": q0["sigma"],
            "optimizer": optimizer, "estimator": estimator["name"], "n_samples": estimator["n_samples"],
            "seed": estimator["seed"], "sigma_floor": top["sigma_floor"], "tol": top["tol"]}


def _checked_optimizer(spec: dict):
    from ..models.optimizers import OPTIMIZERS, make_optimizer
    try:
        make_optimizer(dict(spec))
    except ValueError as exc:
        allowed, message = set(OPTIMIZERS[spec["name"]].param), str(exc)
        wrong = next((k for k in spec if k != "name" and (k not in allowed or f"{k}'" in message)), None)
        raise BadRequest(str(exc), "optimizer." + (wrong or "name")) from None


#: fields of each GET endpoint, in the order the spec lists them
EVALUATE_FIELDS = TARGET_FIELDS + Q_FIELDS + (DIVERGENCES_FIELD,) + DIVERGENCE_PARAM_FIELDS
OPTIMAL_FIELDS = TARGET_FIELDS + (DIVERGENCE_FIELD,) + DIVERGENCE_PARAM_FIELDS
LANDSCAPE_QUERY_FIELDS = TARGET_FIELDS + LANDSCAPE_FIELDS + DIVERGENCE_PARAM_FIELDS


# -- reading a whole request -------------------------------------------------------------------
def parse_query(fields, arguments: Mapping[str, list]) -> dict:
    """Parse Tornado ``query_arguments`` (name -> list of bytes) against ``fields``.

    Unknown names and repeated names are errors; absent fields get their default (``None`` for
    the target fields, which :func:`make_target` resolves)."""
    by_name = {f.name: f for f in fields}
    out = {f.name: _default(f) for f in fields}
    for name, values in arguments.items():
        if name not in by_name:
            raise BadRequest(f"unknown query parameter {name!r}; allowed: {', '.join(by_name)}", name)
        if len(values) != 1:
            raise BadRequest(f"{name} given {len(values)} times; give it once", name)
        raw = values[0]
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(f"{name} is not valid UTF-8", name) from None
        out[name] = by_name[name].parse(raw)
    return out


def parse_object(fields, obj, prefix: str = "", required=()) -> dict:
    """Parse a JSON object against ``fields`` (unknown keys are errors; ``prefix`` names nesting)."""
    where = prefix.rstrip(".") or "body"
    if not isinstance(obj, dict):
        raise BadRequest(f"{where} must be a JSON object, got {type(obj).__name__}", where)
    by_name = {f.name: f for f in fields}
    for key in obj:
        if key not in by_name:
            raise BadRequest(f"unknown field {prefix + key!r} in {where}; allowed: {', '.join(by_name)}",
                             prefix + key)
    for key in required:
        if key not in obj:
            raise BadRequest(f"{prefix + key} is required", prefix + key)
    return {f.name: (f.parse(obj[f.name], prefix + f.name, json_value=True) if f.name in obj else _default(f))
            for f in fields}


def _default(field: Field):
    """Absent target fields stay ``None`` so :func:`make_target` knows which form was given."""
    return None if field in TARGET_FIELDS else field.default


def target_spec(values: Mapping, prefix: str = "") -> tuple:
    """A hashable description of the requested target, ``("custom", weights, means, sigmas)`` or
    ``("generator", n_modes, spread, decay)``, after the checks that involve several fields."""
    custom = {f.name: values.get(f.name) for f in CUSTOM_FIELDS}
    generator = {f.name: values.get(f.name) for f in GENERATOR_FIELDS}
    given_custom = [k for k, x in custom.items() if x is not None]
    given_generator = [k for k, x in generator.items() if x is not None]
    if given_custom:
        if given_generator:
            raise BadRequest(f"give either n_modes/spread/decay or weights/means/sigmas, not both "
                             f"(got {', '.join(given_generator + given_custom)})", prefix + given_generator[0])
        missing = [k for k, x in custom.items() if x is None]
        if missing:
            raise BadRequest(f"a custom target needs weights, means and sigmas together; {missing[0]} "
                             f"is missing", prefix + missing[0])
        sizes = {k: len(x) for k, x in custom.items()}
        if len(set(sizes.values())) > 1:
            odd = next(k for k in ("means", "sigmas") if sizes[k] != sizes["weights"])
            raise BadRequest(f"weights, means and sigmas must have the same length (got "
                             f"{sizes['weights']}, {sizes['means']}, {sizes['sigmas']})", prefix + odd)
        return ("custom", *(tuple(custom[k]) for k in ("weights", "means", "sigmas")))
    return ("generator", *(generator[f.name] if generator[f.name] is not None else f.default
                           for f in GENERATOR_FIELDS))


@lru_cache(maxsize=512)
def build_target(spec: tuple, prefix: str = "") -> Target:
    """The (shared, never mutated) :class:`Target` of a :func:`target_spec`; ``Target``'s own
    ``ValueError`` messages are passed on as 400s naming the field they start with."""
    kind, a, b, c = spec
    if kind == "custom":
        return _checked(lambda: Target(weights=list(a), means=list(b), sigmas=list(c)), prefix, "weights")
    return _checked(lambda: Target(n_modes=a, spread=b, decay=c), prefix, "n_modes")


def make_target(values: Mapping, prefix: str = "") -> Target:
    return build_target(target_spec(values, prefix), prefix)


def landscape_grid(values: Mapping) -> dict:
    """The grid fields of a landscape request, with the ranges checked to be non-empty."""
    for axis in ("mu", "sigma"):
        lo, hi = values[f"{axis}_min"], values[f"{axis}_max"]
        if not lo < hi:
            raise BadRequest(f"{axis}_max must be greater than {axis}_min (got {axis}_min={lo:g}, "
                             f"{axis}_max={hi:g})", f"{axis}_max")
    return {k: values[k] for k in ("mu_min", "mu_max", "sigma_min", "sigma_max", "n")}


def divergence_params(names, values: Mapping) -> dict:
    """The given parameters the requested divergences take (``{"alpha": 0.3}``), checked against each
    divergence's own range by ``divergences.validate_params``; parameters no requested divergence
    uses are ignored."""
    used = {s.name for n in names for s in divergences.REGISTRY[n].params}
    given = {k: values[k] for k in sorted(used) if values.get(k) is not None}
    _checked(lambda: divergences.validate_params(list(names), **given), "", next(iter(given), None))
    return given


def _checked(build, prefix: str, fallback: str | None):
    """Run ``build``; turn a ``ValueError`` into a 400 naming the field its message starts with."""
    try:
        return build()
    except ValueError as exc:
        message = str(exc)
        first = message.split(" ", 1)[0].strip(",:")
        known = {f.name for f in TARGET_FIELDS + Q_FIELDS + DIVERGENCE_PARAM_FIELDS}
        field = first if first in known else fallback
        raise BadRequest(message, prefix + field if field else None) from None
