"""What the spectrum tabs share: a computed curve as text, an empty curve, and q's density at an optimum."""

from __future__ import annotations

import math

import numpy as np

from ...models import spectrum as sp
from ...models.explorer import format_value
from ..plotting import as_column

GAUSS_Z = np.linspace(-5, 5, 121)
NOTE_STYLE = {"font-size": "0.9em", "opacity": "0.85"}


def gauss_curve(mu: float, sigma: float) -> dict:
    x = mu + sigma * GAUSS_Z
    return {"x": as_column(x), "y": as_column(np.exp(-0.5 * GAUSS_Z**2) / (sigma * math.sqrt(2 * math.pi)))}


def empty_curve() -> sp.Curve:
    """A curve with no points: what a plot shows before its curve is computed."""
    none = np.empty(0)
    return sp.Curve(t=none, mu=none, sigma=none, value=none, jump=np.zeros(0, dtype=bool), minima=())


def optimum_text(curve, i, label, name_of_t, pending="*computing…*") -> str:
    """``α = 0.50: optimal q = N(−3.000, 0.350²), D = 1.061; 4 local minima.``"""
    if curve is None:
        return pending
    head = f"{name_of_t} = {curve.t[i]:.2f}"
    if not math.isfinite(curve.mu[i]):
        return f"{head}: no optimum ({label} has no finite minimum found here, or is 0 for every q)."
    n = len(curve.minima[i])
    return (f"{head}: optimal q = N({curve.mu[i]:.3f}, {curve.sigma[i]:.3f}²), {label} = "
            f"{format_value(curve.value[i])}; {n} local minim{'um' if n == 1 else 'a'}.")


def jumps_text(curve, name_of_t) -> str:
    if curve is None or not curve.jump.any():
        return "The global optimum moves continuously over this range."
    where = ", ".join(f"{t:.2f}" for t in curve.jumps_at)
    return f"The global optimum jumps between modes at {name_of_t} ≈ {where} (the curve breaks there)."
