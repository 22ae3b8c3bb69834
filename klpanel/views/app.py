"""``KLExplorer``: the whole page as one Viewer — served by ``apps/kl_explorer.py``, inline in Jupyter.

The sections share one :class:`~klpanel.models.explorer.Explorer` model; the optimisation-dynamics and
α-spectrum sections (their own modules) receive it too. Served, the page sits in a dark
``FastListTemplate`` with its light/dark switch, and its state lives in the URL.
"""

from __future__ import annotations

from functools import partial
from itertools import groupby
from urllib.parse import urlencode

import panel as pn
import param

from ..models.explorer import OPTION_SPECS, Explorer
from .cards import FormulaCards
from .deferred import Deferred, served_doc
from .dynamics import DynamicsSection
from .explore import ExploreSection
from .export import ExportPanel
from .lazy import Lazy
from .notebook import Outputs, kernel_loop
from .optimal import OptimalSection
from .spectrum import SpectrumSection
from .styles import PAGE_CSS, Fast, accessible, column
from .twod import TwoDSection

TITLE = "Forward KL vs Reverse KL Divergence"
SUBTITLE = ("Approximating a multimodal distribution p with one Gaussian q: forward KL(p‖q) is "
            "**mode-covering**, reverse KL(q‖p) is **mode-seeking** — and their relatives sit in between.")

#: URL query names of the synced parameters, per model (the target before ``components``).
URL_TARGET = {"n_modes": "modes", "spread": "spread", "decay": "decay"}
URL_Q = {"mu": "mu", "sigma": "sigma"}
URL_Q_DELAY_MS = 250  # q reaches the URL once it has rested this long
URL_EXPLORER = {"selected": "div", "custom": "components", "family": "family", "sigma_fixed": "sigma0"}

#: The page's sections, in order: attribute name -> Viewer class (each built with ``explorer=``).
SECTIONS = {"optimal": OptimalSection, "cards": FormulaCards, "explore": ExploreSection,
            "dynamics": DynamicsSection, "spectrum": SpectrumSection, "twod": TwoDSection, "export": ExportPanel}
#: sections below the first screen: served, each is built when it first comes into view (:mod:`.lazy`), its
#: placeholder titled with the start of its heading; the page's first section is never deferred, nor a page of one
LAZY = {"cards": "2. The divergences", "dynamics": "4. Optimization dynamics", "spectrum": "5. The α spectrum",
        "twod": "6. Two dimensions", "export": "Export"}


class KLExplorer(pn.viewable.Viewer):
    """The explorer app. ``KLExplorer()`` displays inline in Jupyter (after ``pn.extension("katex")``);
    ``KLExplorer().servable()`` serves it in a template. Drive it programmatically through
    ``.explorer`` (``app.explorer.q.mu = -3``, ``app.explorer.target.n_modes = 5``)."""

    explorer = param.ClassSelector(class_=Explorer, doc="The shared state of every section")
    sections = param.ListSelector(default=list(SECTIONS), objects=list(SECTIONS), constant=True,
                                  doc="Sections to show (e.g. just ['explore'] in a notebook)")

    def __init__(self, **params):
        params.setdefault("explorer", Explorer())
        super().__init__(**params)
        self.header = pn.pane.Markdown(f"# {TITLE}\n{SUBTITLE}", sizing_mode="stretch_width")
        self._bad_values: dict = {}
        self.url_message = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self._built: dict = {}  # the sections built so far (:meth:`section`)
        shown = [n for n in SECTIONS if n in self.sections]
        served = served_doc() is not None
        self._layout = column(self.header, self.url_message, sizing_mode="stretch_width", max_width=1400)
        # each section in a box named for it (``kl-section-explore``...): the page's landmarks for tests and styles;
        # served, each run of deferred sections is one placeholder (the box of the run's next section) until shown
        for deferred, run in groupby(shown, key=lambda n: served and n in LAZY and n != shown[0]):
            if deferred:
                Lazy([(partial(self._box, n), LAZY[n], box_classes(n)) for n in run], self._layout)
            else:
                self._layout.extend([self._box(n) for n in run])
        self.outputs = None  # in a notebook (a kernel's event loop runs the cells): the app's outputs
        if not served and kernel_loop() is not None:
            self.outputs = Outputs(self._layout)
            if "dynamics" in self._built:
                self._built["dynamics"].show_in(self.outputs)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = super()._repr_mimebundle_(include, exclude)
        if self.outputs is not None:  # a notebook: settled before the page has the output and can send to it
            self.outputs.settle()
        return bundle

    def _box(self, name: str):
        """Section ``name`` in its box: the section's own column when it is one (a layout less per section)."""
        view = pn.panel(self.section(name))
        if type(view) is pn.Column:
            view.css_classes = [*view.css_classes, *box_classes(name)]
            return view
        return pn.Column(view, sizing_mode="stretch_width", css_classes=box_classes(name))

    def section(self, name: str):
        """The section ``name`` (also ``app.<name>``), built on first use; None when it is not on the page."""
        if name not in self.sections:
            return None
        if name not in self._built:
            self._built[name] = SECTIONS[name](explorer=self.explorer)
        return self._built[name]

    def sync_url(self, location=None) -> None:
        """Keep target, q, the chosen divergences and their parameters in the URL's query string."""
        location = location or pn.state.location
        if location is None:
            return
        args = pn.state.session_args
        if not location.search and args:  # a session built when its page's websocket connected (a kept page's
            # HTML, klpanel.server.reuse): Panel reads the location from the websocket's URL, which has no query;
            # the page's own query came with the session's request
            location.search = "?" + urlencode([(k, v.decode("utf-8", "replace")) for k, vs in args.items()
                                               for v in vs])
        e = self.explorer
        location.sync(e.target, URL_TARGET, on_error=self._bad_url)
        location.sync(self._url_q(), URL_Q, on_error=self._bad_url)
        location.sync(e, URL_EXPLORER, on_error=self._bad_url)
        location.sync(e.options, {option: option for option in OPTION_SPECS}, on_error=self._bad_url)

    def _url_q(self):
        """q's stand-in in the URL: a copy the link reads into q at once, and that follows q once q has rested
        ``URL_Q_DELAY_MS`` (the browser's URL update, ~3-5 ms of its main thread, then costs once per drag, not
        once per slider step ahead of the step's repaint)."""
        q = self.explorer.q
        copy = type(q)(mu=q.mu, sigma=q.sigma)
        copy.param.watch(lambda *events: q.param.update(mu=copy.mu, sigma=copy.sigma), ["mu", "sigma"])
        follow, doc = Deferred(lambda: copy.param.update(mu=q.mu, sigma=q.sigma), URL_Q_DELAY_MS), served_doc()
        q.param.watch(lambda *events: follow(doc), ["mu", "sigma"])
        return copy

    def _bad_url(self, values: dict) -> None:
        """A link with values the models refuse: keep the defaults and say so (never a traceback)."""
        self._bad_values.update(values)
        text = ", ".join(f"{k}={v}" for k, v in self._bad_values.items())
        self.url_message.param.update(object=f"Ignored invalid link parameters: {text}", visible=True)

    def template(self, title: str = TITLE):
        """The served page: a dark FastListTemplate (light/dark switch in its header), klpanel's design
        (:mod:`.styles`: touch-sized controls on phones, a header title that wraps)."""
        self.header.object = SUBTITLE
        self._theme_from_link()
        # no template spinner: it follows Panel's process-wide busy state, so every callback of one session would
        # spin every other user's spinner and queue an update on every document (sessions² work); long work shows
        # its own progress bar in its section instead
        return pn.template.FastListTemplate(title=title, theme="dark", theme_toggle=True, main=[self._layout],
                                            main_max_width="1400px", accent="#1f77b4", design=Fast,
                                            font="system-ui, sans-serif", busy_indicator=None, raw_css=[PAGE_CSS])

    def _theme_from_link(self) -> None:
        """The link's ``?theme=``: ``dark``, ``default`` or its alias ``light``. Panel's template looks any other
        value up unchecked and the page failed with a KeyError (``?theme=light`` included); such a value is dropped
        from the request's arguments and named in the page's link message instead."""
        args = pn.state.session_args
        if not args.get("theme"):
            return
        value = args["theme"][0].decode("utf-8", "replace").strip("'\"")
        theme = THEME_NAMES.get(value.lower())
        if theme is None:
            del args["theme"]
            self._bad_url({"theme": value})
        else:
            args["theme"] = [theme.encode()]

    def servable(self, title: str = TITLE, location: bool = True, area: str = "main", target=None):
        """Serve the page in its template, with the state synced to the URL."""
        if served_doc() is not None:  # a server session (not Jupyter)
            self.sync_url()
            accessible(served_doc())
            return self.template(title).servable(title=title, location=location)
        return super().servable(title=title, location=location, area=area, target=target)

    def __panel__(self):
        return self._layout


def box_classes(name: str) -> list[str]:
    """The CSS classes of section ``name``'s box."""
    return ["kl-section", f"kl-section-{name}"]


#: a link's ``?theme=`` value -> the template's theme
THEME_NAMES = {"dark": "dark", "default": "default", "light": "default"}


for _name in SECTIONS:  # ``app.dynamics`` ...: the section, built on first use (None when not on the page)
    setattr(KLExplorer, _name, property(partial(KLExplorer.section, name=_name), doc=f"The {_name} section"))
