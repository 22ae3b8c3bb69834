"""The 2-D endpoints over real HTTP: values equal to the library's (klpanel.numerics.gauss2d), and the 1-D endpoints'
error contract (400 with {"error", "field"} naming the bad input)."""

from __future__ import annotations

import pytest

from apitools import strict_json
from klpanel.models.twod import Target2D
from klpanel.numerics import gauss2d as g

Q = {"mu1": 0.5, "mu2": -0.25, "sigma1": 0.8, "sigma2": 1.1, "rho": 0.2}
CUSTOM = {"weights": "1,2", "means1": "-2,2", "means2": "-1,1", "sigmas1": "0.5,0.7", "sigmas2": "0.8,0.4",
          "rhos": "0.5,-0.3"}
CUSTOM_P = g.Mixture2D([1, 2], [[-2, -1], [2, 1]], [[0.5, 0.8], [0.7, 0.4]], [0.5, -0.3])


def test_evaluate2d_default_target_is_bishops(api):
    body = strict_json(api.get("/api/evaluate2d", params=Q))
    p, q = Target2D().mixture, g.Gaussian2D(**Q)
    assert body["target"] == p.to_dict()
    assert body["q"] == Q
    for direction, (value, grad) in g.evaluate(p, q, gradient=True).items():
        assert body["values"][direction] == value
        assert body["gradients"][direction] == dict(zip(g.PARAMS, grad.tolist()))


def test_evaluate2d_preset_and_custom_mixtures(api):
    body = strict_json(api.get("/api/evaluate2d", params={"preset": "ring of 4", "p_rho": 0.3}))
    p = Target2D(preset="ring of 4", rho=0.3).mixture
    q = g.Gaussian2D(1.0, -1.0, 0.6, 0.6, 0.0)  # the defaults: Approximation2D's
    assert body["values"] == pytest.approx(g.evaluate(p, q), rel=1e-12)
    body = strict_json(api.get("/api/evaluate2d", params={**CUSTOM, **Q}))
    assert body["target"]["weights"] == pytest.approx([1 / 3, 2 / 3])
    assert body["values"] == pytest.approx(g.evaluate(CUSTOM_P, g.Gaussian2D(**Q)), rel=1e-12)


@pytest.mark.parametrize("family", g.FAMILIES)
def test_optimal2d_matches_library(api, family):
    for direction in g.DIRECTIONS:
        body = strict_json(api.get("/api/optimal2d", params={**CUSTOM, "direction": direction, "family": family}))
        best = g.optimal_q(CUSTOM_P, direction, family)
        assert (body["direction"], body["family"]) == (direction, family)
        assert body["global"] == pytest.approx({**best.q._asdict(), "value": best.value}, rel=1e-7, abs=1e-9)
        assert len(body["local_minima"]) == len(best.local_minima)


def test_optimal2d_bishop_closed_form(api):
    body = strict_json(api.get("/api/optimal2d", params={"p_rho": 0.9}))
    assert body["global"]["sigma1"] == pytest.approx((1 - 0.9 ** 2) ** 0.5, rel=1e-12)
    assert body["global"]["rho"] == 0.0


@pytest.mark.parametrize("path, query, field", [
    ("/api/evaluate2d", {"sigma1": "0"}, "sigma1"),
    ("/api/evaluate2d", {"rho": "1"}, "rho"),
    ("/api/evaluate2d", {"mu1": "nan"}, "mu1"),
    ("/api/evaluate2d", {"preset": "triangle"}, "preset"),
    ("/api/evaluate2d", {"p_rho": "0.995"}, "p_rho"),
    ("/api/evaluate2d", {"bogus": "1"}, "bogus"),
    ("/api/evaluate2d", {**CUSTOM, "preset": "correlated"}, "preset"),
    ("/api/evaluate2d", {k: x for k, x in CUSTOM.items() if k != "rhos"}, "rhos"),
    ("/api/evaluate2d", {**CUSTOM, "sigmas2": "0.8"}, "sigmas2"),
    ("/api/evaluate2d", {**CUSTOM, "weights": "1,0"}, "weights"),
    ("/api/evaluate2d", {k: ",".join([x.split(",")[0]] * 5) for k, x in CUSTOM.items()}, "weights"),
    ("/api/optimal2d", {"direction": "jsd"}, "direction"),
    ("/api/optimal2d", {"family": "diagonal"}, "family"),
    ("/api/optimal2d", {"mu1": "0"}, "mu1"),
])
def test_bad_input_is_a_400_naming_the_field(api, path, query, field):
    r = api.get(path, params=query)
    assert r.status_code == 400, r.text
    body = strict_json(r)
    assert set(body) == {"error", "field"} and body["field"] == field and body["error"]


def test_wrong_method_and_spec(api):
    r = api.post("/api/evaluate2d", json={})
    assert r.status_code == 405 and set(strict_json(r)) == {"error", "field"}
    spec = strict_json(api.get("/api/openapi.json"))
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/evaluate2d"]["get"]["parameters"]}
    assert params["rho"]["minimum"] == -g.MAX_RHO and params["preset"]["enum"] == ["correlated", "two blobs",
                                                                                      "ring of 4"]
    assert "503" in spec["paths"]["/api/optimal2d"]["get"]["responses"]
