"""jupyter-mlops: from a tagged notebook to a production package and recorded training jobs.

Public API: :func:`productionize`, :func:`log_metric`, :func:`log_artifact`, ``__version__``.
Heavy modules load lazily so ``import jupyter_mlops`` (and ``jupyter mlops --help``) is instant.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_LAZY = {
    "productionize": "jupyter_mlops.productionize",
    "check": "jupyter_mlops.productionize",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
