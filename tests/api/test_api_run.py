"""POST /api/run over HTTP: the same trajectory as ``klpanel.models.runs.Run``, and every bad body answered 400/413."""

from __future__ import annotations

import json

import pytest

from apitools import strict_json
from klpanel import Target
from klpanel.models.runs import Run
from klpanel.server.validation import MAX_BODY_BYTES, MAX_STEPS



def test_default_run_is_the_original_page(api):
    body = strict_json(api.post("/api/run", json={"steps": 10}))
    run = Run(target=Target()).step(10)
    assert body == json.loads(json.dumps(run.to_dict()))
    assert body["optimizer"] == {"name": "gd", "lr": 0.03, "clip": 1.5, "parameterization": "sigma"}
    assert body["trajectory"]["step"] == list(range(11)) and body["final"]["step"] == 10
    assert body["final"]["mu"] == body["trajectory"]["mu"][-1]
    assert body["converged"] is False and body["status"] == "running"


def test_run_with_every_option(api):
    request = {
        "target": {"weights": [1, 2], "means": [-2, 2], "sigmas": [0.5, 0.7]},
        "divergence": "skew_rkl", "alpha": 0.3, "q0": {"mu": 0.5, "sigma": 1.2},
        "optimizer": {"name": "adam", "lr": 0.05, "beta1": 0.8, "clip": None},
        "estimator": {"name": "reparameterization", "n_samples": 32, "seed": 7},
        "steps": 25, "sigma_floor": 0.1, "tol": 1e-6,
    }
    body = strict_json(api.post("/api/run", json=request))
    run = Run(target=Target(weights=[1, 2], means=[-2, 2], sigmas=[0.5, 0.7]), divergence="skew_rkl",
              divergence_params={"alpha": 0.3}, mu0=0.5, sigma0=1.2,
              optimizer={"name": "adam", "lr": 0.05, "beta1": 0.8, "clip": None}, estimator="reparameterization",
              n_samples=32, seed=7, sigma_floor=0.1, tol=1e-6).step(25)
    assert body == json.loads(json.dumps(run.to_dict()))
    assert body["divergence_params"] == {"alpha": 0.3}


def test_run_converges_to_a_reported_minimum(api):
    body = strict_json(api.post("/api/run", json={"q0": {"mu": -2.5, "sigma": 0.5}, "steps": MAX_STEPS,
                                                  "optimizer": {"name": "adam", "lr": 0.05}}))
    assert body["converged"] is True and body["status"] == "converged"
    assert body["final"]["step"] < MAX_STEPS
    assert body["minimum"]["is_global"] is True
    assert body["minimum"]["mu"] == pytest.approx(-3.0, abs=0.01)


BAD_BODIES = [
    ({"steps": MAX_STEPS + 1}, "steps"),
    ({"steps": 0}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"steps": "10"}, "steps"),
    ({"steps": True}, "steps"),
    ({"divergence": "kl"}, "divergence"),
    ({"divergence": "alpha", "alpha": 5}, "alpha"),
    ({"divergence": "skew_kl", "alpha": 1.5}, "alpha"),
    ({"q0": {"sigma": 0}}, "q0.sigma"),
    ({"q0": {"mu": 1e308 * 10}}, "body"),  # serialised as Infinity: not JSON
    ({"q0": {"mu": "x"}}, "q0.mu"),
    ({"q0": {"nu": 1}}, "q0.nu"),
    ({"q0": [0, 1]}, "q0"),
    ({"target": {"weights": [1, -1], "means": [0, 1], "sigmas": [1, 1]}}, "target.weights"),
    ({"target": {"weights": [1, 1], "means": [0, 1, 2], "sigmas": [1, 1]}}, "target.means"),
    ({"target": {"weights": [1] * 9, "means": [0] * 9, "sigmas": [1] * 9}}, "target.weights"),
    ({"target": {"n_modes": 3, "weights": [1]}}, "target.n_modes"),
    ({"target": {"n_modes": 0}}, "target.n_modes"),
    ({"optimizer": {"name": "sgd"}}, "optimizer.name"),
    ({"optimizer": {"name": "gd", "beta1": 0.5}}, "optimizer.beta1"),
    ({"optimizer": {"lr": -1}}, "optimizer.lr"),
    ({"optimizer": {"lr": 1e9}}, "optimizer.lr"),
    ({"optimizer": {"name": "momentum", "beta": 1.0}}, "optimizer.beta"),
    ({"estimator": {"name": "magic"}}, "estimator.name"),
    ({"estimator": {"n_samples": 10**6}}, "estimator.n_samples"),
    ({"estimator": {"seed": -1}}, "estimator.seed"),
    ({"sigma_floor": -0.1}, "sigma_floor"),
    ({"extra": 1}, "extra"),
    ([1, 2], "body"),
    ("steps", "body"),
]


@pytest.mark.parametrize("request_body,field", BAD_BODIES, ids=[str(b)[:60] for b, _ in BAD_BODIES])
def test_bad_body_is_400_naming_the_field(api, request_body, field):
    r = api.post("/api/run", data=json.dumps(request_body), headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    body = strict_json(r)
    assert set(body) == {"error", "field"} and body["field"] == field


@pytest.mark.parametrize("raw", [b"", b"{", b"{'steps': 1}", b"\xff\xfe", b"[1,", b"NaN", b'{"steps": NaN}'])
def test_malformed_json_is_400(api, raw):
    r = api.post("/api/run", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert strict_json(r)["field"] == "body"


def test_body_over_the_cap_is_413(api):
    padding = " " * (MAX_BODY_BYTES + 1)
    r = api.post("/api/run", data=b'{"steps": 1}' + padding.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert strict_json(r)["field"] == "body"
