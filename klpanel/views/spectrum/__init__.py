"""Section 5 — the α spectrum, the spread phase plot and the distillation losses.

:mod:`.section` (the Viewer and its reactions), the tabs :mod:`.alpha`, :mod:`.phase`, :mod:`.distillation`,
background computations :mod:`.jobs`, shared curve helpers :mod:`.curves`.
"""

from .section import SpectrumSection

__all__ = ["SpectrumSection"]
