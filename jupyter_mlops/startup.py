"""Process start-up of our own entry points (the CLI, job workers): defer what they never use.

``import nbformat`` imports jsonschema, which imports ``rfc3987_syntax`` when it is installed
(``jsonschema[format-nongpl]``, which jupyter-events pulls in with every JupyterLab) only to
check ``"format": "iri"`` values; that import builds a Lark grammar, about 2 s of CPU on this
project's 2-core machines, in every process that reads a notebook. Notebook validation never
checks formats, so our entry points put a stand-in in its place whose ``is_valid_syntax``
imports the real module the first time something does check an IRI: nothing is lost, only
deferred. Library users' processes are left alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

IRI_MODULE = "rfc3987_syntax"


def _stand_in() -> types.ModuleType:
    module = types.ModuleType(IRI_MODULE, "stand-in: imports rfc3987_syntax when first used")

    def real() -> types.ModuleType:
        if sys.modules.get(IRI_MODULE) is module:
            del sys.modules[IRI_MODULE]
        return importlib.import_module(IRI_MODULE)

    def is_valid_syntax(*args, **kwargs):
        return real().is_valid_syntax(*args, **kwargs)

    def attribute(name: str):
        if name.startswith("__"):  # the import system asks for __path__ & co.: not a package
            raise AttributeError(name)
        return getattr(real(), name)  # anything else: the real module's

    module.is_valid_syntax = is_valid_syntax
    module.__getattr__ = attribute
    return module


def defer_unused_imports() -> None:
    """Install the stand-in, unless jsonschema is imported already or the module is absent."""
    if "jsonschema" in sys.modules or IRI_MODULE in sys.modules:
        return
    if importlib.util.find_spec(IRI_MODULE) is None:
        return
    sys.modules[IRI_MODULE] = _stand_in()
