"""Test-wide setup: the shared helper modules (tests/reference.py, tests/ui/pagetools.py) import from any folder."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE / "ui"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
