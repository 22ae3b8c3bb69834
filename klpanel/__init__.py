"""klpanel: forward vs reverse KL (and relatives) between a Gaussian mixture p and a Gaussian q.

Models and numerics (``Target``, ``Approximation``, ``divergences``, ``optimal_q``) import no Panel;
the Panel views load lazily (``klpanel.KLExplorer``) so the numerics stay light.
"""

from .numerics import divergences
from .models.approximation import Approximation
from .numerics.optima import optimal_q
from .models.target import Target

__version__ = "0.1.0"
__all__ = ["Approximation", "Target", "divergences", "optimal_q", "__version__"]


def __getattr__(name):
    if name == "KLExplorer":
        from .views import KLExplorer
        return KLExplorer
    raise AttributeError(f"module 'klpanel' has no attribute {name!r}")
