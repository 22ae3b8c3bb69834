"""Runs: the original page's preset, moment matching, batching, seeds, resets, minima, JSON."""

import json
import math

import numpy as np
import pytest

from klpanel import Target, optimal_q
from klpanel.models.optimizers import Adam, GradientDescent
from klpanel.models.runs import (ORIGINAL_PRESET, Run, minima_reached, random_restarts, random_starts, step_runs)


@pytest.fixture
def p():
    return Target()


def test_original_preset_reverse_kl_stops_on_the_middle_mode(p):
    run = Run.original(p, "reverse_kl", 0.0, 0.8).step(2000)
    assert run.converged
    assert run.mu == pytest.approx(0.0, abs=1e-3) and run.sigma == pytest.approx(0.35, abs=2e-3)
    assert run.loss == pytest.approx(1.21, abs=0.01)
    best = optimal_q(p, "reverse_kl")
    assert run.minimum_index == 1 and run.minimum != best.local_minima[0]  # a local minimum, not the global one
    assert best.mu == pytest.approx(-3.0, abs=0.01) and best.value < run.loss - 0.5
    tr = run.trajectory
    assert tr["step"][0] == 0 and tr["mu"][0] == 0.0 and tr["sigma"][0] == 0.8
    assert np.all(np.diff(tr["loss"]) <= 1e-12)  # GD with a small step never goes uphill here
    assert np.all(tr["sigma"] >= 0.15)


def test_original_preset_matches_the_documented_rule(p):
    run = Run.original(p, "reverse_kl")
    g = run.gradient
    run.step()
    expect = np.array([0.0, 0.8]) - 0.03 * np.clip(g, -1.5, 1.5)
    assert (run.mu, run.sigma) == pytest.approx((expect[0], max(expect[1], 0.15)))
    assert ORIGINAL_PRESET["optimizer"] == {"name": "gd", "lr": 0.03, "clip": 1.5}


def test_constructor_defaults_are_the_original(p):
    run = Run(target=p, divergence="reverse_kl", divergence_params={}, mu0=0.0, sigma0=0.8,
              optimizer=GradientDescent(lr=0.03, clip=1.5), estimator="exact", n_samples=64, seed=0,
              sigma_floor=0.15, tol=1e-4)
    default = Run(target=p)
    assert run.step(50).trajectory["mu"].tolist() == default.step(50).trajectory["mu"].tolist()


def test_forward_kl_converges_to_moment_matching(p):
    run = Run.original(p, "forward_kl").step(5000)
    assert run.converged
    assert run.mu == pytest.approx(p.mean, abs=1e-3) and run.sigma == pytest.approx(math.sqrt(p.var), abs=1e-3)
    assert run.minimum_index == 0


def test_batched_stepping_equals_one_by_one(p):
    opt = GradientDescent(lr=0.03, clip=1.5)
    names = ["forward_kl", "reverse_kl", "jsd", "alpha", "skew_kl"]
    batch = [Run(target=p, divergence=n, optimizer=opt, mu0=0.3 * i) for i, n in enumerate(names)]
    step_runs(batch, 40)
    for i, n in enumerate(names):
        alone = Run(target=p, divergence=n, mu0=0.3 * i).step(40)
        for key in ("mu", "sigma", "loss"):
            np.testing.assert_allclose(batch[i].trajectory[key], alone.trajectory[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("estimator", ["reparameterization", "score_function"])
def test_seeds_reproduce_and_differ(p, estimator):
    def run(seed):
        return Run(target=p, estimator=estimator, seed=seed, n_samples=16).step(30).trajectory["mu"]
    np.testing.assert_array_equal(run(4), run(4))
    assert not np.array_equal(run(4), run(5))
    r = Run(target=p, estimator=estimator, seed=4, n_samples=16).step(30)
    first = r.trajectory["mu"]
    np.testing.assert_array_equal(r.reset().step(30).trajectory["mu"], first)


def test_mc_runs_drift_to_the_same_minimum(p):
    run = Run(target=p, estimator="reparameterization", n_samples=64, seed=1).step(400)
    assert run.mu == pytest.approx(0.0, abs=0.1) and run.sigma == pytest.approx(0.35, abs=0.1)


def test_changes_reset_the_run(p):
    run = Run(target=p).step(10)
    run.mu0 = 1.0
    assert run.n_steps == 0 and run.mu == 1.0 and run.trajectory["step"].tolist() == [0]
    run.step(5)
    p.spread = 4.0  # the target moves: the run restarts on next use, like the original page
    assert run.trajectory["step"].tolist() == [0] and run.n_steps == 0


def test_sigma_floor_and_projected_gradient():
    p = Target(weights=[1.0], means=[0.0], sigmas=[0.05])
    # lr below 2 / curvature in mu (1 / 0.05² = 400): plain GD is stable there (lr 0.03 would oscillate)
    run = Run(target=p, mu0=0.2, sigma0=0.5, optimizer=GradientDescent(lr=0.003, clip=1.5)).step(4000)
    assert run.sigma == pytest.approx(0.15) and run.converged  # pinned on the floor, mu at its optimum


def test_infinite_loss_stops_with_a_message(p):
    run = Run(target=p, divergence="alpha", divergence_params={"alpha": -0.5}, mu0=0.0, sigma0=3.0)
    assert run.status == "stopped" and "not finite" in run.message
    assert run.step(10).n_steps == 0


def test_bad_settings_raise_clear_errors(p):
    with pytest.raises(ValueError, match="alpha must be in"):
        Run(target=p, divergence="alpha", divergence_params={"alpha": 9})
    with pytest.raises(ValueError):
        Run(target=p, divergence="nope")
    with pytest.raises(ValueError):
        Run(target=p, sigma0=-1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        Run(target=p, optimizer="sgd")


def test_random_restarts_find_several_minima(p):
    runs = random_restarts(8, p, "reverse_kl", seed=0, optimizer=Adam(lr=0.1))
    step_runs(runs, 3000)
    reached = minima_reached(runs)
    assert sum(reached.values()) == 8
    assert len([k for k in reached if k is not None]) >= 2
    mu, sigma = random_starts(8, seed=0)
    assert [r.mu0 for r in runs] == mu.tolist() and np.all((sigma >= 0.15) & (sigma <= 3.0))


def test_to_dict_is_json(p):
    d = Run.original(p, "reverse_kl").step(100).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["converged"] is True
    assert d["minimum"]["index"] == 1 and d["minimum"]["is_global"] is False
    assert len(d["trajectory"]["mu"]) == d["final"]["step"] + 1
    assert d["optimizer"] == {"name": "gd", "lr": 0.03, "clip": 1.5, "parameterization": "sigma"}


def test_a_runs_frame_is_its_state_at_that_entry():
    run = Run.original(Target(), "reverse_kl")
    run.step(500)
    assert run.converged
    now = run.frame()
    assert (now.mu, now.sigma, now.loss, now.n_steps, now.status) == (run.mu, run.sigma, run.loss, run.n_steps,
                                                                      "converged")
    assert now.minimum_index == run.minimum_index and now.trajectory_length == run.trajectory_length
    tr = run.trajectory
    k = 7
    past = run.frame(k + 1)  # after step k
    assert (past.n_steps, past.mu, past.sigma, past.loss, past.grad_norm) == (
        k, tr["mu"][k], tr["sigma"][k], tr["loss"][k], tr["grad_norm"][k])
    assert past.status == "running" and past.active and not past.converged and past.minimum_index is None
    mus, = past.trajectory_since(3, ("mu",))
    assert mus == tr["mu"][3:k + 1].tolist()
    assert past.trajectory_since(0)["step"] == list(range(k + 1))
    for bad in (0, run.trajectory_length + 1):
        with pytest.raises(ValueError, match="trajectory entries"):
            run.frame(bad)
