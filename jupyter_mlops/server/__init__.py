"""jupyter_server extension: the REST API under ``/mlops/api/`` (thin handlers over the core)."""

from .extension import MlopsExtension

__all__ = ["MlopsExtension"]
