"""The served app's adjustments of Bokeh, Panel and tornado internals, in one place and behind one switch.

Nothing here is installed by importing klpanel: the server's setup (``apps/server_setup.py``,
:mod:`klpanel.server.startup`) calls :func:`install_all`, and the ``klpanel.server.assets`` plugin, which the server
imports before it builds its routes, installs ``rootstatic``. Each speedup is one module with ``install()`` and
``uninstall()`` that names the library versions it was written for (``WRITTEN_FOR``); under any other version it
stands down with one logged warning and the stock behaviour stays. What each one does and gains:
``benchmarks/README.md``, "Speedups".

``KLPANEL_SPEEDUPS`` in the environment chooses: unset or ``1`` all, ``0`` none, a comma list of names only
those (``serialization,onloop``), names with a minus all but those (``-ticker,-widgets``).
"""

from __future__ import annotations

import importlib
import logging
import os
from importlib.metadata import PackageNotFoundError, version

log = logging.getLogger(__name__)

#: every speedup, in install order (``heap`` last: it freezes what the others imported)
NAMES = ("serialization", "onloop", "nodelay", "widgets", "ticker", "bokehjs", "novalidate", "defaults", "pages",
         "stylesheets", "copies", "offload", "nomathjax", "panelayout", "rootstatic", "heap")

_warned: set[str] = set()


def module(name: str):
    """The speedup module ``name`` (imported on first use)."""
    if name not in NAMES:
        raise ValueError(f"no speedup {name!r}; the speedups are {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}")


def installed_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"


def _matches(found: str, wanted: str) -> bool:
    """``"3.10.2"`` matches ``"3.10"`` (a release series), not ``"3.1"``."""
    return found == wanted or found.startswith(wanted + ".")


def mismatches(written_for: dict[str, str]) -> dict[str, str]:
    """``{package: installed version}`` for every package whose version is outside what a speedup was written for."""
    found = {package: installed_version(package) for package in written_for}
    return {p: v for p, v in found.items() if not _matches(v, written_for[p])}


def fits(name: str, written_for: dict[str, str]) -> bool:
    """Whether this process's libraries are the ones speedup ``name`` was written for; else one warning (once per
    process and speedup) and False: the caller stands down."""
    wrong = mismatches(written_for)
    if not wrong:
        return True
    if name not in _warned:
        _warned.add(name)
        log.warning("klpanel speedup %r stands down: written for %s, found %s", name,
                    ", ".join(f"{p} {v}" for p, v in written_for.items()),
                    ", ".join(f"{p} {v}" for p, v in wrong.items()))
    return False


class Patches:
    """A speedup's replacements of library attributes, ``(owner, attribute, replacement)`` each, installed and
    uninstalled together: a module's ``install``, ``uninstall`` and ``installed`` can be this object's. ``cleared``
    (optional) runs after an uninstall (caches the replacements kept)."""

    def __init__(self, name: str, written_for: dict[str, str], replacements, cleared=None):
        self.name, self.written_for, self.cleared = name, written_for, cleared
        self.replacements = list(replacements)
        _absent = object()
        self._stock = [(owner, attr, owner.__dict__.get(attr, _absent)) for owner, attr, _ in self.replacements]
        self._absent = _absent
        self._installed = False

    def installed(self) -> bool:
        return self._installed

    def install(self) -> bool:
        """Put the replacements in (idempotent); False, and nothing changed, outside ``written_for``."""
        if self._installed:
            return True
        if not fits(self.name, self.written_for):
            return False
        for owner, attr, replacement in self.replacements:
            setattr(owner, attr, replacement)
        self._installed = True
        return True

    def uninstall(self) -> None:
        """The stock attributes back (an attribute the owner did not have is removed)."""
        if not self._installed:
            return
        for owner, attr, stock in self._stock:
            if stock is self._absent:
                delattr(owner, attr)
            else:
                setattr(owner, attr, stock)
        if self.cleared is not None:
            self.cleared()
        self._installed = False


def chosen(setting: str | None = None) -> list[str]:
    """The speedups ``KLPANEL_SPEEDUPS`` (or ``setting``) turns on, in install order (see the module)."""
    setting = os.environ.get("KLPANEL_SPEEDUPS", "1") if setting is None else setting
    items = [item.strip() for item in setting.split(",") if item.strip()]
    if not items or items == ["1"]:
        return list(NAMES)
    if items == ["0"]:
        return []
    wanted = {item for item in items if not item.startswith("-")}
    unwanted = {item[1:] for item in items if item.startswith("-")}
    unknown = (wanted | unwanted) - set(NAMES)
    if unknown:
        raise ValueError(f"KLPANEL_SPEEDUPS names no speedup {', '.join(sorted(unknown))}; "
                         f"the speedups are {', '.join(NAMES)}")
    return [n for n in NAMES if (n in wanted or not wanted) and n not in unwanted]


def install_all(setting: str | None = None) -> list[str]:
    """Install the speedups ``KLPANEL_SPEEDUPS`` chooses (before the first session); the names installed."""
    for name in chosen(setting):
        module(name).install()
    names = active()
    log.info("klpanel speedups active: %s", ", ".join(names) or "none")
    return names


def uninstall_all() -> None:
    """Every installed speedup back to the stock behaviour (reverse order)."""
    for name in reversed(NAMES):
        if name in _loaded():
            module(name).uninstall()


def _loaded() -> list[str]:
    """The speedup modules imported so far (one never imported was never installed)."""
    import sys
    return [n for n in NAMES if f"{__name__}.{n}" in sys.modules]


def active() -> list[str]:
    """The names of the speedups installed now, in install order."""
    return [n for n in _loaded() if module(n).installed()]


def report() -> dict:
    """For ``/status``: per speedup, whether it is active, the versions it was written for and, if it stood down,
    the versions found."""
    out = {}
    for name in NAMES:
        mod = module(name)
        out[name] = {"active": mod.installed(), "written_for": mod.WRITTEN_FOR,
                     "stood_down": mismatches(mod.WRITTEN_FOR) or None}
    return out
