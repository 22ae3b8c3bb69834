"""The explorer's state model, without Panel: inputs change exactly the outputs they should."""

import json
import math

import numpy as np
import pytest

from klpanel import Approximation, Target, divergences, optimal_q
from klpanel.models.explorer import OPTION_SPECS, PRESETS, Explorer, format_value, parse_numbers


@pytest.fixture
def explorer():
    return Explorer()


def test_defaults_read_like_the_original(explorer):
    assert explorer.selected == list(divergences.DEFAULT_NAMES)
    assert explorer.readouts() == {"forward_kl": "4.377", "reverse_kl": "2.025", "jsd": "0.377", "tv": "0.691"}
    assert set(explorer.optima) == set(divergences.DEFAULT_NAMES)
    assert explorer.optima["reverse_kl"].mu == pytest.approx(-3.0, abs=1e-3)
    assert len(explorer.optima["reverse_kl"].local_minima) >= 3


def test_moving_q_updates_readouts_and_density_only(explorer):
    optima, p_density = explorer.optima, explorer.p_density
    explorer.q.param.update(mu=-3.0, sigma=0.35)
    expected = divergences.evaluate(explorer.target, Approximation(mu=-3.0, sigma=0.35), explorer.selected)
    assert explorer.values == pytest.approx(expected)
    np.testing.assert_allclose(explorer.q_density, Approximation(mu=-3.0, sigma=0.35).pdf(explorer.x))
    assert explorer.optima is optima and explorer.p_density is p_density  # nothing recomputed


def test_target_change_recomputes_density_optima_and_values(explorer):
    before = dict(explorer.values)
    explorer.target.n_modes = 5
    np.testing.assert_allclose(explorer.p_density, explorer.target.pdf(explorer.x))
    assert explorer.optima["forward_kl"].mu == pytest.approx(explorer.target.mean)
    assert explorer.optima["reverse_kl"].mu == pytest.approx(optimal_q(explorer.target, "reverse_kl").mu)
    assert explorer.values != before
    np.testing.assert_allclose(explorer.optimal_densities["tv"],
                               Approximation(mu=explorer.optima["tv"].mu,
                                             sigma=explorer.optima["tv"].sigma).pdf(explorer.x))


def test_selection_and_options_drive_optima_and_values(explorer):
    explorer.selected = ["forward_kl", "alpha", "skew_kl"]
    assert set(explorer.values) == set(explorer.optima) == {"forward_kl", "alpha", "skew_kl"}
    half = explorer.values["alpha"]
    skew = explorer.values["skew_kl"]
    explorer.options.alpha_alpha = 0.9
    assert explorer.values["alpha"] != half
    assert explorer.values["skew_kl"] == skew  # each divergence keeps its own α
    assert explorer.values["alpha"] == pytest.approx(
        divergences.evaluate(explorer.target, explorer.q, ["alpha"], alpha=0.9)["alpha"])


PARAMETERS = [(d.name, spec) for d in divergences.REGISTRY.values() for spec in d.params]


@pytest.mark.parametrize("name,spec", PARAMETERS, ids=[f"{n}-{s.name}" for n, s in PARAMETERS])
def test_every_registry_parameter_moves_its_divergence(explorer, name, spec):
    """Each divergence's α/β is a setting with the registry's range and default, and moving it moves that
    divergence's readout and optimum to the library's values at the new setting."""
    explorer.selected = [name]
    option = next(o for o, (owner, s) in OPTION_SPECS.items() if owner == name and s.name == spec.name)
    setting = explorer.options.param[option]
    assert (setting.bounds, setting.default) == (tuple(spec.bounds), spec.default)
    before = explorer.values[name]
    new = round((spec.default + spec.bounds[1]) / 2, 3)
    setattr(explorer.options, option, new)
    expected = divergences.evaluate(explorer.target, explorer.q, [name], **{spec.name: new})[name]
    assert explorer.values[name] == pytest.approx(expected, rel=1e-12) and expected != pytest.approx(before)
    assert explorer.optima[name].value == pytest.approx(optimal_q(explorer.target, name, **{spec.name: new}).value)


def test_infinite_values_read_as_infinity(explorer):
    explorer.selected = ["alpha"]
    explorer.options.alpha_alpha = 1.5
    explorer.q.sigma = 0.15
    assert math.isinf(explorer.values["alpha"])
    assert explorer.readouts() == {"alpha": "∞"}
    data = json.loads(explorer.to_json())
    assert data["divergences"][0]["value"] is None and data["divergences"][0]["infinite"] is True
    assert ",inf," in explorer.to_csv()


def test_invalid_components_keep_the_last_valid_target(explorer):
    before = explorer.target.to_dict()
    explorer.param.update(weights_text="1, 2", means_text="0", sigmas_text="1, 1")
    assert not explorer.apply_components()
    assert "same length" in explorer.components_message
    assert explorer.target.to_dict() == before
    explorer.param.update(weights_text="1, x", means_text="0, 1", sigmas_text="1, 1")
    assert not explorer.apply_components() and "numbers" in explorer.components_message
    explorer.param.update(weights_text="1, 1", means_text="-2, 2", sigmas_text="0.5, -1")
    assert not explorer.apply_components() and "sigmas" in explorer.components_message
    assert explorer.target.to_dict() == before


def test_valid_components_become_the_target_and_its_url_form(explorer):
    explorer.param.update(weights_text="1, 3", means_text="-2, 2", sigmas_text="0.5, 1")
    assert explorer.apply_components() and explorer.components_message == ""
    assert explorer.target.weights.tolist() == [0.25, 0.75]
    assert explorer.custom == "0.25, 0.75|-2, 2|0.5, 1"
    other = Explorer()
    other.custom = explorer.custom  # what a shared URL does
    assert other.target.to_dict() == explorer.target.to_dict()
    explorer.target.spread = 4.0  # a generator control returns to generated targets
    assert explorer.custom == "" and explorer.target.mode == "generator"


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_give_finite_optima(explorer, name):
    explorer.apply_preset(name)
    assert all(math.isfinite(best.value) for best in explorer.optima.values())
    assert not explorer.problems
    assert explorer.x[0] <= -8 and explorer.x[-1] >= 8


def test_original_preset_restores_the_default(explorer):
    explorer.apply_preset("Two far modes")
    explorer.apply_preset("Original (3 modes)")
    assert explorer.target.to_dict() == Target().to_dict()


@pytest.mark.parametrize("value, text", [(0.37715, "0.377"), (1111.8123, "1111.8"), (2.0249, "2.025"),
                                         (math.inf, "∞"), (math.nan, "—"), (None, "—"), (3.2e9, "3.2000e+09"),
                                         (-1e-17, "0.000"), (-0.25, "-0.250")])
def test_format_value(value, text):
    assert format_value(value) == text


def test_parse_numbers():
    assert parse_numbers("0.5, 0.25;1 2", "w") == [0.5, 0.25, 1.0, 2.0]
    with pytest.raises(ValueError, match="w:"):
        parse_numbers("", "w")
