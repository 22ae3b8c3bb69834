"""Batched evaluation and stepping of optimisation runs (:class:`klpanel.models.runs.Run`): runs that share target,
estimator, optimizer object, σ floor and sample count (``Run.batch_key``) are evaluated with one
``divergences.evaluate_grid`` call per step, whatever their divergences; each run's new state goes back through
``Run.record``."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..numerics import divergences
from .estimators import ESTIMATORS


def _groups(runs):
    """Partition runs into groups stepped together: same target object, estimator, optimizer object, sigma
    floor and sample count, and divergence parameters that agree (one ``evaluate_grid`` call per group
    serves every divergence in it: the quadrature rule is built once for all rows)."""
    groups = defaultdict(list)  # base key -> list of (merged params, runs)
    for run in runs:
        base = run.batch_key
        for merged, members in groups[base]:
            if all(merged.get(k, v) == v for k, v in run.resolved_params.items()):
                merged.update(run.resolved_params)
                members.append(run)
                break
        else:
            groups[base].append((dict(run.resolved_params), [run]))
    return [members for parts in groups.values() for _, members in parts]


def _evaluate(group, mu, sigma):
    """Loss (n,), exact gradient (n, 2) and the gradient to follow (n, 2) at rows (mu, sigma) of a group."""
    r0 = group[0]
    names = list(dict.fromkeys(r.divergence for r in group))
    merged = {k: v for r in group for k, v in r.resolved_params.items()}
    out = divergences.evaluate_grid(r0.target, mu, sigma, names=names, gradients=True, **merged)
    which = np.array([names.index(r.divergence) for r in group])
    rows = np.arange(len(group))
    stacked = np.array([np.broadcast_to(np.asarray(out[n], dtype=float), (3, len(group))) for n in names])
    value = stacked[which, 0, rows]
    exact = np.stack([stacked[which, 1, rows], stacked[which, 2, rows]], axis=-1)
    estimator = ESTIMATORS[r0.estimator]
    if not estimator.stochastic:
        return value, exact, exact
    # every run's estimate in one batch (its own generator: the same draws as one call per divergence)
    follow = estimator.batch_gradient(r0.target, [(r.divergence, r.resolved_params) for r in group], mu, sigma,
                                      [r.rng for r in group], r0.n_samples, exact)
    return value, exact, follow


def _projected_norm(exact, sigma, floor, held=False):
    """The exact gradient's norm on the feasible set: σ on its floor pushed lower, or σ held (the fixed-σ
    family), counts through μ only."""
    g = exact.copy()
    pinned = (sigma <= floor * (1 + 1e-12)) & (g[:, 1] > 0)
    g[pinned | held, 1] = 0.0
    return np.sqrt(np.sum(g * g, axis=1))


def evaluate_runs(runs):
    """Evaluate loss and gradients at every run's current q and record it (used by ``reset``)."""
    for group in _groups(runs):
        theta = np.array([r.theta for r in group])
        value, exact, follow = _evaluate(group, theta[:, 0], theta[:, 1])
        norms = _projected_norm(exact, theta[:, 1], group[0].floor, group[0].sigma_fixed is not None)
        for i, r in enumerate(group):
            r.record(theta[i], r.n_steps, value[i], norms[i], follow[i])


def step_runs(runs, n: int = 1):
    """Advance many runs by up to ``n`` steps each, vectorised: runs sharing target, estimator and optimizer
    object (any divergences) are stepped together with one ``evaluate_grid`` call per step."""
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    for r in runs:
        r.follow_target()
    for group in _groups([r for r in runs if r.active]):
        _step_group(group, n)
    return runs


def _step_group(group, n):
    opt = group[0].optimizer
    floor = group[0].floor
    held = group[0].sigma_fixed  # the fixed-σ family (the same for the whole group: it is in the batch key)
    log_sigma = opt.parameterization == "log_sigma"
    state = {k: np.array([r.optimizer_state[k] for r in group]) for k in opt.state_names}
    theta = np.array([r.theta for r in group])
    grad = np.array([r.gradient for r in group])
    steps = np.array([r.n_steps for r in group])
    live = np.ones(len(group), dtype=bool)
    for _ in range(n):
        idx = np.nonzero(live)[0]
        if idx.size == 0:
            break
        th, g = theta[idx].copy(), grad[idx].copy()
        if held is not None:
            g[:, 1] = 0.0  # only μ moves (the optimizer's σ state stays at rest)
        if log_sigma:
            g[:, 1] *= th[:, 1]  # dD/dlog sigma = sigma dD/dsigma
            th[:, 1] = np.log(th[:, 1])
        sub = {k: v[idx] for k, v in state.items()}
        new = opt.update(th, g, sub, steps[idx] + 1)
        for k in state:
            state[k][idx] = sub[k]
        if log_sigma:
            new[:, 1] = np.exp(new[:, 1])
        new[:, 1] = np.maximum(new[:, 1], floor)
        new[:, 1] = np.where(np.isfinite(new[:, 1]) & (new[:, 1] > 0), new[:, 1], max(floor, 1e-6))
        if held is not None:
            new[:, 1] = held  # exactly σ₀, whatever the parameterisation's round trip gave
        theta[idx] = new
        steps[idx] += 1
        members = [group[i] for i in idx]
        value, exact, follow = _evaluate(members, new[:, 0], new[:, 1])
        norms = _projected_norm(exact, new[:, 1], floor, held is not None)
        grad[idx] = follow
        for j, i in enumerate(idx):
            r = group[i]
            r.record(theta[i], steps[i], value[j], norms[j], follow[j])
            if not r.active:
                live[i] = False
    for i, r in enumerate(group):
        r.optimizer_state = {k: state[k][i].copy() for k in state}
