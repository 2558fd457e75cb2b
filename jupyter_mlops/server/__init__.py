"""jupyter_server extension: the REST API under ``/mlops/api/`` (thin handlers over the core)."""

from .extension import load_jupyter_server_extension

# The name jupyter_server looks for.
_load_jupyter_server_extension = load_jupyter_server_extension

__all__ = ["load_jupyter_server_extension"]
