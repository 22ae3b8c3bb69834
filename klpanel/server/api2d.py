"""The 2-D endpoints of the JSON API (the Bishop picture's numbers): ``GET /api/evaluate2d`` (forward and reverse KL
and their gradients at a 2-D Gaussian q) and ``GET /api/optimal2d`` (the optimal factorised or full-covariance q of
one direction). Same contract as the 1-D endpoints: typed, bounded fields (:class:`~klpanel.server.validation.Field`)
that both validate and document the input, errors ``{"error", "field"}``, optima in the heavy-work process pool.

The target p is a preset (``preset``, with every component's ``p_sigma1``, ``p_sigma2``, ``p_rho``) or custom
components (``weights``, ``means1``, ``means2``, ``sigmas1``, ``sigmas2``, ``rhos``, all six, equal lengths, at most
4), not both; q is ``mu1``, ``mu2``, ``sigma1``, ``sigma2``, ``rho``.
"""

from __future__ import annotations

from functools import lru_cache

from ..models.twod import PRESETS, Approximation2D, Target2D
from ..numerics import gauss2d as g
from . import validation as v
from .api import HEAVY, APIHandler, dumps
from .validation import BadRequest, Field

LOCATIONS = (-20.0, 20.0)  # bounds of every mean over HTTP
SCALES = (0.1, 10.0)  # bounds of every standard deviation over HTTP
RHOS = (-g.MAX_RHO, g.MAX_RHO)


def _param_field(name: str, p, doc: str) -> Field:
    """A number field with the bounds of param ``p`` and no default (the preset's own applies)."""
    return Field(name, "number", doc, minimum=p.bounds[0], maximum=p.bounds[1])


PRESET_FIELDS = (
    Field("preset", "name", "Preset target: where p's components sit", default=Target2D.param.preset.default,
          choices=tuple(PRESETS)),
    _param_field("p_sigma1", Target2D.param.sigma1, "σ₁ of every component of a preset p (default: the preset's)"),
    _param_field("p_sigma2", Target2D.param.sigma2, "σ₂ of every component of a preset p (default: the preset's)"),
    _param_field("p_rho", Target2D.param.rho, "ρ of every component of a preset p (default: the preset's)"),
)
CUSTOM_FIELDS = (
    Field("weights", "numbers", "Component weights, each > 0 (normalised)", minimum=0.0, maximum=1e6,
          exclusive_minimum=True, max_items=g.MAX_COMPONENTS),
    *(Field(f"means{i}", "numbers", f"Component means along x{i}", minimum=LOCATIONS[0], maximum=LOCATIONS[1],
            max_items=g.MAX_COMPONENTS) for i in (1, 2)),
    *(Field(f"sigmas{i}", "numbers", f"Component standard deviations along x{i}", minimum=SCALES[0],
            maximum=SCALES[1], max_items=g.MAX_COMPONENTS) for i in (1, 2)),
    Field("rhos", "numbers", "Component correlations", minimum=RHOS[0], maximum=RHOS[1], max_items=g.MAX_COMPONENTS),
)
TARGET_FIELDS = PRESET_FIELDS + CUSTOM_FIELDS
_q = Approximation2D.param
Q_FIELDS = (
    Field("mu1", "number", "Mean of q along x1", default=_q.mu1.default, minimum=LOCATIONS[0], maximum=LOCATIONS[1]),
    Field("mu2", "number", "Mean of q along x2", default=_q.mu2.default, minimum=LOCATIONS[0], maximum=LOCATIONS[1]),
    Field("sigma1", "number", "Standard deviation of q along x1", default=_q.sigma1.default, minimum=SCALES[0],
          maximum=SCALES[1]),
    Field("sigma2", "number", "Standard deviation of q along x2", default=_q.sigma2.default, minimum=SCALES[0],
          maximum=SCALES[1]),
    Field("rho", "number", "Correlation of q (0: factorised)", default=0.0, minimum=RHOS[0], maximum=RHOS[1]),
)
DIRECTION_FIELD = Field("direction", "name", "KL direction: forward_kl = KL(p‖q), reverse_kl = KL(q‖p)",
                        default="reverse_kl", choices=g.DIRECTIONS)
FAMILY_FIELD = Field("family", "name", "Family of q: factorised (mean-field, diagonal covariance) or full",
                     default="factorised", choices=g.FAMILIES)
EVALUATE_FIELDS = TARGET_FIELDS + Q_FIELDS
OPTIMAL_FIELDS = TARGET_FIELDS + (DIRECTION_FIELD, FAMILY_FIELD)
_TARGET_NAMES = {f.name for f in TARGET_FIELDS}


def parse(fields, arguments) -> dict:
    """Query values; absent target fields stay None (so the target's form is known)."""
    values = v.parse_query(fields, arguments)
    for f in TARGET_FIELDS:
        if f.name not in arguments:
            values[f.name] = None
    return values


def target_spec(values) -> tuple:
    """``("custom", weights, means1, means2, sigmas1, sigmas2, rhos)`` or ``("preset", name, σ₁, σ₂, ρ)``."""
    custom = [f.name for f in CUSTOM_FIELDS if values.get(f.name) is not None]
    preset = [f.name for f in PRESET_FIELDS if values.get(f.name) is not None]
    if custom:
        if preset:
            raise BadRequest(f"give either preset/p_sigma1/p_sigma2/p_rho or custom components, not both (got "
                             f"{', '.join(preset + custom)})", preset[0])
        missing = [f.name for f in CUSTOM_FIELDS if values.get(f.name) is None]
        if missing:
            raise BadRequest(f"custom components need weights, means1, means2, sigmas1, sigmas2 and rhos together; "
                             f"{missing[0]} is missing", missing[0])
        sizes = [len(values[f.name]) for f in CUSTOM_FIELDS]
        odd = next((f.name for f, n in zip(CUSTOM_FIELDS, sizes) if n != sizes[0]), None)
        if odd:
            raise BadRequest(f"weights, means1, means2, sigmas1, sigmas2 and rhos must have the same length (got "
                             f"{', '.join(map(str, sizes))})", odd)
        return ("custom", *(tuple(values[f.name]) for f in CUSTOM_FIELDS))
    name = values.get("preset") or Target2D.param.preset.default
    shape = dict(zip(("p_sigma1", "p_sigma2", "p_rho"), PRESETS[name][2]))
    return ("preset", name, *(values.get(k) if values.get(k) is not None else shape[k] for k in shape))


@lru_cache(maxsize=256)
def build_mixture(spec: tuple) -> g.Mixture2D:
    """The (shared, immutable) mixture of a :func:`target_spec`."""
    if spec[0] == "custom":
        w, m1, m2, s1, s2, r = spec[1:]
        return g.Mixture2D(w, list(zip(m1, m2)), list(zip(s1, s2)), r)
    _, name, s1, s2, rho = spec
    return Target2D(preset=name, sigma1=s1, sigma2=s2, rho=rho).mixture


def evaluate_payload(mixture: g.Mixture2D, q: g.Gaussian2D) -> dict:
    both = g.evaluate(mixture, q, gradient=True)
    return {"target": mixture.to_dict(), "q": q._asdict(), "values": {d: v for d, (v, _) in both.items()},
            "gradients": {d: dict(zip(g.PARAMS, grad)) for d, (_, grad) in both.items()}}


@lru_cache(maxsize=1024)
def _evaluate_body(spec: tuple, q: g.Gaussian2D) -> bytes:
    return dumps(evaluate_payload(build_mixture(spec), q))


@lru_cache(maxsize=256)  # per worker process: optima are deterministic
def optimal_body(spec: tuple, direction: str, family: str) -> bytes:
    mixture = build_mixture(spec)
    return dumps({"target": mixture.to_dict(), **g.optimal_q(mixture, direction, family).to_dict()})


class Evaluate2DHandler(APIHandler):
    def get(self):
        values = parse(EVALUATE_FIELDS, self.request.query_arguments)
        spec = target_spec(values)
        q = g.Gaussian2D(*(values[f.name] for f in Q_FIELDS))  # the fields' bounds make it a valid q
        self.write_json(_evaluate_body(spec, q))


class Optimal2DHandler(APIHandler):
    async def get(self):
        values = parse(OPTIMAL_FIELDS, self.request.query_arguments)
        spec = target_spec(values)
        build_mixture(spec)
        self.write_json(await HEAVY.run(optimal_body, spec, values["direction"], values["family"]))


ROUTES = [(r"/api/evaluate2d", Evaluate2DHandler), (r"/api/optimal2d", Optimal2DHandler)]

TARGET_DOC = ("The target p is a preset (`preset`: correlated = Bishop's correlated Gaussian, two blobs, ring of 4; "
              "each component's `p_sigma1`, `p_sigma2`, `p_rho` default to the preset's) or custom components "
              "(`weights`, `means1`, `means2`, `sigmas1`, `sigmas2`, `rhos`: all six, equal lengths, at most "
              f"{g.MAX_COMPONENTS}), not both.")


def openapi_paths() -> dict:
    """The OpenAPI paths of the 2-D endpoints (merged into ``/api/openapi.json`` by :mod:`.openapi`)."""
    from .openapi import NUMBER, _get, array, obj
    params = obj({k: NUMBER for k in g.PARAMS})
    directions = lambda schema: obj({d: schema for d in g.DIRECTIONS})  # noqa: E731
    target = obj({"weights": array(NUMBER), "means": array(array(NUMBER)), "sigmas": array(array(NUMBER)),
                  "rhos": array(NUMBER)})
    point = obj({**{k: NUMBER for k in g.PARAMS}, "value": NUMBER})
    return {
        "/api/evaluate2d": _get(
            "Forward and reverse KL at a 2-D Gaussian q",
            "KL(p‖q) and KL(q‖p) and their gradients over (mu1, mu2, sigma1, sigma2, rho) at q = N((mu1, mu2), "
            "[[sigma1², rho·sigma1·sigma2], [rho·sigma1·sigma2, sigma2²]]); closed forms for a Gaussian p, exact "
            f"cubature (~1e-10) for a mixture. {TARGET_DOC}", EVALUATE_FIELDS,
            obj({"target": target, "q": params, "values": directions(NUMBER), "gradients": directions(params)})),
        "/api/optimal2d": _get(
            "Optimal 2-D Gaussian q of one KL direction",
            "The q in `family` minimising `direction` (Bishop, PRML §10.1.2): forward KL matches p's mean and "
            "(marginal) variances; reverse KL of a Gaussian p matches its mean and diagonal precisions "
            "(factorised) or is p (full); for a mixture every local minimum found from each component and from "
            f"p's moments, global first. Computed off the event loop. {TARGET_DOC}", OPTIMAL_FIELDS,
            obj({"target": target, "direction": {"type": "string", "enum": list(g.DIRECTIONS)},
                 "family": {"type": "string", "enum": list(g.FAMILIES)}, "global": point,
                 "local_minima": array(point)}), heavy=True),
    }
