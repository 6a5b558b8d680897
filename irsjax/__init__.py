"""irsjax: physical-layer security with intelligent reflecting surfaces, in JAX.

>>> import irsjax
>>> irsjax.__version__ >= "0.1"
True
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("irsjax")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.1.0"

from irsjax import units, geometry, pathloss, channels, phases, metrics, special, montecarlo  # noqa: E402
from irsjax.montecarlo import estimate, sweep, Estimate  # noqa: E402

__all__ = [
    "__version__", "units", "geometry", "pathloss", "channels", "phases", "metrics", "special",
    "montecarlo", "estimate", "sweep", "Estimate",
]
