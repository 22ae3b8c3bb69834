"""Optimizers: the update rules, clipping, the log-sigma parameterisation, and convergence on simple targets."""

import numpy as np
import pytest

from klpanel import Target
from klpanel.models.optimizers import OPTIMIZERS, Adam, GradientDescent, Momentum, make_optimizer, optimizer_name
from klpanel.models.runs import Run


def test_gradient_descent_clips_each_component():
    gd = GradientDescent(lr=0.1, clip=1.5)
    theta = np.array([[0.0, 1.0]])
    new = gd.update(theta, np.array([[3.0, -0.5]]), gd.init_state(1), np.array([1]))
    np.testing.assert_allclose(new, [[-0.15, 1.05]])


def test_momentum_accumulates_velocity():
    opt = Momentum(lr=0.1, beta=0.5)
    state = opt.init_state(1)
    theta = np.zeros((1, 2))
    theta = opt.update(theta, np.ones((1, 2)), state, np.array([1]))
    theta = opt.update(theta, np.ones((1, 2)), state, np.array([2]))
    np.testing.assert_allclose(theta, [[-0.25, -0.25]])  # 0.1 * (1 + 1.5)


def test_adam_first_step_has_length_lr():
    opt = Adam(lr=0.05)
    new = opt.update(np.zeros((2, 2)), np.array([[3.0, -1e-3], [1.0, 100.0]]), opt.init_state(2), np.array([1, 1]))
    np.testing.assert_allclose(np.abs(new), 0.05, rtol=1e-4)


def test_make_optimizer_from_names_and_dicts():
    assert isinstance(make_optimizer("adam"), Adam)
    opt = make_optimizer({"name": "momentum", "lr": 0.1, "beta": 0.8})
    assert (opt.lr, opt.beta, optimizer_name(opt)) == (0.1, 0.8, "momentum")
    for bad, msg in [("sgd", "unknown optimizer"), ({"name": "gd", "beta1": 0.9}, "unknown gd option"),
                     ({"name": "gd", "lr": -1}, "invalid gd option"), (3, "optimizer must be")]:
        with pytest.raises(ValueError, match=msg):
            make_optimizer(bad)
    assert set(OPTIMIZERS) == {"gd", "momentum", "adam"}


SINGLE = dict(weights=[1.0], means=[1.0], sigmas=[0.7])


@pytest.mark.parametrize("optimizer", [GradientDescent(lr=0.05), Momentum(lr=0.02, beta=0.8), Adam(lr=0.05),
                                       Adam(lr=0.05, parameterization="log_sigma"),
                                       GradientDescent(lr=0.05, parameterization="log_sigma")],
                         ids=["gd", "momentum", "adam", "adam-logsigma", "gd-logsigma"])
@pytest.mark.parametrize("divergence", ["reverse_kl", "forward_kl", "hellinger"])
def test_optimizers_converge_on_a_single_gaussian(optimizer, divergence):
    run = Run(target=Target(**SINGLE), divergence=divergence, mu0=-1.0, sigma0=2.0, optimizer=optimizer,
              tol=1e-5).step(20_000)
    assert run.converged, run
    assert run.mu == pytest.approx(1.0, abs=1e-3) and run.sigma == pytest.approx(0.7, abs=1e-3)
    assert run.loss == pytest.approx(0.0, abs=1e-6)


def test_log_sigma_steps_are_multiplicative():
    p = Target(**SINGLE)
    a = Run(target=p, mu0=1.0, sigma0=2.0, optimizer=GradientDescent(lr=0.01, parameterization="log_sigma"),
            sigma_floor=None)
    g = a.gradient[1]
    a.step()
    assert a.sigma == pytest.approx(2.0 * np.exp(-0.01 * 2.0 * g))
