"""Console entry point: ``klpanel serve`` (app + API) and ``klpanel demo`` (numbers in the terminal)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# both inside the package, so that a non-editable install or a wheel serves the same page as the repository
APP_FILE = Path(__file__).resolve().with_name("kl_explorer.py")
SETUP_FILE = APP_FILE.with_name("startup.py")  # run once before the first session


def demo(args) -> int:
    from .. import Approximation, Target, optimal_q
    from ..numerics import divergences

    p = Target(n_modes=args.modes, spread=args.spread, decay=args.decay)
    q = Approximation(mu=args.mu, sigma=args.sigma)
    print(f"target p: {p}")
    print(f"  weights {[round(float(w), 3) for w in p.weights]}, means {p.means.tolist()}, sigmas {p.sigmas.tolist()}")
    print(f"q = N({q.mu}, {q.sigma}²)\n")
    values = divergences.evaluate(p, q)
    width = max(len(d.label) for d in divergences.REGISTRY.values())
    print(f"{'divergence':<{width}}  value at q   optimal q (mu, sigma) -> value   [local minima]")
    for name, value in values.items():
        d = divergences.REGISTRY[name]
        best = optimal_q(p, name)
        others = ", ".join(f"({m.mu:.3f}, {m.sigma:.3f})" for m in best.local_minima[1:])
        print(f"{d.label:<{width}}  {value:10.4f}   ({best.mu:7.3f}, {best.sigma:6.3f}) -> {best.value:.4f}"
              + (f"   [{others}]" if others else ""))
    return 0


def serve(args) -> int:
    if not APP_FILE.exists():
        print(f"klpanel: cannot find the app file {APP_FILE}", file=sys.stderr)
        return 2
    host = "localhost" if args.address in ("", "0.0.0.0", "127.0.0.1") else args.address
    url = f"http://{host}:{args.port}"
    print(f"klpanel: app at {url}/kl_explorer  ·  API at {url}/api/health  (Ctrl+C stops)", flush=True)
    cmd = [sys.executable, "-m", "panel", "serve", str(APP_FILE), "--plugins", "klpanel.server.api", "--plugins",
           "klpanel.server.admin", "--plugins", "klpanel.server.assets", "--liveness", "--port", str(args.port),
           "--address", args.address,
           "--index", "kl_explorer", "--num-procs", str(args.num_procs), "--setup", str(SETUP_FILE)]
    if args.allow_websocket_origin:
        cmd += ["--allow-websocket-origin", *args.allow_websocket_origin]
    if args.show:
        cmd.append("--show")
    cmd += args.extra
    # replace this process (no orphaned child when a supervisor sends SIGTERM)
    os.execve(sys.executable, cmd, {**os.environ, "PYTHONUNBUFFERED": "1"})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="klpanel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the explorer app and the JSON API with the Bokeh server")
    s.add_argument("--port", type=int, default=5006)
    s.add_argument("--address", default="127.0.0.1")
    s.add_argument("--num-procs", type=int, default=1)
    s.add_argument("--allow-websocket-origin", nargs="*", default=None)
    s.add_argument("--show", action="store_true", help="open a browser tab")
    s.add_argument("extra", nargs=argparse.REMAINDER, help="further `panel serve` flags after --")
    s.set_defaults(func=serve)
    d = sub.add_parser("demo", help="print every divergence and the optimal q for a target")
    d.add_argument("--modes", type=int, default=3)
    d.add_argument("--spread", type=float, default=3.0)
    d.add_argument("--decay", type=float, default=0.55)
    d.add_argument("--mu", type=float, default=0.0)
    d.add_argument("--sigma", type=float, default=0.8)
    d.set_defaults(func=demo)
    args = parser.parse_args(argv)
    if getattr(args, "extra", None) and args.extra[0] == "--":
        args.extra = args.extra[1:]
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"klpanel: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
