"""Input of the JSON API: one table of typed, bounded fields (:mod:`klpanel.server.fields`) per endpoint feeds
both parsing and the OpenAPI spec.

The numbers accepted are the library's domain: every q that ``Approximation`` takes (and so every landscape
point and run start) and every component ``Target`` takes; narrower only where a request's work is capped
(grid sides, steps, samples), which the fields' docs and error messages say.

No Panel or Tornado here: this module is plain Python over the numerics.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Mapping

from ..numerics import divergences
from ..models.approximation import Approximation
from ..models.target import MAX_MODES, MEAN_LIMIT, SIGMA_LIMITS, SPAN_LIMIT, Target
from .fields import BadRequest, Field, param_field

__all__ = ["BadRequest", "Field", "parse_query", "parse_object", "parse_json", "parse_run", "make_target"]

#: Work caps per request (also published in the OpenAPI spec).
MAX_GRID_SIDE = 400
MAX_BODY_BYTES = 64 * 1024
MAX_STEPS = 2000
MAX_SAMPLES = 4096
MAX_SEED = 2**32 - 1
#: q's domain is ``Approximation``'s: the range on which the numbers are exact in double precision.
Q_MU_BOUNDS = tuple(Approximation.param.mu.bounds)
Q_SIGMA_BOUNDS = tuple(Approximation.param.sigma.bounds)
Q_REASON = (f"the library's domain for q: |mu| ≤ {Q_MU_BOUNDS[1]:g} and {Q_SIGMA_BOUNDS[0]:g} ≤ sigma ≤ "
            f"{Q_SIGMA_BOUNDS[1]:g}, where every number is exact in double precision")
TARGET_REASON = (f"the library's domain for components: |mean| ≤ {MEAN_LIMIT:g}, {SIGMA_LIMITS[0]:g} ≤ sigma ≤ "
                 f"{SIGMA_LIMITS[1]:g} and |mean| ≤ {SPAN_LIMIT:g} × sigma")
WEIGHT_BOUNDS = (0.0, 1e6)  # exclusive minimum: every weight must be > 0 (weights are normalised)


# -- the fields of every endpoint ------------------------------------------------------------
GENERATOR_FIELDS = tuple(param_field(n, Target.param[n]) for n in ("n_modes", "spread", "decay"))
CUSTOM_FIELDS = (
    Field("weights", "numbers", "Mixture weights, each > 0 (normalised to sum to 1)",
          minimum=WEIGHT_BOUNDS[0], maximum=WEIGHT_BOUNDS[1], exclusive_minimum=True, max_items=MAX_MODES),
    Field("means", "numbers", f"Component means ({TARGET_REASON})", minimum=-MEAN_LIMIT, maximum=MEAN_LIMIT,
          max_items=MAX_MODES, reason=TARGET_REASON),
    Field("sigmas", "numbers", f"Component standard deviations ({TARGET_REASON})", minimum=SIGMA_LIMITS[0],
          maximum=SIGMA_LIMITS[1], max_items=MAX_MODES, reason=TARGET_REASON),
)
TARGET_FIELDS = GENERATOR_FIELDS + CUSTOM_FIELDS

Q_FIELDS = (
    param_field("mu", Approximation.param.mu, f"Mean of q ({Q_REASON})", reason=Q_REASON),
    param_field("sigma", Approximation.param.sigma, f"Standard deviation of q ({Q_REASON})", reason=Q_REASON),
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
    Field("mu_min", "number", f"Smallest mu of the grid ({Q_REASON})", -6.0, *Q_MU_BOUNDS, reason=Q_REASON),
    Field("mu_max", "number", f"Largest mu of the grid ({Q_REASON})", 6.0, *Q_MU_BOUNDS, reason=Q_REASON),
    Field("sigma_min", "number", f"Smallest sigma of the grid ({Q_REASON})", 0.15, *Q_SIGMA_BOUNDS, reason=Q_REASON),
    Field("sigma_max", "number", f"Largest sigma of the grid ({Q_REASON})", 4.0, *Q_SIGMA_BOUNDS, reason=Q_REASON),
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
                fields[pname] = param_field(pname, p, maximum=caps.get(pname, 1e3))
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
              Q_SIGMA_BOUNDS[1], nullable=True),
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
