"""The OpenAPI 3 description of the JSON API, built from the same field tables that validate requests
(:mod:`klpanel.server.validation`) and from the divergence registry, so names, defaults and ranges cannot drift."""

from __future__ import annotations

import json
from functools import lru_cache

from .. import __version__

from ..numerics import divergences
from . import validation as v

NUMBER = {"type": "number"}
NULLABLE_NUMBER = {"type": "number", "nullable": True}
NAME = {"type": "string", "enum": list(divergences.REGISTRY)}


def field_schema(f: v.Field) -> dict:
    """JSON schema of one :class:`~klpanel.server.validation.Field`."""
    if f.kind in ("number", "integer"):
        s = {"type": f.kind}
        if f.minimum is not None:
            s["minimum"] = f.minimum
            if f.exclusive_minimum:
                s["exclusiveMinimum"] = True
        if f.maximum is not None:
            s["maximum"] = f.maximum
            if f.exclusive_maximum:
                s["exclusiveMaximum"] = True
    elif f.kind == "name":
        s = {"type": "string", "enum": list(f.choices)}
    else:
        item = {"type": "string", "enum": list(f.choices)} if f.kind == "names" else \
            field_schema(v.Field(f.name, "number", f.doc, None, f.minimum, f.maximum, f.exclusive_minimum,
                                 f.exclusive_maximum))
        s = {"type": "array", "items": item, "minItems": 1}
        if f.max_items is not None:
            s["maxItems"] = f.max_items
        if f.kind == "names":
            s["uniqueItems"] = True
    if f.default is not None:
        s["default"] = f.default
    if f.nullable:
        s["nullable"] = True
    return s


def object_schema(fields, description=None) -> dict:
    """A JSON object of ``fields`` (all optional, nothing else allowed)."""
    s = {"type": "object", "properties": {f.name: {**field_schema(f), "description": f.doc} for f in fields},
         "additionalProperties": False}
    if description:
        s["description"] = description
    return s


def query_parameters(fields) -> list:
    """Query parameters; lists are comma-separated (``style: form, explode: false``)."""
    out = []
    for f in fields:
        p = {"name": f.name, "in": "query", "required": False, "description": f.doc, "schema": field_schema(f)}
        if f.kind in ("numbers", "names"):
            p.update(style="form", explode=False)
        out.append(p)
    return out


def obj(properties: dict, required=None, additional=True) -> dict:
    s = {"type": "object", "properties": properties, "required": list(properties if required is None else required)}
    if not additional:
        s["additionalProperties"] = False
    return s


def array(items) -> dict:
    return {"type": "array", "items": items}


TARGET_OUT = obj({"weights": array(NUMBER), "means": array(NUMBER), "sigmas": array(NUMBER)})
POINT = obj({"mu": NUMBER, "sigma": NUMBER, "value": NULLABLE_NUMBER})
ERROR = obj({"error": {"type": "string"}, "field": {"type": "string", "nullable": True}})
PARAMS_OUT = {"type": "object", "additionalProperties": NUMBER}

TARGET_DOC = ("The target p is given either by the generator (`n_modes`, `spread`, `decay`; defaults 3, 3.0, 0.55) "
              "or by custom components (`weights`, `means`, `sigmas`, all three, equal lengths, at most "
              f"{v.MAX_MODES} components; weights are normalised), not both.")
INFINITE_DOC = ("JSON has no infinity or NaN: a divergence value that is +inf (the α family for α outside [0, 1]) is "
                "sent as `null` and its name listed in `infinite`; any other non-finite number is also `null`.")


def _response(description, schema, headers=None):
    r = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        r["headers"] = headers
    return r


def _errors(*codes) -> dict:
    text = {400: "Invalid input: `error` says what is wrong and what is allowed, `field` names the input",
            413: f"Request body larger than {v.MAX_BODY_BYTES} bytes",
            503: "Too many heavy requests in flight (landscape, optimal, run); retry after `Retry-After` seconds"}
    out = {}
    for code in codes:
        headers = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}} if code == 503 else None
        out[str(code)] = _response(text[code], ERROR, headers)
    return out


def _get(summary, description, fields, ok_schema, heavy=False) -> dict:
    return {"get": {
        "summary": summary, "description": description, "parameters": query_parameters(fields),
        "responses": {"200": _response("OK", ok_schema), **_errors(400, *([503] if heavy else []))}}}


def _paths() -> dict:
    names = list(divergences.REGISTRY)
    by_name = lambda schema: {"type": "object", "properties": {n: schema for n in names}, "additionalProperties": False}
    divergence = obj({
        "name": NAME, "label": {"type": "string"}, "latex": {"type": "string"}, "behaviour": {"type": "string"},
        "distillation": {"type": "string"},
        "parameters": array(obj({"name": {"type": "string"}, "default": NUMBER, "minimum": NUMBER,
                                 "maximum": NUMBER, "doc": {"type": "string"}})),
    })
    evaluate = obj({
        "target": TARGET_OUT, "q": obj({"mu": NUMBER, "sigma": NUMBER}),
        "values": by_name(NULLABLE_NUMBER),
        "gradients": by_name(obj({"mu": NULLABLE_NUMBER, "sigma": NULLABLE_NUMBER})),
        "infinite": array(NAME),
        "params": by_name(PARAMS_OUT),
    })
    optimal = obj({"target": TARGET_OUT, "divergence": NAME, "global": POINT, "local_minima": array(POINT),
                   "tolerance": obj({"mu": NULLABLE_NUMBER, "sigma": NULLABLE_NUMBER})})
    landscape = obj({
        "target": TARGET_OUT, "divergence": NAME, "params": PARAMS_OUT,
        "mu": array(NUMBER), "sigma": array(NUMBER), "values": array(array(NULLABLE_NUMBER)),
        "infinite": {"type": "integer", "minimum": 0, "description": "How many grid values are +inf (sent as null)"},
        "grid_min": {**POINT, "nullable": True, "description": "The smallest finite value on the grid"},
    })
    run_request = object_schema(v.RUN_SCALAR_FIELDS)
    docs = {"target": TARGET_DOC, "q0": "Start of q", "optimizer": "Optimizer and its hyper-parameters (`clip: null` = no clipping). Without this "
                                  "object: the original page's gradient descent, lr 0.03, clip ±1.5",
            "estimator": "Gradient estimator, Monte-Carlo sample count and seed"}
    for key, fields in v.RUN_OBJECTS.items():
        run_request["properties"][key] = object_schema(fields, docs[key])
    per_step = {"step": array({"type": "integer"}), **{k: array(NULLABLE_NUMBER)
                                                       for k in ("mu", "sigma", "loss", "grad_norm")}}
    run = obj({
        "target": TARGET_OUT, "divergence": NAME, "divergence_params": PARAMS_OUT,
        "trajectory": obj(per_step),
        "final": obj({"step": {"type": "integer"}, **{k: NULLABLE_NUMBER for k in ("mu", "sigma", "loss", "grad_norm")}}),
        "converged": {"type": "boolean"}, "status": {"type": "string"}, "message": {"type": "string"},
        "minimum": {**obj({"mu": NUMBER, "sigma": NUMBER, "value": NULLABLE_NUMBER, "index": {"type": "integer"},
                           "is_global": {"type": "boolean"}}), "nullable": True},
    }, required=["target", "divergence", "trajectory", "final", "converged", "status"])
    return {
        "/api/health": _get("Readiness", "`status` is `ok` once the process has warmed up (numba kernels loaded, the "
                            "default page's optima cached); before that the answer is 503 with `status` `starting`. "
                            "`heavy` counts the heavy requests in flight in this process and their limit.", (),
                            obj({"status": {"type": "string", "enum": ["ok", "starting"]}, "version": {"type": "string"},
                                 "heavy": obj({"in_flight": {"type": "integer"}, "limit": {"type": "integer"}})})),
        "/api/divergences": _get("The divergence registry", "Every divergence with its label, LaTeX formula, "
                                 "behaviour and parameters (defaults and ranges).", (),
                                 obj({"divergences": array(divergence), "default_names": array(NAME)})),
        "/api/evaluate": _get(
            "Divergences and their gradients at q",
            f"D(p‖q) and (∂D/∂μ, ∂D/∂σ) at q = N(mu, sigma²) for the requested divergences (default: all). "
            f"{TARGET_DOC} Parameters (`alpha`, `beta`) apply to the divergences that take them and must lie in "
            f"each one's range (`alpha` is the order of `alpha`/`renyi` and the skew of `skew_kl`/`skew_rkl`). "
            f"{INFINITE_DOC}", v.EVALUATE_FIELDS, evaluate),
        "/api/optimal": _get(
            "Optimal q", f"The global minimiser of the divergence over q = N(mu, sigma²) and every local minimum "
            f"(global first), computed off the event loop. {TARGET_DOC}", v.OPTIMAL_FIELDS, optimal, heavy=True),
        "/api/landscape": _get(
            "Divergence landscape over (mu, sigma)",
            f"Values on an n × n grid (n ≤ {v.MAX_GRID_SIDE}); `values[i][j]` is at (`mu[j]`, `sigma[i]`). "
            f"{TARGET_DOC} {INFINITE_DOC}", v.LANDSCAPE_QUERY_FIELDS, landscape, heavy=True),
        "/api/run": {"post": {
            "summary": "An optimisation run",
            "description": (
                "Runs `steps` optimizer steps (at most %d, fewer once converged) of q = N(mu, sigma²) from `q0` on "
                "the divergence, off the event loop, and returns the trajectory (step, mu, sigma, loss, gradient "
                "norm per step, the start included), the final state, whether it converged and which local "
                "minimum it reached. Every field is optional; `optimizer` takes the chosen optimizer's own "
                "hyper-parameters. Body at most %d bytes. %s" % (v.MAX_STEPS, v.MAX_BODY_BYTES, TARGET_DOC)),
            "requestBody": {"required": True, "content": {"application/json": {"schema": run_request}}},
            "responses": {"200": _response("OK", run), **_errors(400, 413, 503)}}},
        "/api/openapi.json": _get("This document", "The OpenAPI 3 description of the API.", (), {"type": "object"}),
    }


def build_spec() -> dict:
    from .api2d import openapi_paths
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "klpanel API",
            "version": __version__,
            "description": ("The numbers of the klpanel explorer as JSON: forward vs reverse KL and relatives between a "
                            "1-D Gaussian mixture p and q = N(mu, sigma²). Errors are `{\"error\", \"field\"}` with "
                            f"status 400 (413 for a body over {v.MAX_BODY_BYTES} bytes, 404 unknown path, 405 wrong "
                            f"method, 503 busy). {INFINITE_DOC}"),
        },
        "paths": {**_paths(), **openapi_paths()},
        "components": {"schemas": {"Error": ERROR}},
    }


@lru_cache(maxsize=1)
def spec_json() -> bytes:
    return json.dumps(build_spec(), allow_nan=False).encode()
