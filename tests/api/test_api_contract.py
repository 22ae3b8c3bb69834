"""The API's contract over real HTTP: shapes, values equal to the library's, and JSON errors."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest

from apitools import strict_json
from klpanel import Approximation, Target, __version__, divergences, optimal_q

NAMES = list(divergences.REGISTRY)


def test_health(api):
    r = api.get("/api/health")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = strict_json(r)
    assert (body["status"], body["version"]) == ("ok", __version__)
    assert body["heavy"]["in_flight"] == 0 and body["heavy"]["limit"] >= 1


def test_divergences_is_the_registry(api):
    body = strict_json(api.get("/api/divergences"))
    assert [d["name"] for d in body["divergences"]] == NAMES
    assert body["default_names"] == list(divergences.DEFAULT_NAMES)
    for entry in body["divergences"]:
        d = divergences.REGISTRY[entry["name"]]
        assert (entry["label"], entry["latex"]) == (d.label, d.latex)
        assert [(p["name"], p["default"], p["minimum"], p["maximum"]) for p in entry["parameters"]] == \
            [(s.name, s.default, *s.bounds) for s in d.params]


def test_evaluate_default_target_every_divergence(api):
    body = strict_json(api.get("/api/evaluate", params={"mu": 0.0, "sigma": 0.8}))
    p, q = Target(), Approximation(mu=0.0, sigma=0.8)
    assert body["target"] == p.to_dict()
    assert body["q"] == {"mu": 0.0, "sigma": 0.8}
    assert body["values"] == divergences.evaluate(p, q)  # the same numbers, bit for bit
    assert list(body["values"]) == NAMES
    for name in NAMES:
        g = divergences.gradient(p, q, name)
        assert body["gradients"][name]["mu"] == pytest.approx(g["mu"], rel=1e-9, abs=1e-12)
        assert body["gradients"][name]["sigma"] == pytest.approx(g["sigma"], rel=1e-9, abs=1e-12)
    assert body["infinite"] == []
    assert body["params"]["alpha"] == {"alpha": 0.5}
    # the contract's reference numbers
    assert body["values"]["forward_kl"] == pytest.approx(4.38, abs=0.01)
    assert body["values"]["reverse_kl"] == pytest.approx(2.02, abs=0.01)


def test_evaluate_custom_target_subset_and_params(api):
    query = {"weights": "2,1", "means": "-1.5,2", "sigmas": "0.5,1", "mu": "0.25", "sigma": "1.5",
             "divergences": "alpha,gkd_jsd,tv", "alpha": "0.3", "beta": "0.7"}
    body = strict_json(api.get("/api/evaluate", params=query))
    p = Target(weights=[2, 1], means=[-1.5, 2], sigmas=[0.5, 1])
    assert body["target"]["weights"] == pytest.approx([2 / 3, 1 / 3])
    assert body["values"] == divergences.evaluate(p, Approximation(mu=0.25, sigma=1.5), ["alpha", "gkd_jsd", "tv"],
                                                  alpha=0.3, beta=0.7)
    assert body["params"] == {"alpha": {"alpha": 0.3}, "gkd_jsd": {"beta": 0.7}}


def test_evaluate_generator_target(api):
    body = strict_json(api.get("/api/evaluate", params={"n_modes": 5, "spread": 4, "decay": 0.8,
                                                         "divergences": "reverse_kl", "mu": 1, "sigma": 2}))
    p = Target(n_modes=5, spread=4.0, decay=0.8)
    assert body["target"] == p.to_dict()
    assert body["values"] == divergences.evaluate(p, Approximation(mu=1.0, sigma=2.0), ["reverse_kl"])


def test_infinite_values_are_null_and_listed(api):
    # alpha = 2 with a q much narrower than p: ∫ p² / q diverges
    body = strict_json(api.get("/api/evaluate", params={"divergences": "alpha,renyi,tv", "alpha": 2,
                                                         "mu": 0, "sigma": 0.1}))
    lib = divergences.evaluate(Target(), Approximation(mu=0.0, sigma=0.1), ["alpha", "renyi", "tv"], alpha=2.0)
    infinite = [n for n, x in lib.items() if x == math.inf]
    assert infinite, "this case should be infinite in the library"
    assert body["infinite"] == infinite
    for name in infinite:
        assert body["values"][name] is None
    assert body["values"]["tv"] == lib["tv"]


def test_optimal_matches_library(api):
    body = strict_json(api.get("/api/optimal", params={"divergence": "reverse_kl"}))
    best = optimal_q(Target(), "reverse_kl")
    assert body["divergence"] == "reverse_kl"
    # equal up to rounding: the optimiser's last Newton step may differ in the last bits between processes
    assert body["global"] == pytest.approx({"mu": best.mu, "sigma": best.sigma, "value": best.value}, rel=1e-9)
    assert len(body["local_minima"]) == len(best.local_minima)
    for got, want in zip(body["local_minima"], best.local_minima):
        assert got == pytest.approx(want.to_dict(), rel=1e-9, abs=1e-12)
    assert body["global"]["mu"] == pytest.approx(-3.0, abs=0.01)
    assert len(body["local_minima"]) >= 3


def test_optimal_with_params_and_custom_target(api):
    query = {"divergence": "renyi", "alpha": "0.8", "weights": "1,1", "means": "-2,2", "sigmas": "0.5,0.5"}
    body = strict_json(api.get("/api/optimal", params=query))
    best = optimal_q(Target(weights=[1, 1], means=[-2, 2], sigmas=[0.5, 0.5]), "renyi", alpha=0.8)
    assert body["global"]["value"] == pytest.approx(best.value, rel=1e-9)
    assert body["global"]["mu"] == pytest.approx(best.mu, rel=1e-9, abs=1e-12)


def test_landscape_matches_evaluate_grid(api):
    query = {"divergence": "jsd", "mu_min": -4, "mu_max": 4, "sigma_min": 0.2, "sigma_max": 3, "n": 13}
    body = strict_json(api.get("/api/landscape", params=query))
    mu, sigma = np.linspace(-4, 4, 13), np.linspace(0.2, 3, 13)
    assert body["mu"] == mu.tolist() and body["sigma"] == sigma.tolist()
    expected = divergences.evaluate_grid(Target(), mu[None, :], sigma[:, None], ["jsd"])["jsd"]
    assert np.array(body["values"]).shape == (13, 13)
    assert body["values"] == expected.tolist()
    i, j = np.unravel_index(np.argmin(expected), expected.shape)
    assert body["grid_min"] == {"mu": mu[j], "sigma": sigma[i], "value": expected[i, j]}
    assert body["infinite"] == 0


def test_landscape_with_infinite_values(api):
    body = strict_json(api.get("/api/landscape", params={"divergence": "alpha", "alpha": 2, "n": 8,
                                                          "sigma_min": 0.05, "sigma_max": 1}))
    flat = [x for row in body["values"] for x in row]
    assert body["infinite"] == sum(x is None for x in flat) > 0
    assert body["grid_min"]["value"] == min(x for x in flat if x is not None)


def test_openapi_spec_is_valid_and_lists_the_registry(api):
    from openapi_spec_validator import validate

    spec = strict_json(api.get("/api/openapi.json"))
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) >= {"/api/health", "/api/divergences", "/api/evaluate", "/api/optimal",
                                  "/api/landscape", "/api/openapi.json"}
    params = {p["name"]: p for p in spec["paths"]["/api/evaluate"]["get"]["parameters"]}
    assert params["divergences"]["schema"]["items"]["enum"] == NAMES
    for d in divergences.REGISTRY.values():
        for s in d.params:
            assert params[s.name]["schema"]["minimum"] <= s.bounds[0]
            assert params[s.name]["schema"]["maximum"] >= s.bounds[1]


# -- bad input: 400 with {"error", "field"}, never a 500 --------------------------------------------------------
BAD = [
    # (path, query, field) — every class from the API issue
    ("/api/evaluate", {"mu": "nan"}, "mu"),
    ("/api/evaluate", {"sigma": "inf"}, "sigma"),
    ("/api/evaluate", {"mu": "-Infinity"}, "mu"),
    ("/api/evaluate", {"sigma": "0"}, "sigma"),
    ("/api/evaluate", {"sigma": "-1"}, "sigma"),
    ("/api/evaluate", {"mu": "abc"}, "mu"),
    ("/api/evaluate", {"mu": ""}, "mu"),
    ("/api/evaluate", {"weights": "1,0", "means": "0,1", "sigmas": "1,1"}, "weights"),
    ("/api/evaluate", {"weights": "1,-2", "means": "0,1", "sigmas": "1,1"}, "weights"),
    ("/api/evaluate", {"weights": "1,2", "means": "0,1", "sigmas": "1,0"}, "sigmas"),
    ("/api/evaluate", {"weights": "1,nan", "means": "0,1", "sigmas": "1,1"}, "weights"),
    ("/api/evaluate", {"weights": "1,2", "means": "0,1,2", "sigmas": "1,1"}, "means"),
    ("/api/evaluate", {"weights": "1,2", "means": "0,1", "sigmas": "1"}, "sigmas"),
    ("/api/evaluate", {"weights": "1,2", "means": "0,1"}, "sigmas"),
    ("/api/evaluate", {"weights": ",".join("1" * 9), "means": ",".join("0" * 9), "sigmas": ",".join("1" * 9)},
     "weights"),
    ("/api/evaluate", {"n_modes": "9"}, "n_modes"),
    ("/api/evaluate", {"n_modes": "2.5"}, "n_modes"),
    ("/api/evaluate", {"spread": "99"}, "spread"),
    ("/api/evaluate", {"n_modes": "2", "weights": "1"}, "n_modes"),
    ("/api/evaluate", {"divergences": "kl"}, "divergences"),
    ("/api/evaluate", {"divergences": "tv,tv"}, "divergences"),
    ("/api/evaluate", {"alpha": "7"}, "alpha"),
    ("/api/evaluate", {"alpha": "1.5"}, "alpha"),  # fine for alpha/renyi, out of range for skew_kl
    ("/api/evaluate", {"divergences": "renyi", "alpha": "-0.5"}, "alpha"),
    ("/api/evaluate", {"beta": "1.5"}, "beta"),
    ("/api/evaluate", {"sigmaa": "1"}, "sigmaa"),
    ("/api/optimal", {"divergence": "nope"}, "divergence"),
    ("/api/optimal", {"divergence": "alpha", "alpha": "3"}, "alpha"),
    ("/api/landscape", {"n": "401"}, "n"),
    ("/api/landscape", {"n": "1"}, "n"),
    ("/api/landscape", {"n": "100000000"}, "n"),
    ("/api/landscape", {"mu_min": "2", "mu_max": "1"}, "mu_max"),
    ("/api/landscape", {"sigma_min": "0"}, "sigma_min"),
    ("/api/landscape", {"sigma_min": "3", "sigma_max": "3"}, "sigma_max"),
    ("/api/landscape", {"divergence": "forward_kl", "mu_max": "1e300"}, "mu_max"),
]


@pytest.mark.parametrize("path,query,field", BAD, ids=[f"{p}?{'&'.join(f'{k}={v}' for k, v in q.items())}"[:80]
                                                      for p, q, _ in BAD])
def test_bad_query_is_400_naming_the_field(api, path, query, field):
    r = api.get(path, params=query)
    assert r.status_code == 400, r.text
    body = strict_json(r)
    assert set(body) == {"error", "field"}
    assert body["field"] == field
    assert len(body["error"]) > 10


def test_error_messages_say_what_is_allowed(api):
    assert "[0.0001, 1e+06]" in strict_json(api.get("/api/evaluate", params={"sigma": "-1"}))["error"]
    assert "reverse_kl" in strict_json(api.get("/api/evaluate", params={"divergences": "kl"}))["error"]
    assert "[2, 400]" in strict_json(api.get("/api/landscape", params={"n": "1000"}))["error"]
    assert "skew_kl" in strict_json(api.get("/api/evaluate", params={"alpha": "1.5"}))["error"]


def test_repeated_query_parameter_is_400(api):
    r = api.get("/api/evaluate?mu=1&mu=2")
    assert r.status_code == 400 and strict_json(r)["field"] == "mu"


def test_non_utf8_query_is_400(api):
    r = api.get("/api/evaluate?mu=%ff")
    assert r.status_code == 400 and strict_json(r)["field"] == "mu"


@pytest.mark.parametrize("path", ["/api/nope", "/api", "/api/", "/api/evaluate/extra", "/api/health/"])
def test_unknown_path_is_json_404(api, path):
    r = api.get(path)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    assert strict_json(r)["error"]


@pytest.mark.parametrize("method,path", [("POST", "/api/evaluate"), ("DELETE", "/api/health"),
                                         ("PUT", "/api/landscape"), ("PATCH", "/api/divergences"),
                                         ("POST", "/api/openapi.json")])
def test_wrong_method_is_json_405_with_allow(api, method, path):
    r = api.request(method, path)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"
    assert strict_json(r)["field"] is None


def test_cors_preflight_is_answered(api):
    r = api.request("OPTIONS", "/api/evaluate", headers={"Origin": "http://elsewhere.example",
                                                       "Access-Control-Request-Method": "GET",
                                                       "Access-Control-Request-Headers": "Content-Type"})
    assert r.status_code == 204 and r.content == b""
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]


def test_large_bodies_are_gzipped_for_clients_that_accept_it(api):
    path = "/api/landscape?divergence=reverse_kl&n=50"
    zipped = api.get(path, headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = zipped.raw.read(decode_content=False)
    assert zipped.headers["Content-Encoding"] == "gzip"
    plain = api.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert len(raw) < len(plain.content) / 2
    assert gzip.decompress(raw) == plain.content
