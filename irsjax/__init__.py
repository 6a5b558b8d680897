"""irsjax: physical-layer security with intelligent reflecting surfaces, in JAX.

Submodules and the engine's entry points are imported on first use (PEP 562), so ``import irsjax``
(and the command line's argument checks) does not import JAX.

>>> import irsjax
>>> irsjax.__version__ >= "0.1"
True
>>> irsjax.estimate is irsjax.montecarlo.estimate
True
"""
from importlib import import_module as _import_module
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("irsjax")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.1.0"

_SUBMODULES = ("units", "geometry", "pathloss", "channels", "phases", "metrics", "special", "montecarlo")
_FROM_MONTECARLO = ("estimate", "sweep", "Estimate")

__all__ = ["__version__", *_SUBMODULES, *_FROM_MONTECARLO]


def __getattr__(name):
    if name in _SUBMODULES:
        return _import_module(f"irsjax.{name}")
    if name in _FROM_MONTECARLO:
        return getattr(_import_module("irsjax.montecarlo"), name)
    raise AttributeError(f"module 'irsjax' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(__all__))
