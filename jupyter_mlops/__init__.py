"""jupyter-mlops: from a tagged notebook to a production package and recorded training jobs.

Public API: :func:`productionize`, :func:`run` (a recorded training job), :func:`log_metric`,
:func:`log_artifact`, ``__version__``.
Heavy modules load lazily so ``import jupyter_mlops`` (and ``jupyter mlops --help``) is instant.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_LAZY = {
    "productionize": "jupyter_mlops.productionize",
    "check": "jupyter_mlops.productionize",
    "log_metric": "jupyter_mlops.tracking",
    "log_artifact": "jupyter_mlops.tracking",
    "run": "jupyter_mlops.jobs.run",
}

__all__ = ["__version__", *_LAZY]  # noqa: PLE0604 - the keys are strings


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    attribute = "run_job" if name == "run" else name
    return getattr(importlib.import_module(module), attribute)


def _jupyter_server_extension_points() -> list[dict]:
    """How jupyter_server finds the extension (enabled by jupyter-config on install)."""
    from .server import MlopsExtension  # pylint: disable=import-outside-toplevel

    return [{"module": "jupyter_mlops.server", "app": MlopsExtension}]


def _jupyter_labextension_paths() -> list[dict]:
    """Where the built lab extension is (``jupyter labextension develop .`` links it)."""
    return [{"src": "labextension", "dest": "jupyter-mlops"}]
