"""Section 4 — optimisation dynamics: side-by-side runs animated on a live loss landscape.

:mod:`.section` (the Viewer: widgets and wiring), :mod:`.landscape` (the landscape figure), :mod:`.cards` (a card
per run), :mod:`.animation` (the periodic callback, frames and pacing).
"""

from .animation import LOOKAHEAD_STEPS, SLOW_EVERY
from .cards import Q_SHAPE
from .section import DynamicsSection

__all__ = ["DynamicsSection", "LOOKAHEAD_STEPS", "Q_SHAPE", "SLOW_EVERY"]
