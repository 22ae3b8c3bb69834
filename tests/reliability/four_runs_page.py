"""The explorer with four runs in its dynamics section (forward KL, reverse KL, JSD, TV): the issue's "four runs +
landscape trajectories" configuration, for ``benchmarks/bench_load.py --app four``."""

import panel as pn

from klpanel import KLExplorer

pn.extension("katex", notifications=True)

app = KLExplorer()
for name in ("jsd", "tv"):
    app.dynamics.model.add_run(name)
app.servable()
