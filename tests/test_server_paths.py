"""klpanel's served paths in a real session with Bokeh's Python client (no browser): the server speedups that
change how Bokeh's server runs callbacks and sockets (onloop, nodelay, ticker; each test installs the one it
tests), and animation frames reaching the client intact and in order with the speedups ``KLPANEL_SPEEDUPS``
chooses (CI runs this file with all of them and with none)."""

import asyncio
import functools
import threading
import time

import pytest
from pagetools import answering, free_port, wait_until

from klpanel.server import speedups
from klpanel.server.speedups import onloop
from klpanel.views import components


@pytest.fixture
def installed(request):
    """``installed("onloop", ...)``: those speedups for the test, then back to stock."""
    def install(*names):
        for name in names:
            assert speedups.module(name).install()
        request.addfinalizer(speedups.uninstall_all)
    return install


@pytest.fixture
def chosen_speedups():
    """The speedups ``KLPANEL_SPEEDUPS`` chooses, as the server's setup installs them (the heap freeze aside: this
    is the test process)."""
    for name in speedups.chosen():
        if name != "heap":
            speedups.module(name).install()
    yield speedups.active()
    speedups.uninstall_all()


def test_coroutine_callbacks_are_recognised_through_wrappers_and_partials():
    async def coro(x):
        return x

    def plain(x):
        return x

    @functools.wraps(coro)
    def wrapped(*args):
        return coro(*args)

    class Owner:
        async def method(self):
            return 1

    assert onloop.is_coroutine_callback(coro)
    assert onloop.is_coroutine_callback(functools.partial(coro, 1))
    assert onloop.is_coroutine_callback(wrapped)
    assert onloop.is_coroutine_callback(Owner().method)
    assert not onloop.is_coroutine_callback(plain)
    assert not onloop.is_coroutine_callback(functools.partial(plain, 1))


def _serve(app):
    import panel as pn
    port = free_port()
    server = pn.serve(app, port=port, address="127.0.0.1", threaded=True, show=False,
                      websocket_origin=f"127.0.0.1:{port}", liveness=True)
    wait_until(lambda: answering(f"http://127.0.0.1:{port}/liveness"), timeout=30)
    return server, f"http://127.0.0.1:{port}/"


def _client(url):
    """Bokeh's Python client on its own loop, pulled document and all; returns (session, loop)."""
    import importlib
    import pkgutil

    import panel.models
    from bokeh.client import pull_session
    from tornado.ioloop import IOLoop
    for module in pkgutil.iter_modules(panel.models.__path__):
        try:
            importlib.import_module(f"panel.models.{module.name}")
        except Exception:
            pass
    asyncio.set_event_loop(asyncio.new_event_loop())
    loop = IOLoop.current()
    return pull_session(url=url, io_loop=loop), loop


def test_coroutine_callbacks_run_on_the_loop_under_the_lock_and_sync_ones_in_a_worker(installed):
    installed("onloop")
    import panel as pn
    from bokeh.models import Div
    seen = {}

    def app():
        doc = pn.state.curdoc

        def locked():
            return doc.session_context._session._lock.locked()

        async def body(tag, created_on):
            seen[tag] = (created_on, threading.current_thread(), locked(), asyncio.get_running_loop())

        def make(tag):
            @functools.wraps(body)
            def callback():  # Bokeh calls this; it returns the coroutine (what Panel's callbacks do)
                return body(tag, threading.current_thread())
            return callback

        def sync_callback():
            seen["sync"] = (threading.current_thread(), locked())

        doc.add_next_tick_callback(make("next_tick"))
        doc.add_timeout_callback(make("timeout"), 50)
        doc.add_next_tick_callback(sync_callback)
        return pn.pane.Bokeh(Div(text="x"))

    server, url = _serve(app)
    try:
        session, loop = _client(url)  # the server makes the session's document: app() runs, the callbacks follow
        wait_until(lambda: len(seen) == 3, timeout=30, what="the three callbacks")
        session.close()
    finally:
        server.stop()
    for tag in ("next_tick", "timeout"):
        created_on, ran_on, locked, _ = seen[tag]
        assert created_on is ran_on, f"{tag}: the coroutine was made in {created_on.name}, not on the loop"
        assert locked
    sync_thread, sync_locked = seen["sync"]
    assert sync_thread is not seen["next_tick"][1] and sync_locked  # Bokeh's own path: a worker, locked


def test_animation_frames_reach_the_client_intact_and_in_order(chosen_speedups):
    from bokeh.events import DocumentReady
    from tornado.ioloop import PeriodicCallback

    from klpanel.models.explorer import Explorer
    from klpanel.views.dynamics import DynamicsSection

    sections = []

    def app():
        section = DynamicsSection(explorer=Explorer())
        sections.append(section)
        return section

    server, url = _serve(app)
    try:
        session, loop = _client(url)
        now = session.document.get_model_by_name("dynamics-now")
        received = []
        handle = session._handle_patch

        def on_patch(message):
            handle(message)
            received.append(list(now.data["mu"]))

        session._handle_patch = on_patch
        session.document.callbacks.send_event(DocumentReady())
        deadline = time.monotonic() + 60
        # the client checks its predicate when a message comes; this timer stops its loop if none comes
        PeriodicCallback(lambda: loop.stop() if time.monotonic() > deadline else None, 250).start()
        session._connection._loop_until(lambda: len(received) >= 40 or time.monotonic() > deadline)
        session.close()
    finally:
        server.stop()
    section = sections[0]
    assert len(received) >= 40, "the animation did not reach the client"
    for i, run in enumerate(section.model.runs):
        path = [float(v) for v in run.trajectory["mu"]]
        got = [mus[i] for mus in received if len(mus) > i]
        positions = [path.index(m) for m in got]  # every received mu is a state the run went through ...
        assert positions == sorted(positions)  # ... in the order it went through them
        assert positions[-1] - positions[0] >= 20


def test_small_browser_patches_are_applied_on_the_loop(installed):
    installed("onloop")
    import panel as pn
    from bokeh.models import Slider

    seen = []
    loops = []

    def app():
        slider = Slider(start=0, end=10, value=1, name="s")
        slider.on_change("value", lambda attr, old, new: seen.append((new, threading.current_thread())))

        async def note_loop():
            loops.append(threading.current_thread())
        pn.state.curdoc.add_next_tick_callback(note_loop)
        return pn.pane.Bokeh(slider)

    server, url = _serve(app)
    try:
        session, loop = _client(url)
        wait_until(lambda: loops, timeout=30, what="the loop thread")
        slider = session.document.get_model_by_name("s")
        slider.value = 7  # one event: applied on the server's loop
        session._connection._loop_until(lambda: True)  # let the client send it
        wait_until(lambda: seen, timeout=30, what="the slider's change on the server")
        session.close()
    finally:
        server.stop()
    assert seen[0][0] == 7 and seen[0][1] is loops[0]

    def patch(n_events, buffers=False):
        return type("M", (), {"content": {"events": [{}] * n_events}, "buffers": [b"x"] if buffers else []})()
    assert onloop.is_small_patch(patch(1)) and onloop.is_small_patch(patch(onloop.SMALL_PATCH_EVENTS))
    assert not onloop.is_small_patch(patch(onloop.SMALL_PATCH_EVENTS + 1))
    assert not onloop.is_small_patch(patch(1, buffers=True))


def test_the_servers_websockets_send_without_nagles_delay(installed):
    """Bokeh's messages are several websocket frames written in a row: without TCP_NODELAY each frame after the
    first waits for the browser's delayed ACK (~40 ms on the μ slider's steps)."""
    installed("nodelay")
    import socket

    import panel as pn
    from bokeh.models import Div

    docs = []

    def app():
        docs.append(pn.state.curdoc)
        return pn.pane.Bokeh(Div(text="x"))

    server, url = _serve(app)
    try:
        session, loop = _client(url)
        connections = wait_until(lambda: docs and list(docs[0].session_context._session._subscribed_connections),
                                 timeout=30, what="the websocket connection")
        sock = connections[0]._socket.ws_connection.stream.socket
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        session.close()
    finally:
        server.stop()


def test_deferred_runs_once_after_a_burst_and_arms_few_timers():
    """klpanel.views.deferred.Deferred, called at every step of a drag, runs its function once, delay_ms after the
    last call, arming a timer only when none is pending (not one per call)."""
    import panel as pn
    from bokeh.models import Div

    from klpanel.views.deferred import Deferred

    calls, runs, armed = [], [], []

    def app():
        doc = pn.state.curdoc
        deferred = Deferred(lambda: runs.append((time.monotonic(), pn.state.curdoc is doc)), 100)
        add = doc.add_timeout_callback
        doc.add_timeout_callback = lambda cb, ms: (armed.append(ms), add(cb, ms))[1]

        def step(k):
            calls.append(time.monotonic())
            deferred(doc)
            if k < 9:
                doc.add_timeout_callback(functools.partial(step, k + 1), 20)
        doc.add_next_tick_callback(functools.partial(step, 0))
        return pn.pane.Bokeh(Div(text="x"))

    server, url = _serve(app)
    try:
        session, loop = _client(url)
        wait_until(lambda: runs, timeout=30, what="the deferred call")
        time.sleep(0.3)  # a second run would come within this
        session.close()
    finally:
        server.stop()
    assert len(calls) == 10 and len(runs) == 1
    ran_at, on_its_doc = runs[0]
    assert on_its_doc and ran_at - calls[-1] >= 0.099
    deferred_timers = len([ms for ms in armed if ms != 20])  # the steps' own timers are 20 ms
    # about one per delay_ms of the burst (a timer that fires early re-arms for the rest), not one per call
    assert deferred_timers <= 3 + (calls[-1] - calls[0]) / 0.1 and deferred_timers < len(calls), armed


def _tickers():
    from klpanel.server.speedups.ticker import Ticker
    return [components.STOCK["Ticker"], Ticker]


@pytest.mark.parametrize("Ticker", _tickers(), ids=["stock", "speedup"])
def test_ticker_ticks_on_the_loop_under_the_lock_follows_a_new_period_and_stops(Ticker):
    import panel as pn
    from bokeh.models import Div

    ticks, made = [], []

    def app():
        doc = pn.state.curdoc

        def tick():
            ticks.append((time.monotonic(), threading.current_thread(), doc.session_context._session._lock.locked(),
                          pn.state.curdoc is doc))
            if len(ticks) == 5:
                ticker.period = 60  # a new period while running: re-registered, still one callback
            if len(ticks) == 10:
                ticker.stop()

        ticker = Ticker(tick, 20, doc)
        made.append((ticker, doc))
        ticker.start()
        ticker.start()  # a second start while running changes nothing
        return pn.pane.Bokeh(Div(text="x"))

    server, url = _serve(app)
    try:
        session, loop = _client(url)
        wait_until(lambda: len(ticks) >= 10, timeout=30, what="ten ticks")
        time.sleep(0.3)  # what must not happen: more ticks after stop()
        assert len(ticks) == 10
        ticker, doc = made[0]
        assert getattr(ticker, "served", True) and not ticker.running
        assert ticker.period == 60
        session.close()
    finally:
        server.stop()
    loop_thread = ticks[0][1]
    assert all(t is loop_thread for _, t, _, _ in ticks) and loop_thread is not threading.main_thread()
    assert all(locked and current for _, _, locked, current in ticks)
    gaps = [b[0] - a[0] for a, b in zip(ticks, ticks[1:])]
    assert min(gaps[5:]) > 0.045  # after the change: the 60 ms period (was 20)


@pytest.mark.parametrize("Ticker", _tickers(), ids=["stock", "speedup"])
def test_ticker_outside_a_server_is_panels_periodic_callback(Ticker):
    ticker = Ticker(lambda: None, 30)
    assert not getattr(ticker, "served", False) and not ticker.running
    ticker.period = 40
    assert ticker.period == 40
