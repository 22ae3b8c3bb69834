"""The API accepts every q the library evaluates (``Approximation``: |mu| ≤ 1e6, 1e-4 ≤ sigma ≤ 1e6) and every
component ``Target`` takes, at every endpoint that takes them; just outside, a 400 says the range and why, and the
OpenAPI spec documents the same range."""

from __future__ import annotations

import pytest

from apitools import strict_json
from klpanel import Approximation, Target, divergences


@pytest.mark.parametrize("mu,sigma", [(0.0, 1e-4), (3.0, 1e-4), (1e6, 1e-4), (-1e6, 1e6)])
def test_evaluate_accepts_the_library_domain_with_the_library_values(api, mu, sigma):
    r = api.get("/api/evaluate", params={"mu": mu, "sigma": sigma, "divergences": "forward_kl,reverse_kl,jsd"})
    assert r.status_code == 200, r.text
    want = divergences.evaluate(Target(), Approximation(mu=mu, sigma=sigma), ["forward_kl", "reverse_kl", "jsd"])
    assert strict_json(r)["values"] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("query,field", [({"sigma": "9.9e-5"}, "sigma"), ({"sigma": "1.1e6"}, "sigma"),
                                         ({"mu": "1000001"}, "mu"), ({"mu": "-1000001"}, "mu")])
def test_evaluate_outside_the_domain_says_the_range_and_why(api, query, field):
    r = api.get("/api/evaluate", params=query)
    assert r.status_code == 400, r.text
    body = strict_json(r)
    assert body["field"] == field
    assert "[-1e+06, 1e+06]" in body["error"] if field == "mu" else "[0.0001, 1e+06]" in body["error"]
    assert "the library's domain for q" in body["error"]


def test_landscape_reaches_the_smallest_sigma(api):
    r = api.get("/api/landscape", params={"divergence": "reverse_kl", "n": 3, "sigma_min": 1e-4, "sigma_max": 1e-3})
    assert r.status_code == 200, r.text
    assert strict_json(r)["sigma"][0] == 1e-4
    r = api.get("/api/landscape", params={"n": 3, "sigma_min": 5e-5})
    assert r.status_code == 400 and strict_json(r)["field"] == "sigma_min"
    assert "the library's domain for q" in strict_json(r)["error"]


def test_run_starts_at_the_smallest_sigma(api):
    r = api.post("/api/run", json={"q0": {"mu": 0.0, "sigma": 1e-4}, "steps": 1, "sigma_floor": 0})
    assert r.status_code == 200, r.text
    assert strict_json(r)["trajectory"]["sigma"][0] == 1e-4
    r = api.post("/api/run", json={"q0": {"mu": 0.0, "sigma": 5e-5}, "steps": 1})
    assert r.status_code == 400 and strict_json(r)["field"] == "q0.sigma"
    assert "0.0001" in strict_json(r)["error"]


def test_targets_take_the_library_components(api):
    r = api.get("/api/evaluate", params={"weights": "1,1", "means": "-1e3,1e6", "sigmas": "1e-6,1e6",
                                         "divergences": "forward_kl"})
    assert r.status_code == 200, r.text
    r = api.get("/api/evaluate", params={"weights": "1", "means": "0", "sigmas": "1e-7"})
    assert r.status_code == 400 and strict_json(r)["field"] == "sigmas"
    assert "the library's domain for components" in strict_json(r)["error"]
    r = api.get("/api/evaluate", params={"weights": "1", "means": "1e6", "sigmas": "1e-5"})  # |mean| > 1e10 sigma
    assert r.status_code == 400 and strict_json(r)["field"] == "means" and "1e+10" in strict_json(r)["error"]


def test_openapi_documents_the_domain(api):
    spec = strict_json(api.get("/api/openapi.json"))
    params = {p["name"]: p for p in spec["paths"]["/api/evaluate"]["get"]["parameters"]}
    assert (params["sigma"]["schema"]["minimum"], params["sigma"]["schema"]["maximum"]) == (1e-4, 1e6)
    assert (params["mu"]["schema"]["minimum"], params["mu"]["schema"]["maximum"]) == (-1e6, 1e6)
    assert "the library's domain for q" in params["sigma"]["description"]
    landscape = {p["name"]: p for p in spec["paths"]["/api/landscape"]["get"]["parameters"]}
    assert landscape["sigma_min"]["schema"]["minimum"] == 1e-4
