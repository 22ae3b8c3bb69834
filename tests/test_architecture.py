"""The layers' walls, read from the source (every import statement, also inside functions): numerics → models →
plots → views → server, each importing only layers to its left and the libraries its job needs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "klpanel"
UI_LIBRARIES = ("panel", "bokeh", "holoviews", "tornado")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)  # `from . import views` names a module
    return found


def violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    """``file: module`` for every import in klpanel/<layer> of a module in (or under) ``forbidden``."""
    folder = PACKAGE / layer
    if not folder.is_dir():
        pytest.skip(f"klpanel/{layer} does not exist (yet)")
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for name in sorted(imports(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(PACKAGE.parent)}: {name}")
    return bad


def test_the_checker_sees_relative_and_nested_imports(tmp_path, monkeypatch):
    """The wall test can fail: a planted relative import inside a function is found."""
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "klpanel")
    planted = tmp_path / "klpanel" / "numerics" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("def f():\n    from ..models import explorer\n    import panel.widgets\n")
    assert violations("numerics", ("klpanel.models", "panel")) == [
        "klpanel/numerics/planted.py: klpanel.models", "klpanel/numerics/planted.py: klpanel.models.explorer",
        "klpanel/numerics/planted.py: panel.widgets"]


def test_numerics_import_nothing_of_the_app():
    assert violations("numerics", ("klpanel.models", "klpanel.plots", "klpanel.views", "klpanel.server",
                                   *UI_LIBRARIES)) == []


def test_models_import_no_ui():
    assert violations("models", ("klpanel.plots", "klpanel.views", "klpanel.server", *UI_LIBRARIES)) == []


def test_plots_import_no_panel_and_no_views_or_server():
    assert violations("plots", ("klpanel.views", "klpanel.server", "panel")) == []


def test_views_never_import_the_server():
    assert violations("views", ("klpanel.server",)) == []
