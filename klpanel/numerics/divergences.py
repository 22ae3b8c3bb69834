"""The divergence registry: one entry per divergence, read by the UI, the API, the optimizers and the docs.

Conventions (all values in nats; p is the target mixture, q = N(mu, sigma^2)):

* ``forward_kl`` = KL(p‖q) = ∫ p log(p/q) — closed form from p's mean, variance and entropy;
* ``reverse_kl`` = KL(q‖p) = ∫ q log(q/p);
* ``jsd`` = ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2 — the divergence itself (not scipy's square root), ≤ ln 2;
* ``tv`` = ½∫|p−q| — exact from the crossing points of p and q and normal CDFs, ≤ 1;
* ``hellinger`` = squared Hellinger ½∫(√p−√q)², ≤ 1;
* ``alpha`` = [∫ αp + (1−α)q − p^α q^(1−α)] / (α(1−α)) (Amari/Minka), α → 1 forward KL, α → 0 reverse KL;
* ``renyi`` = log ∫ p^α q^(1−α) / (α−1), order α → 1 is forward KL;
* ``skew_kl`` = KL(p ‖ αp + (1−α)q), ``skew_rkl`` = KL(q ‖ (1−α)p + αq) (DistiLLM's conventions);
* ``gkd_jsd`` = β KL(p‖M) + (1−β) KL(q‖M), M = βp + (1−β)q (GKD's generalised JSD; β = ½ is ``jsd``).

Every quadrature divergence is ∫ f(log p, log q) dx on the rule of :mod:`klpanel.numerics.quadrature`; its gradient is
∫ ∂f/∂(log q) · ∂(log q)/∂θ dx for θ = μ, σ (the knots move with θ, but the integrand is continuous, so the
exact integral's derivative has no boundary terms). The α family can be +inf (α outside [0, 1] when
p^α q^(1−α) is not integrable); its gradient is then reported as 0. To add a divergence: add one entry (its
kernel integrals and finish, texts, parameters, and its Monte-Carlo form from :mod:`klpanel.numerics.mc_forms`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable

import numpy as np
from . import kernels as K
from . import mc_forms as mc
from . import quadrature as qd

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: float
    bounds: tuple[float, float]
    doc: str


@dataclass(frozen=True)
class Divergence:
    name: str
    label: str  # plain Unicode (no markup), the one name every checkbox, select, legend, readout and card shows
    latex: str
    behaviour: str
    distillation: str
    integrals: Callable = field(repr=False)  # (**params) -> [(kernel code, parameter)]
    finish: Callable = field(repr=False)  # (ctx, **params) -> array (parts, rows): value, gradient, Hessian
    params: tuple[ParamSpec, ...] = ()
    symmetric: bool = False
    upper_bound: float | None = None
    power_family: bool = False  # integrates p^α q^(1−α): finite only where that is integrable
    monte_carlo: mc.MCForm | None = field(default=None, repr=False)  # for the Monte-Carlo gradient estimators

    def defaults(self) -> dict:
        return {s.name: s.default for s in self.params}

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "latex": self.latex, "behaviour": self.behaviour,
                "distillation": self.distillation, "symmetric": self.symmetric, "upper_bound": self.upper_bound,
                "parameters": [{"name": s.name, "default": s.default, "minimum": s.bounds[0],
                                "maximum": s.bounds[1], "doc": s.doc} for s in self.params]}


class Context:
    """Rows of (mu, sigma) for one target, and the integrals the requested divergences need.

    ``need(code, c)`` registers an integral; ``run()`` computes all of them in one pass of the compiled kernel
    (log p and log q are evaluated once per node and shared); ``get(code, c)`` returns an array of ``parts``
    rows: the integral, then (order ≥ 1) ∂/∂μ, ∂/∂σ, then (order 2) ∂²/∂μ², ∂²/∂μ∂σ, ∂²/∂σ²."""

    PARTS = {0: 1, 1: 3, 2: 6}

    def __init__(self, target, mu, sigma, alphas=(), order=1):
        self.target, self.mu, self.sigma, self.alphas = target, mu, sigma, tuple(alphas)
        self.order, self.parts = order, self.PARTS[order]
        self._wanted: list[tuple[int, float]] = []
        self._results: dict = {}

    def need(self, code, c=0.0):
        if (code, float(c)) not in self._wanted:
            self._wanted.append((code, float(c)))

    def run(self):
        if self._wanted:
            out = qd.integrate(self.target, self.mu, self.sigma, self._wanted, self.alphas, self.order)
            self._results = {key: out[:, i, :self.parts].T for i, key in enumerate(self._wanted)}

    def get(self, code, c=0.0):
        return self._results[(code, float(c))]


# -- each divergence: integrals(**params) -> [(code, c)], finish(ctx, **params) -> array (ctx.parts, rows) --
def _forward_kl(ctx):
    p, mu, s = ctx.target, ctx.mu, ctx.sigma
    gap = p.mean - mu
    second = p.var + gap**2
    value = -p.entropy + np.log(s) + qd.LOG_SQRT_2PI + second / (2 * s * s)
    parts = [value, -gap / s**2, 1.0 / s - second / s**3, 1.0 / s**2, 2.0 * gap / s**3, -1.0 / s**2 + 3.0 * second / s**4]
    return np.array(parts[:ctx.parts])


def _direct(code, param=None):
    """A divergence that is exactly one integral of the kernel."""
    def integrals(**params):
        return [(code, params[param] if param else 0.0)]

    def finish(ctx, **params):
        return ctx.get(code, params[param] if param else 0.0)
    return integrals, finish


def _finite_alpha(ctx, alpha):
    lo, hi = _sigma_range(ctx.target, alpha)
    return (ctx.sigma > lo) & (ctx.sigma < hi)


def _sigma_range(target, alpha):
    """Open interval of sigma where every p_k^α q^(1−α) is integrable (its precision α/s_k² + (1−α)/σ² > 0)."""
    if 0.0 <= alpha <= 1.0:
        return 0.0, math.inf
    if alpha < 0:
        return 0.0, float(target.sigmas.min() * math.sqrt((1.0 - alpha) / -alpha))
    return float(target.sigmas.max() * math.sqrt((alpha - 1.0) / alpha)), math.inf


def finite_sigma_range(target, name, **params) -> tuple[float, float]:
    """The open interval of sigma where divergence ``name`` is finite for this target (the α family needs
    p_k^α q^(1−α) integrable for every component: σ² < (1−α)/(−α)·s_k² when α < 0, σ² > (α−1)/α·s_k²
    when α > 1); (0, inf) otherwise."""
    if not REGISTRY[name].power_family:
        return 0.0, math.inf
    return _sigma_range(target, validate_params([name], **params)[name]["alpha"])


def _with_infinities(ctx, alpha, parts):
    ok = _finite_alpha(ctx, alpha) & np.isfinite(parts[0])  # integrable, and not beyond the float range
    return np.concatenate([np.where(ok, parts[0], np.inf)[None], np.where(ok, parts[1:], 0.0)])


def _alpha_finish(ctx, alpha):
    # J has p^α q^(1−α) = 1 + c·J with c = α (base q, α < ½) or 1 − α (base p); D = −J/(1−α) or −J/α
    scale = -1.0 / (1.0 - alpha) if alpha < 0.5 else -1.0 / alpha
    return _with_infinities(ctx, alpha, scale * ctx.get(K.ALPHA_J, alpha))


def _chain(f1, f2, parts):
    """Derivatives of F(x(θ)) from F'(x) = f1, F''(x) = f2 and x's parts (value, gradient, Hessian)."""
    out = [f1 * parts[1], f1 * parts[2]] if len(parts) > 1 else []
    if len(parts) > 3:
        out += [f1 * parts[3] + f2 * parts[1] * parts[1], f1 * parts[4] + f2 * parts[1] * parts[2],
                f1 * parts[5] + f2 * parts[2] * parts[2]]
    return out


def _renyi_finish(ctx, alpha):
    J = ctx.get(K.ALPHA_J, alpha)
    log_i = ctx.get(K.LOG_POWER, alpha)
    c = alpha if alpha < 0.5 else 1.0 - alpha
    cJ = c * J[0]  # = ∫ p^α q^(1−α) − 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # near I = 1: log1p(cJ)/(α − 1), as a function of J (first and second derivative f1, f2)
        if alpha == 1.0:  # the α → 1 limit, −J = KL(p‖q)
            v1, f1, f2 = -J[0], -np.ones_like(cJ), np.zeros_like(cJ)
        else:
            v1 = np.log1p(cJ) / (alpha - 1.0)
            f1 = c / ((1.0 + cJ) * (alpha - 1.0))
            f2 = -c * c / ((1.0 + cJ) ** 2 * (alpha - 1.0))
        near = np.array([v1, *_chain(f1, f2, J)])
        # far from I = 1, the log-space sum: log I/(α − 1)
        far = log_i / (alpha - 1.0) if alpha != 1.0 else near
        parts = np.where(np.abs(cJ) <= 0.5, near, far)
    return _with_infinities(ctx, alpha, parts)


_ALPHA = "Order α of the family"
REGISTRY: dict[str, Divergence] = {d.name: d for d in [
    Divergence(
        "forward_kl", "KL(p‖q)", r"\mathrm{KL}(p\,\|\,q)=\int p(x)\log\frac{p(x)}{q(x)}\,dx",
        "Mode-covering (zero-avoiding): q must be positive wherever p is, so the optimal Gaussian matches "
        "p's mean and variance and spreads over every mode.",
        "The classic distillation loss (cross-entropy to the teacher's soft labels): the student spreads "
        "mass over every teacher mode, including low-probability ones.",
        lambda: [], _forward_kl, monte_carlo=mc.MCForm(mc.forward_kl)),
    Divergence(
        "reverse_kl", "KL(q‖p)", r"\mathrm{KL}(q\,\|\,p)=\int q(x)\log\frac{q(x)}{p(x)}\,dx",
        "Mode-seeking (zero-forcing): q is punished wherever p is near zero, so the optimum sits on one mode; "
        "every well-separated mode is a local minimum.",
        "MiniLLM's objective: the student concentrates on the teacher's dominant modes, trading diversity "
        "for precision.",
        *_direct(K.REVERSE_KL), monte_carlo=mc.MCForm(mc.reverse_kl)),
    Divergence(
        "jsd", "JSD(p‖q)",
        r"\mathrm{JSD}=\tfrac12\mathrm{KL}(p\,\|\,m)+\tfrac12\mathrm{KL}(q\,\|\,m),\quad m=\tfrac{p+q}{2}",
        "Symmetric and bounded by ln 2 ≈ 0.693. It covers modes that are close together, but when modes are "
        "far apart (default target, spread ≥ 3) its optimum sits on one mode, like reverse KL.",
        "GKD's generalised JSD at β = ½; bounded, so a student far from the teacher gets a finite loss.",
        *_direct(K.JSD), symmetric=True, upper_bound=LOG2, monte_carlo=mc.MCForm(mc.jsd)),
    Divergence(
        "tv", "TV(p, q)", r"\mathrm{TV}(p,q)=\tfrac12\int\lvert p(x)-q(x)\rvert\,dx",
        "Half the L¹ distance: symmetric and bounded by 1. Computed exactly from the crossing points of p "
        "and q; it ignores how far apart non-overlapping mass is.",
        "Among the f-divergences compared for distillation (f-distill); its gradient vanishes where teacher "
        "and student do not overlap.",
        *_direct(K.TV), symmetric=True, upper_bound=1.0, monte_carlo=mc.MCForm(mc.tv)),
    Divergence(
        "hellinger", "H²(p, q)", r"H^2(p,q)=\tfrac12\int\big(\sqrt{p(x)}-\sqrt{q(x)}\big)^2dx",
        "Squared Hellinger distance: symmetric, bounded by 1, and one quarter of the α-divergence at α = ½.",
        "A symmetric, bounded alternative to KL that treats teacher and student alike.",
        *_direct(K.HELLINGER), symmetric=True, upper_bound=1.0, monte_carlo=mc.MCForm(mc.hellinger)),
    Divergence(
        "alpha", "Dα(p‖q)",
        r"D_\alpha(p\,\|\,q)=\frac{\int \alpha p+(1-\alpha)q-p^\alpha q^{1-\alpha}\,dx}{\alpha(1-\alpha)}",
        "Amari/Minka α-divergence: α → 0 is reverse KL (mode-seeking), α = 1 forward KL (mode-covering), "
        "α = ½ four times squared Hellinger. Infinite for α outside [0, 1] when p^α q^(1−α) is not integrable.",
        "Interpolates between the reverse-KL and forward-KL distillation losses with one knob.",
        lambda alpha: [(K.ALPHA_J, alpha)], _alpha_finish, params=(ParamSpec("alpha", 0.5, (-1.0, 2.0), _ALPHA),),
        power_family=True, monte_carlo=mc.MCForm(mc.alpha_divergence)),
    Divergence(
        "renyi", "Rényi Dα(p‖q)", r"D^{R}_\alpha(p\,\|\,q)=\frac{1}{\alpha-1}\log\int p^\alpha q^{1-\alpha}\,dx",
        "Rényi divergence of order α: order 1 is forward KL; small orders seek a mode, large orders cover. "
        "Infinite for α > 1 when p^α q^(1−α) is not integrable.",
        "Used as a tunable bound in variational inference (Rényi VI); order α trades covering for seeking.",
        lambda alpha: [(K.ALPHA_J, alpha), (K.LOG_POWER, alpha)], _renyi_finish,
        params=(ParamSpec("alpha", 0.5, (0.0, 2.0), "Order α"),), power_family=True,
        monte_carlo=mc.MCForm(mc.renyi_terms, mc.renyi_outer)),
    Divergence(
        "skew_kl", "SKLα(p‖q)", r"\mathrm{SKL}_\alpha=\mathrm{KL}\big(p\,\|\,\alpha p+(1-\alpha)q\big)",
        "Skew forward KL: α = 0 is forward KL; mixing p into the second argument bounds it by −log α.",
        "DistiLLM's skew KL (α = 0.1): forward KL made stable when the student puts no mass on a teacher mode.",
        *_direct(K.SKEW_KL, "alpha"), params=(ParamSpec("alpha", 0.1, (0.0, 1.0), "Skew α (share of p in the mixture)"),),
        monte_carlo=mc.MCForm(mc.skew_kl)),
    Divergence(
        "skew_rkl", "SRKLα(q‖p)", r"\mathrm{SRKL}_\alpha=\mathrm{KL}\big(q\,\|\,(1-\alpha)p+\alpha q\big)",
        "Skew reverse KL: α = 0 is reverse KL; mixing q into the second argument bounds it by −log α.",
        "DistiLLM's skew reverse KL (α = 0.1): mode-seeking like MiniLLM but with bounded, stable gradients.",
        *_direct(K.SKEW_RKL, "alpha"), params=(ParamSpec("alpha", 0.1, (0.0, 1.0), "Skew α (share of q in the mixture)"),),
        monte_carlo=mc.MCForm(mc.skew_rkl)),
    Divergence(
        "gkd_jsd", "JSDβ(p‖q)",
        r"\mathrm{JSD}_\beta=\beta\,\mathrm{KL}(p\,\|\,M)+(1-\beta)\,\mathrm{KL}(q\,\|\,M),\quad M=\beta p+(1-\beta)q",
        "Generalised JSD: β = ½ is the JSD; it vanishes at β = 0 and β = 1 and is bounded for β in between.",
        "GKD's generalised JSD(β): β moves the loss between forward-KL-like and reverse-KL-like behaviour.",
        *_direct(K.GKD, "beta"), params=(ParamSpec("beta", 0.5, (0.0, 1.0), "Mixture weight β of p in M"),),
        monte_carlo=mc.MCForm(mc.gkd_jsd)),
]}

DEFAULT_NAMES = ("forward_kl", "reverse_kl", "jsd", "tv")


# -- public functions ------------------------------------------------------------------------------------------
def _resolve_names(names):
    if names is None:
        return list(REGISTRY)
    if isinstance(names, str):
        names = [names]
    names = list(names)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown divergence {unknown[0]!r}; choose from {', '.join(REGISTRY)}")
    return names


def validate_params(names=None, **params) -> dict:
    """Per-divergence parameters, defaults filled in: {name: {param: value}}. Raises ValueError."""
    names = _resolve_names(names)
    known = {s.name for d in REGISTRY.values() for s in d.params}
    for key, value in params.items():
        if key not in known:
            raise ValueError(f"unknown parameter {key!r}; divergence parameters are {', '.join(sorted(known))}")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, got {value!r}")
    out = {}
    for name in names:
        d = REGISTRY[name]
        chosen = {}
        for spec in d.params:
            v = params.get(spec.name)
            v = spec.default if v is None else float(v)
            lo, hi = spec.bounds
            if not lo <= v <= hi:
                raise ValueError(f"{spec.name} must be in [{lo:g}, {hi:g}] for {name}, got {v:g}")
            chosen[spec.name] = v
        out[name] = chosen
    return out


MAX_MU_OVER_SIGMA = 1e10  # beyond, the nodes mu + sigma*z are not resolved in double precision


def _rows(mu, sigma):
    mu, sigma = np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float)
    if mu.shape != sigma.shape:
        mu, sigma = np.broadcast_arrays(mu, sigma)
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError("mu and sigma must be finite numbers")
    if (sigma <= 0).any():
        raise ValueError("sigma must be > 0")
    return mu.shape, mu.ravel(), sigma.ravel()


def _unresolvable(mu, sigma):
    return np.abs(mu) > MAX_MU_OVER_SIGMA * sigma


def _plan(names, params):
    """(names, validated parameters, α values, kernel integrals) of a request; cached when its names and
    parameters are plain (the same request comes back on every animation frame and slider step)."""
    plain = (names is None or isinstance(names, (str, tuple, list))) and all(
        v is None or type(v) in (float, int) for v in params.values())
    if plain:
        key = (names if names is None or isinstance(names, str) else tuple(names),
               tuple(sorted((k, v if v is None else float(v)) for k, v in params.items())))
        try:
            return _plan_cached(*key)
        except TypeError:  # an unhashable name: let _plan_uncached say what is wrong
            pass
    return _plan_uncached(names, params)


def _plan_uncached(names, params):
    names = _resolve_names(names)
    chosen = validate_params(names, **params)
    alphas = sorted({chosen[n]["alpha"] for n in names if REGISTRY[n].power_family})
    wanted = list(dict.fromkeys((code, float(c)) for n in names for code, c in REGISTRY[n].integrals(**chosen[n])))
    return names, chosen, alphas, wanted


@functools.lru_cache(maxsize=512)
def _plan_cached(names, params):
    names, chosen, alphas, wanted = _plan_uncached(names, dict(params))
    # read-only from here: callers get the same objects on every hit
    return (tuple(names), MappingProxyType({n: MappingProxyType(c) for n, c in chosen.items()}), tuple(alphas),
            tuple(wanted))


def evaluate_grid(target, mu, sigma, names=None, gradients=False, hessian=False, **params):
    """Values (and optionally d/dmu, d/dsigma) of divergences over broadcast arrays of (mu, sigma).

    Rows with |mu| > 1e10 × sigma cannot be resolved in double precision and come out NaN (``evaluate`` and
    ``gradient`` raise ValueError for them instead).

    Returns {name: values} or, with gradients=True, {name: (values, dmu, dsigma)}, or with hessian=True
    {name: (values, dmu, dsigma, d²/dmu², d²/dmu dsigma, d²/dsigma²)}, each shaped like
    ``np.broadcast(mu, sigma)``. The quadrature rule is built once per chunk of rows and shared by every
    requested divergence.
    """
    names, chosen, alphas, wanted = _plan(names, params)
    shape, mu, sigma = _rows(mu, sigma)
    far = _unresolvable(mu, sigma)
    if far.any():  # such rows come out NaN (documented); evaluate() raises instead
        mu, sigma = np.where(far, 0.0, mu), np.where(far, 1.0, sigma)
    ctx = Context(target, mu, sigma, alphas, order=2 if hessian else int(gradients))
    for code, c in wanted:
        ctx.need(code, c)
    ctx.run()
    results = {}
    for n in names:
        with np.errstate(under="ignore"):
            results[n] = REGISTRY[n].finish(ctx, **chosen[n])
    if far.any():
        results = {n: np.where(far, np.nan, parts) for n, parts in results.items()}
    if gradients or hessian:
        return {n: tuple(a.reshape(shape) for a in results[n]) for n in names}
    return {n: results[n][0].reshape(shape) for n in names}


def _check_resolvable(q):
    if _unresolvable(np.asarray(q.mu, dtype=float), np.asarray(q.sigma, dtype=float)).any():
        raise ValueError(f"q = N({q.mu:g}, {q.sigma:g}²) is out of reach of double precision: "
                         f"|mu| must be at most {MAX_MU_OVER_SIGMA:g} × sigma")


def evaluate(target, q, names=None, **params) -> dict:
    """{name: value} at q (an Approximation or anything with .mu and .sigma), every registry entry by default."""
    _check_resolvable(q)
    grid = evaluate_grid(target, q.mu, q.sigma, names, **params)
    return {n: float(v) for n, v in grid.items()}


def value_and_gradient(target, q, name, **params):
    _check_resolvable(q)
    v, dmu, dsig = evaluate_grid(target, q.mu, q.sigma, [name], gradients=True, **params)[name]
    return float(v), {"mu": float(dmu), "sigma": float(dsig)}


def gradient(target, q, name, **params) -> dict:
    """{"mu": ∂D/∂μ, "sigma": ∂D/∂σ} at q."""
    return value_and_gradient(target, q, name, **params)[1]
