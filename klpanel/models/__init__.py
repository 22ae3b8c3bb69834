"""Models: ``param.Parameterized`` state (target, q, optimizers, runs, landscape, spectrum, dynamics, explorer).

They read the numerics and import no Panel, Bokeh, HoloViews or Tornado: usable and testable on their own.
"""
