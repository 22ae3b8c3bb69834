"""The explorer's state: one target p, one q, the chosen divergences, and what follows from them.

``Explorer`` is a pure ``param`` model (no Panel): views read it, tests drive it. Every derived
quantity is computed once per change, through the library:

- target change   -> grid ``x``, ``p_density``, optima of the selected divergences, readouts;
- divergence or α/β change -> optima and readouts of the affected divergences;
- q change        -> ``q_density`` and readouts only.

Optima are cached by (target, divergence, its parameters), so flipping between presets or
re-selecting a divergence costs nothing the second time.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
import unicodedata

import numpy as np
import param

from ..numerics import divergences
from .approximation import Approximation, FiniteNumber
from .family import FAMILIES, FIXED, FREE, family_optimum
from .target import Target

GRID_POINTS = 501
GRID_HALF_WIDTH = 8.0  # the plots always show at least [-8, 8]; the Explore μ slider spans [-5, 5]

PRESETS = {
    "Original (3 modes)": {"n_modes": 3, "spread": 3.0, "decay": 0.55},
    "Two far modes": {"weights": [0.5, 0.5], "means": [-4.0, 4.0], "sigmas": [0.5, 0.5]},
    "Heavy tail": {"weights": [0.75, 0.25], "means": [-1.0, 1.5], "sigmas": [0.4, 2.5]},
    "Unequal widths": {"weights": [0.5, 0.5], "means": [-2.0, 2.0], "sigmas": [0.3, 1.2]},
}


# -- formatting shared by readouts and exports -------------------------------------------------
def format_value(value) -> str:
    """A readout: 3 decimals; 1 decimal from 1000 on (``1111.8``, never clipped); ``∞`` for
    infinite values; an em dash for a missing one (never ``NaN`` on screen)."""
    if value is None:
        return "—"
    value = float(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if abs(value) < 5e-4:  # rounding noise such as -1e-17 reads 0.000, not -0.000
        value = 0.0
    if abs(value) >= 1e7:
        return f"{value:.4e}"
    if abs(value) >= 1000:
        return f"{value:.1f}"
    return f"{value:.3f}"


def format_numbers(values) -> str:
    """``[0.5, -4.0]`` -> ``"0.5, -4"`` (the edit panel's and the URL's text form)."""
    return ", ".join(f"{float(v):.6g}" for v in values)


def parse_numbers(text: str, name: str) -> list[float]:
    """``"0.5, 0.5"`` -> ``[0.5, 0.5]``; ``ValueError`` with a clear message otherwise."""
    parts = [t for t in str(text).replace(";", ",").replace(" ", ",").split(",") if t.strip()]
    if not parts:
        raise ValueError(f"{name}: enter a comma-separated list of numbers")
    try:
        return [float(t) for t in parts]
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a comma-separated list of numbers") from None


def normal_pdf(x, mu: float, sigma: float):
    """N(x; μ, σ²) — what ``Approximation(mu, sigma).pdf(x)`` gives, without building a
    Parameterized per optimum (that costs ~0.7 ms each, a noticeable share of a target change)."""
    z = (np.asarray(x, dtype=float) - mu) / sigma
    return np.exp(-0.5 * z * z) / (sigma * np.sqrt(2.0 * np.pi))


def _finite_or_none(value):
    return None if value is None or not math.isfinite(value) else float(value)


# -- divergence parameters (α, β, ...) as one Parameterized built from the registry -------------
# Each divergence keeps its own values (the registry's skew KL α defaults to 0.1, the α-divergence's to
# 0.5), so an option is named "<divergence>_<parameter>", e.g. ``renyi_alpha``.
def _greek(name: str) -> str:
    try:
        return unicodedata.lookup(f"GREEK SMALL LETTER {name.upper()}")
    except KeyError:
        return name


OPTION_SPECS = {f"{d.name}_{spec.name}": (d.name, spec)
                for d in divergences.REGISTRY.values() for spec in d.params}

DivergenceOptions = param.parameterized_class("DivergenceOptions", {
    option: param.Number(default=float(spec.default), bounds=tuple(spec.bounds),
                         label=f"{_greek(spec.name)} of {divergences.REGISTRY[name].label}", doc=spec.doc)
    for option, (name, spec) in OPTION_SPECS.items()
})
DivergenceOptions.__doc__ = "Each registry divergence's parameters (α, β, ...), one param per (divergence, parameter)."


_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="klpanel-optima")


class Explorer(param.Parameterized):
    """The app's state: target p, approximation q, the divergences on show and their optima.

    Inputs: ``target`` (a :class:`~klpanel.Target`), ``q`` (an :class:`~klpanel.Approximation`),
    ``selected`` (registry names), ``options`` (α, β, ... of the registry), the edit-panel texts.
    Outputs (read-only for views): ``x``, ``p_density``, ``q_density``, ``values`` (divergence at q
    for each selected name), ``optima`` (``optimal_q`` result per selected name), ``optimal_densities``
    (density of each global optimum on ``x``), ``problems`` (name -> message when no optimum).
    """

    target = param.ClassSelector(class_=Target, constant=True, doc="The target mixture p")
    q = param.ClassSelector(class_=Approximation, constant=True, doc="The Gaussian q the user moves")
    selected = param.ListSelector(default=list(divergences.DEFAULT_NAMES),
                                  objects=list(divergences.REGISTRY), label="Divergences",
                                  doc="Registry divergences on show (overlaid, carded, read out)")
    options = param.ClassSelector(class_=DivergenceOptions, constant=True,
                                  doc="The divergences' parameters (α, β, ...)")
    family = param.Selector(default=FREE, objects=list(FAMILIES), label="Family of q",
                            doc="'free': q = N(μ, σ²) over both; 'fixed σ': q = N(μ, σ₀²), optima and runs over μ alone")
    sigma_fixed = FiniteNumber(default=0.8, bounds=(1e-4, 1e6), softbounds=(0.15, 3.0), step=0.01, label="σ₀",
                               doc="The fixed family's σ (q.sigma is held there while the family is fixed)")

    weights_text = param.String(default="", label="Weights", doc="Comma-separated component weights")
    means_text = param.String(default="", label="Means", doc="Comma-separated component means")
    sigmas_text = param.String(default="", label="σ", doc="Comma-separated component standard deviations")
    components_message = param.String(default="", doc="Why the last edited components were refused")
    custom = param.String(default="", doc="Custom components as 'w1,w2|m1,m2|s1,s2' ('' = generator); "
                                          "the URL form of the target")

    x = param.Array(doc="The plotting grid (covers p and the Explore slider's range)")
    p_density = param.Array(doc="p(x) on the grid")
    q_density = param.Array(doc="q(x) on the grid")
    values = param.Dict(default={}, doc="divergence(p, q) for each selected name")
    optima = param.Dict(default={}, doc="optimal_q(p, name) result for each selected name (in the fixed-σ family: "
                                        "optimal_mu(p, name, σ₀))")
    optimal_densities = param.Dict(default={}, doc="Density of each selected divergence's global optimum on x")
    problems = param.Dict(default={}, doc="name -> message for divergences without a finite optimum here")

    def __init__(self, **params):
        params.setdefault("target", Target())
        params.setdefault("q", Approximation())
        params.setdefault("options", DivergenceOptions())
        super().__init__(**params)
        if self.fixed_sigma is not None:
            self.q.sigma = self.fixed_sigma
        self._optima_family = self.fixed_sigma  # the σ₀ (None: free) the optima on show belong to
        self._sync_texts()
        self._refresh_target()
        self.target.param.watch(self._on_target, ["weights"])
        self.q.param.watch(self._on_q, ["mu", "sigma"])
        if OPTION_SPECS:
            self.options.param.watch(self._on_options, list(OPTION_SPECS))

    # -- inputs ---------------------------------------------------------------------------------
    def divergence_params(self, name: str) -> dict:
        """The α/β/... values divergence ``name`` uses, e.g. ``{"alpha": 0.5}`` (``{}`` for plain KL)."""
        return {spec.name: getattr(self.options, option)
                for option, (owner, spec) in OPTION_SPECS.items() if owner == name}

    def options_of(self, name: str) -> list[str]:
        """The option names (params of ``options``) of divergence ``name``."""
        return [option for option, (owner, _) in OPTION_SPECS.items() if owner == name]

    def apply_components(self) -> bool:
        """Set the target from the edit-panel texts. On bad input: message, target unchanged."""
        try:
            w = parse_numbers(self.weights_text, "weights")
            m = parse_numbers(self.means_text, "means")
            s = parse_numbers(self.sigmas_text, "σ")
            self.target.set_components(w, m, s)
        except ValueError as exc:
            self.components_message = str(exc)
            return False
        self.components_message = ""
        return True

    def apply_preset(self, name: str) -> None:
        """Switch to one of :data:`PRESETS`."""
        preset = PRESETS[name]
        if "weights" in preset:
            self.target.set_components(preset["weights"], preset["means"], preset["sigmas"])
        else:
            self.target.param.update(**preset)
            if self.target.mode != "generator":  # same generator values as before: regenerate anyway
                self.target.param.trigger("n_modes")

    # -- outputs ----------------------------------------------------------------------------------
    @property
    def fixed_sigma(self):
        """σ₀ when the family is fixed, else None (the free family)."""
        return self.sigma_fixed if self.family == FIXED else None

    def readouts(self) -> dict:
        """name -> display string of the divergence at q (``∞`` for infinite values)."""
        return {name: format_value(v) for name, v in self.values.items()}

    def snapshot(self) -> dict:
        """Everything on screen as plain JSON-able data (infinite values become ``null`` with
        ``"infinite": true``)."""
        rows = []
        for name in self.selected:
            d = divergences.REGISTRY[name]
            value = self.values.get(name)
            best = self.optima.get(name)
            rows.append({
                "name": name, "label": d.label,
                "params": self.divergence_params(name),
                "value": _finite_or_none(value),
                "infinite": value is not None and math.isinf(value),
                "display": format_value(value),
                "optimum": None if best is None else {
                    "mu": best.mu, "sigma": best.sigma, "value": _finite_or_none(best.value),
                    "local_minima": [{"mu": m.mu, "sigma": m.sigma, "value": _finite_or_none(m.value)}
                                     for m in best.local_minima]},
                "problem": self.problems.get(name),
            })
        return {"target": self.target.to_dict(), "q": {"mu": self.q.mu, "sigma": self.q.sigma},
                "family": {"name": self.family, "sigma": self.fixed_sigma}, "divergences": rows}

    def to_json(self) -> str:
        return json.dumps(self.snapshot(), indent=2, ensure_ascii=False, allow_nan=False)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["divergence", "label", "params", "q_mu", "q_sigma", "value_at_q",
                         "optimal_mu", "optimal_sigma", "optimal_value", "local_minima"])
        for row in self.snapshot()["divergences"]:
            best = row["optimum"] or {}
            value = "inf" if row["infinite"] else row["value"]
            minima = ";".join(f"({m['mu']:.6g} {m['sigma']:.6g} {m['value']})" for m in best.get("local_minima", []))
            writer.writerow([row["name"], row["label"], json.dumps(row["params"]), self.q.mu, self.q.sigma,
                             value, best.get("mu", ""), best.get("sigma", ""), best.get("value", ""), minima])
        return out.getvalue()

    # -- reactions ----------------------------------------------------------------------------
    def _on_target(self, *events):
        self._refresh_target()  # the optima first: the component editor's texts can follow
        self._sync_texts()

    def _on_q(self, *events):
        if self.fixed_sigma is not None and self.q.sigma != self.fixed_sigma:
            self.q.sigma = self.fixed_sigma  # held in the fixed family (this watcher runs again with it)
            return
        self.param.update(q_density=self.q.pdf(self.x), values=self._values(self.selected))

    def _on_options(self, *events):
        changed = {OPTION_SPECS[e.name][0] for e in events}
        names = [n for n in self.selected if n in changed]
        if names:
            self._refresh_divergences(names)

    @param.depends("family", "sigma_fixed", watch=True)
    def _on_family(self):
        if self.fixed_sigma is not None and self.q.sigma != self.fixed_sigma:
            self.q.sigma = self.fixed_sigma
        if self.fixed_sigma != self._optima_family:  # (σ₀ moved while the family is free: nothing to do)
            self._optima_family = self.fixed_sigma
            self._refresh_divergences(list(self.selected))

    @param.depends("selected", watch=True)
    def _on_selected(self):
        self._refresh_divergences([n for n in self.selected if n not in self.optima])

    @param.depends("custom", watch=True)
    def _on_custom(self):
        if not self.custom or self.custom == self._custom_text():
            return
        parts = self.custom.split("|")
        if len(parts) != 3:
            self.components_message = "components in the URL must look like 'w1,w2|m1,m2|s1,s2'"
            return
        self.param.update(weights_text=parts[0], means_text=parts[1], sigmas_text=parts[2])
        self.apply_components()

    # -- computations (each runs once per change) ---------------------------------------------------
    def _custom_text(self) -> str:
        if self.target.mode != "custom":
            return ""
        return "|".join(format_numbers(a) for a in (self.target.weights, self.target.means, self.target.sigmas))

    def _sync_texts(self):
        t = self.target
        self.param.update(weights_text=format_numbers(t.weights), means_text=format_numbers(t.means),
                          sigmas_text=format_numbers(t.sigmas), custom=self._custom_text(),
                          components_message="")

    def _grid(self):
        t = self.target
        lo = min(-GRID_HALF_WIDTH, float(np.min(t.means - 4 * t.sigmas)))
        hi = max(GRID_HALF_WIDTH, float(np.max(t.means + 4 * t.sigmas)))
        return np.linspace(lo, hi, GRID_POINTS)

    def values_at(self, target: Target) -> dict:
        """The selected divergences at q for ``target`` in place of p, the state unchanged (a drag's preview of p)."""
        return self._values(self.selected, target)

    def _values(self, names, target: Target | None = None) -> dict:
        """Divergences at q: one library call per distinct parameter set (one call for the default four)."""
        groups: dict = {}
        for name in names:
            groups.setdefault(tuple(sorted(self.divergence_params(name).items())), []).append(name)
        values = {}
        for params, group in groups.items():
            values.update(divergences.evaluate(self.target if target is None else target, self.q, group, **dict(params)))
        return {name: values[name] for name in names}

    def _optima(self, names, x):
        """Optima of ``names``, computed side by side on the machine's cores (the quadrature kernels
        release the GIL), each once per (target, divergence, parameters) thanks to the cache."""
        optima, densities, problems = {}, {}, {}
        jobs = {name: _POOL.submit(family_optimum, self.target, name, self.divergence_params(name), self.fixed_sigma)
                for name in names}
        for name, job in jobs.items():
            try:
                best = job.result()
            except (ValueError, ArithmeticError, RuntimeError) as exc:
                problems[name] = f"{divergences.REGISTRY[name].label}: no optimum here ({exc})"
                continue
            if not (math.isfinite(best.value) and best.sigma > 0):
                problems[name] = f"{divergences.REGISTRY[name].label} is infinite for every q here"
                continue
            optima[name] = best
            densities[name] = normal_pdf(x, best.mu, best.sigma)
        return optima, densities, problems

    def _refresh_target(self):
        x = self._grid()
        optima, densities, problems = self._optima(self.selected, x)
        self.param.update(x=x, p_density=self.target.pdf(x), q_density=self.q.pdf(x),
                          values=self._values(self.selected), optima=optima,
                          optimal_densities=densities, problems=problems)

    def _refresh_divergences(self, names):
        optima, densities, problems = self._optima(names, self.x)
        keep = [n for n in self.selected if n not in names]
        self.param.update(
            values=self._values(self.selected),
            optima={n: (optima[n] if n in names else self.optima[n]) for n in self.selected
                    if n in optima or (n in keep and n in self.optima)},
            optimal_densities={n: (densities[n] if n in names else self.optimal_densities[n])
                               for n in self.selected
                               if n in densities or (n in keep and n in self.optimal_densities)},
            problems={**{n: m for n, m in self.problems.items() if n in keep}, **problems})


__all__ = ["Explorer", "DivergenceOptions", "OPTION_SPECS", "PRESETS", "format_value", "parse_numbers"]
