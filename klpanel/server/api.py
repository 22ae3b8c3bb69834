"""JSON API served beside the app, as Tornado handlers.

Mount it with ``panel serve apps/kl_explorer.py --plugins klpanel.server.api`` (Panel reads ``ROUTES``) or
``pn.serve(..., extra_patterns=klpanel.server.api.ROUTES)``. Every endpoint, parameter and limit is described in
``GET /api/openapi.json`` (built by :mod:`klpanel.server.openapi` from the same field tables that validate input).

* ``GET /api/health`` (503 ``{"status": "starting"}`` until the process has warmed up), ``/api/divergences``
  (the registry), ``/api/evaluate`` (values and gradients at q), ``/api/optimal`` (global and local minima),
  ``/api/landscape`` (a grid of values), ``POST /api/run`` (an optimisation trajectory), ``GET /api/openapi.json``.
* Errors are JSON ``{"error": "<what is wrong and what is allowed>", "field": "<name or null>"}``: 400 for bad
  input, 413 for a body over ``validation.MAX_BODY_BYTES``, 404/405 for unknown paths and methods, 503 when the heavy-work
  pool is full.
* JSON has no NaN or infinity: a non-finite number is sent as ``null``; divergence values that are +inf (the α
  family outside [0, 1]) are additionally named in an ``"infinite"`` list.
* Landscapes, optima and runs run in a process pool (``HeavyWork``), off the event loop and the server's GIL,
  so animating app sessions keep their frame rate; at most ``KLPANEL_API_MAX_HEAVY`` such requests are in
  flight per server process (queued or running), beyond that the answer is 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import json
import math
import multiprocessing
import os
import threading
import time
from functools import lru_cache

import numpy as np
from tornado.web import HTTPError, RequestHandler

from .. import __version__, optimal_q

from ..numerics import divergences
from . import validation as v
from . import reuse, warmup
from .openapi import spec_json
from .validation import BadRequest

GZIP_MIN_BYTES = 1024  # JSON bodies at least this long are gzipped for clients that accept it
HEAVY_WORKERS = int(os.environ.get("KLPANEL_API_WORKERS", "2"))
MAX_HEAVY = int(os.environ.get("KLPANEL_API_MAX_HEAVY", str(2 * HEAVY_WORKERS)))


# -- JSON -------------------------------------------------------------------------------------------------------
def clean(obj):
    """``obj`` with numpy scalars/arrays turned into Python values and every non-finite float into ``None``."""
    if isinstance(obj, dict):
        return {k: clean(x) for k, x in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(x) for x in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def dumps(obj) -> bytes:
    """Strict JSON (``allow_nan=False``: a stray NaN is a bug, never silently sent)."""
    return json.dumps(clean(obj), allow_nan=False, separators=(",", ":")).encode()


# -- the computations (plain functions of plain data: they run in worker processes) -----------------------------
def evaluate_payload(target, mu: float, sigma: float, names, params: dict) -> dict:
    """Values and (mu, sigma) gradients of ``names`` at q = N(mu, sigma²), one vectorised library call."""
    grid = divergences.evaluate_grid(target, mu, sigma, names, gradients=True, **params)
    values = {n: float(val) for n, (val, _, _) in grid.items()}
    chosen = divergences.validate_params(names, **params)
    return {
        "target": target.to_dict(),
        "q": {"mu": mu, "sigma": sigma},
        "values": values,
        "gradients": {n: {"mu": float(dmu), "sigma": float(dsig)} for n, (_, dmu, dsig) in grid.items()},
        "infinite": [n for n, x in values.items() if x == math.inf],
        "params": {n: p for n, p in chosen.items() if p},
    }


@lru_cache(maxsize=2048)
def _evaluate_body(target, mu, sigma, names: tuple, params: tuple) -> bytes:
    # ``target`` objects come from ``validation.make_target``'s cache, so equal requests share one key
    return dumps(evaluate_payload(target, mu, sigma, list(names), dict(params)))


def optimal_body(spec: tuple, name: str, params: dict) -> bytes:
    return _optimal_body(spec, name, tuple(sorted(params.items())))


@lru_cache(maxsize=256)  # per worker process: optima are deterministic and small
def _optimal_body(spec: tuple, name: str, params: tuple) -> bytes:
    target = v.build_target(spec)
    return dumps({"target": target.to_dict(), **optimal_q(target, name, **dict(params)).to_dict()})


def landscape_body(spec: tuple, name: str, params: dict, grid: dict) -> bytes:
    """Values of one divergence on an ``n`` × ``n`` grid: ``values[i][j]`` is at (mu[j], sigma[i])."""
    target = v.build_target(spec)
    mu = np.linspace(grid["mu_min"], grid["mu_max"], grid["n"])
    sigma = np.linspace(grid["sigma_min"], grid["sigma_max"], grid["n"])
    values = divergences.evaluate_grid(target, mu[None, :], sigma[:, None], [name], **params)[name]
    finite = np.where(np.isfinite(values), values, np.inf)
    i, j = np.unravel_index(np.argmin(finite), values.shape)
    best = {"mu": mu[j], "sigma": sigma[i], "value": values[i, j]} if np.isfinite(finite[i, j]) else None
    return dumps({"target": target.to_dict(), "divergence": name,
                  "params": divergences.validate_params([name], **params)[name],
                  "mu": mu, "sigma": sigma, "values": values,
                  "infinite": int(np.sum(values == np.inf)), "grid_min": best})


def run_body(spec: dict) -> tuple[int, bytes]:
    """``(status, body)`` of an optimisation run: ``Run(**spec).step(steps).to_dict()``, or a 400 when the
    library rejects the combination with a ``ValueError``."""
    from ..models.runs import Run
    spec = dict(spec)
    target, steps = v.build_target(spec.pop("target")), spec.pop("steps")
    try:
        run = Run(target=target, **spec).step(steps)
    except ValueError as exc:
        return 400, dumps({"error": str(exc), "field": None})
    return 200, dumps(run.to_dict())


# -- heavy work off the event loop --------------------------------------------------------------------------------
def _exit_with_parent(parent: int):
    """Worker initializer: exit once the server process is gone, however it died (SIGKILL, an unhandled
    SIGTERM under ``pn.serve``), so no orphaned worker outlives it."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)
    threading.Thread(target=watch, name="klpanel-parent-watch", daemon=True).start()


class HeavyWork:
    """A process pool for heavy requests with a cap on the requests in flight (queued or running).

    Processes, not threads: a landscape is seconds of numpy and Python, and in a thread it would hold the server's
    GIL against the app's animation callbacks. Over the cap, ``run`` raises a 503 ``BadRequest`` at once instead of
    queueing without bound. Used from the event loop thread only, so the counter needs no lock.
    """

    def __init__(self, workers: int = HEAVY_WORKERS, limit: int = MAX_HEAVY):
        self.workers, self.limit, self.in_flight = workers, limit, 0
        self._pool = None

    def _executor(self):
        if self._pool is None:
            # spawn: no fork of a process running Tornado's threads; workers import klpanel once
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent, initargs=(os.getpid(),))
        return self._pool

    async def run(self, fn, *args):
        if self.in_flight >= self.limit:
            raise BadRequest(f"server busy: {self.in_flight} heavy requests (landscape, optimal, run) in progress, "
                             f"the limit is {self.limit}; retry in a moment", None, 503, {"Retry-After": "1"})
        self.in_flight += 1
        try:
            return await asyncio.wrap_future(self._executor().submit(fn, *args))
        except concurrent.futures.process.BrokenProcessPool:
            self._pool = None  # a worker died (e.g. killed): start a fresh pool for the next request
            raise BadRequest("the computation was interrupted; retry", None, 503, {"Retry-After": "1"}) from None
        finally:
            self.in_flight -= 1


HEAVY = HeavyWork()


# -- handlers --------------------------------------------------------------------------------------------------------
class APIHandler(RequestHandler):
    """JSON in, JSON out; every error (ours or Tornado's 404/405) is ``{"error", "field"}``."""

    def set_default_headers(self):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self):  # a cookie-less JSON API: nothing to protect
        pass

    def _allowed_methods(self):
        return [m for m in ("GET", "POST") if getattr(type(self), m.lower()) is not getattr(RequestHandler, m.lower())]

    def options(self, *args):
        """CORS preflight: any origin may call the API with JSON bodies (it uses no cookies)."""
        self.set_status(204)
        self.set_header("Access-Control-Allow-Methods", ", ".join(self._allowed_methods() + ["OPTIONS"]))
        self.set_header("Access-Control-Allow-Headers", "Content-Type")
        self.set_header("Access-Control-Max-Age", "86400")
        self.clear_header("Content-Type")
        self.finish()

    def write_json(self, body: bytes | dict, status: int = 200):
        self.set_status(status)
        body = body if isinstance(body, bytes) else dumps(body)
        self.set_header("Vary", "Accept-Encoding")
        if len(body) >= GZIP_MIN_BYTES and "gzip" in self.request.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=5)  # landscapes and runs shrink ~4x
            self.set_header("Content-Encoding", "gzip")
        self.finish(body)

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, BadRequest):
            for key, value in exc.headers.items():
                self.set_header(key, value)
            payload = exc.payload()
        elif status_code == 405:
            self.set_header("Allow", ", ".join(self._allowed_methods()))
            payload = {"error": f"method {self.request.method} not allowed on {self.request.path}; "
                                f"use {' or '.join(self._allowed_methods())}", "field": None}
        elif status_code == 404:
            payload = {"error": f"no such endpoint {self.request.path}; see /api/openapi.json", "field": None}
        elif status_code < 500:
            payload = {"error": self._reason, "field": None}
        else:
            payload = {"error": "internal error (this is a bug; the server log has the traceback)", "field": None}
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(dumps(payload))

    def _handle_request_exception(self, e):
        # our input errors are answered, not logged as server errors; anything else stays a 500 with a traceback
        if isinstance(e, BadRequest):
            if not self._finished:
                self.send_error(e.status, exc_info=(type(e), e, None))
            return
        super()._handle_request_exception(e)

    def query(self, fields) -> dict:
        return v.parse_query(fields, self.request.query_arguments)

    def target_and_divergence(self, fields):
        """Query values, target spec, divergence name and its parameters, all validated here so that bad input
        never reaches the worker pool."""
        values = self.query(fields)
        spec = v.target_spec(values)
        v.build_target(spec)
        name = values["divergence"]
        return values, spec, name, v.divergence_params([name], values)


class HealthHandler(APIHandler):
    """Readiness: 503 ``{"status": "starting"}`` while the process warms up (:mod:`.warmup`), then (the first time,
    :func:`.reuse.keep_pages`: the sessions the pages' HTML comes from) 200 ``ok``."""

    async def get(self):
        if not warmup.ready():
            self.set_header("Retry-After", "1")
            self.write_json({"status": "starting", "version": __version__}, 503)
            return
        await reuse.keep_pages(self.request.connection.stream.socket.getsockname()[1])  # once: the pages' HTML
        self.write_json({"status": "ok", "version": __version__,
                         "heavy": {"in_flight": HEAVY.in_flight, "limit": HEAVY.limit}})


class DivergencesHandler(APIHandler):
    def get(self):
        self.write_json({"divergences": [d.to_dict() for d in divergences.REGISTRY.values()],
                         "default_names": list(divergences.DEFAULT_NAMES)})


class EvaluateHandler(APIHandler):
    def get(self):
        values = self.query(v.EVALUATE_FIELDS)
        target = v.make_target(values)
        names = tuple(values["divergences"] or divergences.REGISTRY)
        params = v.divergence_params(names, values)
        # mu, sigma: the fields' bounds already make them finite with sigma > 0 (no Approximation needed)
        self.write_json(_evaluate_body(target, values["mu"], values["sigma"], names, tuple(sorted(params.items()))))


class OptimalHandler(APIHandler):
    async def get(self):
        values, spec, name, params = self.target_and_divergence(v.OPTIMAL_FIELDS)
        self.write_json(await HEAVY.run(optimal_body, spec, name, params))


class LandscapeHandler(APIHandler):
    async def get(self):
        values, spec, name, params = self.target_and_divergence(v.LANDSCAPE_QUERY_FIELDS)
        self.write_json(await HEAVY.run(landscape_body, spec, name, params, v.landscape_grid(values)))


class RunHandler(APIHandler):
    async def post(self):
        spec = v.parse_run(v.parse_json(self.request.body))
        status, body = await HEAVY.run(run_body, spec)
        self.write_json(body, status)


class OpenAPIHandler(APIHandler):
    def get(self):
        self.write_json(spec_json())


class NotFoundHandler(APIHandler):
    def prepare(self):
        raise HTTPError(404)


from .api2d import ROUTES as ROUTES_2D  # noqa: E402  (its handlers build on the ones above)

ROUTES = [
    (r"/api/health", HealthHandler),
    (r"/api/divergences", DivergencesHandler),
    (r"/api/evaluate", EvaluateHandler),
    (r"/api/optimal", OptimalHandler),
    (r"/api/landscape", LandscapeHandler),
    (r"/api/run", RunHandler),
    *ROUTES_2D,
    (r"/api/openapi\.json", OpenAPIHandler),
    (r"/api(/.*)?", NotFoundHandler),  # last: any other /api path is a JSON 404
]
