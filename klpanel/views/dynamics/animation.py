"""The animator: one periodic callback per session steps the runs and shows them a frame at a time.

The runs are stepped ``LOOKAHEAD_STEPS`` steps ahead at once and shown one frame's worth per tick (``Run.frame``);
Pause shows where the runs are. A frame only streams the new trajectory points and replaces a few short columns of
Bokeh ``ColumnDataSource``s, all held and sent as one websocket message (``pn.io.hold()``); nothing is rebuilt per
frame.
"""

from __future__ import annotations

import html
import time

import numpy as np
import panel as pn
from bokeh.core.property.validation import validate

from .. import components
from ...plots.style import COLORS, Q_COLOR
from .landscape import PATH_COLUMNS, PATH_ROLLOVER, RESTART_COLOR, restart_color

TICK_BUDGET = 0.4  # share of the callback period the stepping may use
#: the animation steps the runs this many steps ahead at once (spread over the frames that show them): the
#: numerics run once for several frames while their code is warm in the CPU's caches. Served, between two ticks
#: the caches go cold, and one cold step cost as much as three warm ones (four runs: 1.0 ms a step cold,
#: 0.65 ms a frame with four steps at once). An optimizer setting changed while playing (it does not restart the
#: runs) shows from the next steps computed: at most LOOKAHEAD_STEPS - 1 frames (~0.1 s) later
LOOKAHEAD_STEPS = 4
SLOW_EVERY = 5  # readouts and loss curves refresh every 5th frame (6 Hz at 30 fps): text can't be read faster,
# and their label, range and stream changes were a third of a frame's server work at every 3rd frame


def banner(text: str, color: str = Q_COLOR) -> str:
    return (f'<div class="kl-dynamics-status" style="padding:4px 10px;border-left:4px solid {color};'
            f'background:rgba(128,128,128,0.12)">{html.escape(text)}</div>')


class Animator:
    """The animation of :class:`~.section.DynamicsSection`: frames, Play/Pause, pacing, catching up on Pause."""

    def _full_push(self):
        self._sent_path = {}
        self._shown = {}
        with pn.io.hold():
            self.path_source.data = {k: [] for k in PATH_COLUMNS}
            self.start_source.data = {"mu": [self.model.mu0], "sigma": [self.model.sigma0],
                                      "log_sigma": [float(np.log(self.model.sigma0))]}
            self._push(full=True)

    def _push(self, full=False, slow=True, runs=None):
        """One frame's changes (call inside ``pn.io.hold()``); readouts and loss curves only when ``slow``.
        ``runs``: the frames (``Run.frame``) of every run to show, in ``all_runs`` order (default: as they are)."""
        m = self.model
        runs = [r.frame() for r in m.all_runs] if runs is None else runs
        n_panels = len(m.runs)
        with validate(False):  # values come from our own code: skip Bokeh's per-property validation
            for panel, run in zip(self.panels, runs):
                panel.push(run, full, slow)
            path = {k: [] for k in PATH_COLUMNS}
            for i, run in enumerate(runs):
                self._extend_path(path, run, COLORS[run.divergence] if i < n_panels else RESTART_COLOR,
                                  2.5 if i < n_panels else 1.2)
            if path["x0"]:
                self.path_source.stream(path, rollover=PATH_ROLLOVER)
            self.now_source.data = {"mu": [r.mu for r in runs], "sigma": [r.sigma for r in runs],
                                    "log_sigma": [float(np.log(r.sigma)) for r in runs],
                                    "color": [COLORS[r.divergence] if i < n_panels else restart_color(r)
                                              for i, r in enumerate(runs)],
                                    "size": [11 if i < n_panels else 7 for i in range(len(runs))]}
            text = self._restart_html(runs[n_panels:]) if m.restarts else ""
            if text != self.restart_text.object:
                self.restart_text.object = text

    def step(self, readouts=False, ahead=1):
        """Show the next frame: ``steps_per_frame`` more steps of every run, with the readouts when asked (a Step
        press: then every step taken is shown). The runs are stepped only when a frame needs steps not taken
        yet, ``ahead`` frames' worth at once (the animation); the frames in between show steps already taken."""
        t0 = time.perf_counter()
        spf = self.model.steps_per_frame
        runs = self.model.all_runs
        shown = [self._on_screen(r) for r in runs]
        if any(r.active and r.trajectory_length - s < spf for r, s in zip(runs, shown)):
            self._advance(max(1, ahead) * spf, t0)
        if readouts:
            frames = [r.frame() for r in runs]
        else:
            frames = [r.frame(min(s + spf, r.trajectory_length)) for r, s in zip(runs, shown)]
        self._shown = {id(f.run): (f.run, f.trajectory_length) for f in frames}
        self._frames += 1
        with pn.io.hold(self._doc):  # one message
            self._push(slow=readouts or self._frames % SLOW_EVERY == 0, runs=frames)
        self._frame_ms.append(1e3 * (time.perf_counter() - t0))
        del self._frame_ms[:-200]

    def _advance(self, todo: int, t0: float) -> None:
        budget = TICK_BUDGET * self._period() / 1000.0
        while todo > 0:  # many steps per frame: stop early rather than outlast the callback's period
            chunk = min(todo, 5)
            if not self.model.advance(chunk):
                break
            todo -= chunk
            if time.perf_counter() - t0 > budget:
                break

    def _on_screen(self, run) -> int:
        """Trajectory entries of ``run`` the page shows (all of them unless the animation lags the run)."""
        known = self._shown.get(id(run))
        return known[1] if known is not None and known[0] is run else run.trajectory_length

    @property
    def caught_up(self) -> bool:
        """Whether the page shows every step the runs have taken."""
        return all(self._on_screen(r) == r.trajectory_length for r in self.model.all_runs)

    def _ahead(self) -> int:
        """Frames the animation computes at once: LOOKAHEAD_STEPS steps' worth, at least one frame."""
        return max(1, LOOKAHEAD_STEPS // self.model.steps_per_frame)

    def _tick(self):
        if self.outputs is not None:  # a notebook
            if not self.outputs.shown:  # every output is gone: Play stays pressed, an output shown again resumes
                self._callback.stop()
                return
            if self.outputs.behind:  # a page is still applying earlier frames: no new one until it has
                return
            self.outputs.adopt()  # a landscape rendered anew went into the output's document: back to the shared one
        if self._no_browser():
            self.stop()
            return
        self._pace(time.perf_counter())
        self.step(ahead=self._ahead())
        if self.model.done and self.caught_up:
            self.stop("all runs have converged or stopped")

    def _no_browser(self) -> bool:
        doc = pn.state.curdoc
        ctx = getattr(doc, "session_context", None) if doc is not None else None
        session = getattr(ctx, "_session", None)
        return session is not None and getattr(session, "connection_count", 1) == 0

    @property
    def running(self) -> bool:
        return self._callback is not None and self._callback.running

    def start(self):
        """Start (or resume) the periodic callback that animates the runs."""
        if self.model.done:
            self.model.reset("Play pressed after every run had finished")
        if self._callback is None:
            self._callback = components.Ticker(self._tick, self._period(), self._doc)
        if not self._callback.running:
            self._ticks.clear()  # pacing restarts from the nominal period
            self._callback.period = self._period()
            self._callback.start()
        if not self.play.value:
            self.play.value = True
        self.play.label = "Pause"

    def stop(self, reason: str = ""):
        if self._callback is not None:
            self._callback.stop()
        if self.play.value:
            self.play.value = False
        self.play.label = "Play"
        if reason:
            self.status.object = banner(f"Paused: {reason}.")

    def _pace(self, now: float) -> None:
        """Keep the frame rate at ``fps``: Bokeh's periodic callback sleeps the period minus the callback's own
        time, and the event loop's other work and timer slack make each frame a millisecond or two late (29 frames
        a second for 30 asked). Once a second the period is shortened by the measured lateness (never below 60 %
        of the nominal period)."""
        ticks = self._ticks
        ticks.append(now)
        if now - ticks[0] < 1.0 or len(ticks) < 3 or self._callback is None:
            return
        interval = 1e3 * (ticks[-1] - ticks[0]) / (len(ticks) - 1)
        del ticks[:-1]
        nominal = 1000.0 / self.model.fps
        aim = 0.98 * nominal  # a hair faster than asked: the period is whole milliseconds, ticks run late
        period = int(min(nominal, max(0.6 * nominal, self._callback.period - (interval - aim))))
        if period != self._callback.period:
            self._callback.period = period

    def _period(self) -> int:
        return max(int(round(1000.0 / self.model.fps)), 15)

    def _on_fps(self, *events):
        self._ticks.clear()
        if self._callback is not None:
            self._callback.period = self._period()

    def _on_play(self, event):
        if event.new:
            self.start()
        else:
            self.stop()
            self.catch_up()

    def catch_up(self):
        """Show every step the runs have taken (on Pause: the page shows where the runs are)."""
        if self._doc is not None and self._doc.session_context is None:
            return  # the session is gone (its destroy hook pauses the animation): no page to show them on
        if not self.caught_up:
            self._shown = {}
            with pn.io.hold(self._doc):
                self._push()

    def _on_load(self):
        if self.autoplay and self.play.value:
            self.start()

    def _on_session_destroyed(self, session_context):
        self.stop()
        self._callback = None
