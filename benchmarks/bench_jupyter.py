"""Jupyter benchmark: the app in a real JupyterLab (``jupyter lab`` on a free port, headless Chromium), one notebook
``app = klpanel.KLExplorer(); app`` run through the Run menu:

* frames delivered per second with the default two runs (Monte-Carlo gradients, so neither converges): updates of
  the landscape's ``dynamics-now`` source applied in the page, counted by a ``change`` listener on that source in
  every Bokeh document of the page (JupyterLab gives each output its own) over ``--window`` seconds;
* μ slider -> readouts: the μ handle moved by the keyboard (one step per press), ms from the key press to the
  change of the Explore readouts' text in the page; median and p95 over ``--presses``, the animation paused, then
  the same while it plays;
* the kernel's periodic callbacks while animating (``klpanel.views.notebook.running_tickers``).

Run: ``.venv/bin/python benchmarks/bench_jupyter.py``. Prints the figures beside their targets (issue 17: ≥ 20
frames a second, slider p95 ≤ 100 ms); benchmarks/README.md keeps a run of it by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from jupyter import JupyterLab, kernel_value, notebook, open_notebook, page_js, run_all_cells  # noqa: E402
from pagetools import CHROMIUM, CHROMIUM_ARGS, wait_until  # noqa: E402

APP = notebook('import panel as pn\n\nimport klpanel\n\npn.extension("katex")',
               "app = klpanel.KLExplorer()\napp")

#: frames delivered: changes of every ``dynamics-now`` source on the page (one per output) during ``seconds``
FPS_JS = """(seconds) => new Promise(resolve => {
  let frames = 0;
  const sources = klAllNamed('dynamics-now');
  const count = () => frames++;
  for (const s of sources) s.connect(s.properties.data.change, count);
  setTimeout(() => {
    for (const s of sources) s.disconnect(s.properties.data.change, count);
    resolve({frames, sources: sources.length});
  }, seconds * 1000);
})"""

#: the μ slider's handle focused (for the keyboard) and the readouts' text changes timed from the last key press
SLIDER_JS = """() => {
  const slider = Bokeh.documents.flatMap(d => [...d._all_models.values()])
    .find(m => m.type === 'Slider' && m.title === 'μ (mean of q)');
  const view = Bokeh.index.find_one(slider);
  view.shadow_el.querySelector('.noUi-handle').focus();
  window.klKeyAt = null; window.klLatency = [];
  document.addEventListener('keydown', () => { window.klKeyAt = performance.now(); }, true);
  for (const m of Bokeh.documents.flatMap(d => [...d._all_models.values()]))
    if ((m.css_classes || []).includes('klpanel-readouts'))
      m.properties.text.change.connect(() => {
        if (window.klKeyAt !== null) { window.klLatency.push(performance.now() - window.klKeyAt); window.klKeyAt = null; }
      });
}"""


def press(page, key: str, n: int, gap_ms: int) -> list[float]:
    """Press ``key`` ``n`` times, each once the readouts showed the previous one (and ``gap_ms`` more); the ms
    from each press to its readouts."""
    page.evaluate("() => { window.klLatency = []; }")
    for i in range(n):
        page.keyboard.press(key)
        page.wait_for_function(f"() => window.klLatency.length >= {i + 1}", timeout=30_000)
        page.wait_for_timeout(gap_ms)
    return page.evaluate("() => window.klLatency")


def measure(window: float, presses: int) -> dict:
    from playwright.sync_api import sync_playwright

    r = {}
    with tempfile.TemporaryDirectory() as tmp:
        lab = JupyterLab(Path(tmp), Path(tmp) / "jupyterlab.log")
        try:
            lab.write("bench.ipynb", APP)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                open_notebook(page, lab, "bench.ipynb")
                t0 = time.monotonic()
                run_all_cells(page)
                r["run_all_s"] = time.monotonic() - t0
                kernel = lab.kernel_client("bench.ipynb")
                # noisy runs never converge, so frames keep coming (the default runs may have converged already)
                kernel_value(kernel, "app.dynamics.model.estimator", "app.dynamics.model.estimator = "
                             "'reparameterization'\napp.dynamics.play.value = True")
                wait_until(lambda: kernel_value(kernel, "app.dynamics.running"), timeout=120, what="the animation")
                page.wait_for_timeout(2000)
                r["fps"] = page_js(page, FPS_JS, window)
                r["fps"]["per_s"] = r["fps"]["frames"] / window
                r["tickers"] = kernel_value(kernel, "len(running_tickers())",
                                            "from klpanel.views.notebook import running_tickers")
                page_js(page, SLIDER_JS)
                r["slider_playing"] = press(page, "ArrowRight", presses, 150)
                kernel_value(kernel, "app.dynamics.play.value", "app.dynamics.play.value = False")
                wait_until(lambda: not kernel_value(kernel, "app.dynamics.running"), timeout=60, what="paused")
                r["slider"] = press(page, "ArrowLeft", presses, 150)
                browser.close()
            kernel.stop_channels()
        finally:
            lab.stop()
    return r


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=5.0, help="seconds the frames are counted over")
    parser.add_argument("--presses", type=int, default=30, help="μ slider key presses timed (each way)")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("bench_jupyter: chromium is not installed (Debian package 'chromium')")
    load = os.getloadavg()[0]
    r = measure(args.window, args.presses)
    pct = lambda xs: f"{statistics.median(xs):.0f} / {np.percentile(xs, 95):.0f} ms"  # noqa: E731
    rows = [("Run All Cells -> every cell run (page already open)", f"{r['run_all_s']:.1f} s", "—"),
            (f"animating 2 runs: frames delivered per second ({r['fps']['sources']} output)",
             f"{r['fps']['per_s']:.1f}", "≥ 20"),
            ("kernel's running klpanel tickers while animating", str(r["tickers"]), "1"),
            ("μ key press -> readouts changed, paused: median / p95", pct(r["slider"]), "p95 ≤ 100 ms"),
            ("μ key press -> readouts changed, animating: median / p95", pct(r["slider_playing"]), "—")]
    width = max(len(row[0]) for row in rows)
    print(f"JupyterLab benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}: {os.cpu_count()} cores, load average "
          f"{load:.1f} at the start; `bench_jupyter.py --window {args.window:g} --presses {args.presses}`")
    for label, value, target in rows:
        print(f"{label.ljust(width)}  {value:>16}  {target}")


if __name__ == "__main__":
    main()
