"""The one generation layer: a plan (and a recording) -> the text of every package file.

``generate_modules`` writes the Python modules, ``support_files`` the rest; both are pure
(no disk access) and byte-stable. ``Builder`` is the public way to emit code with its cells.
The modules do not depend on the recording beyond the kind of the raw records (a table, rows
or single values: :func:`code_shape`); what it recorded of them is a data file
(``training_input.json``), so the modules exist, and can be linted, before the recording runs.
"""

from __future__ import annotations

import ast
import sys
from typing import Optional

from ..extract.plan import Plan
from .builder import Builder, Module, formatted, plain_module, template
from .functions import code_reads, common_module, notebook_name
from .modules import path_texts, role_module
from .scoring import code_shape, raw_kind, score_module
from .support import not_proven, pylintrc, support_files
from .training import train_module

__all__ = ["Builder", "Module", "code_shape", "formatted", "generate_modules", "import_names",
           "imported_modules", "not_proven", "pylintrc", "raw_kind", "support_files",
           "template"]


def _used_helpers(plan: Plan) -> set[str]:
    texts = [p.source for s in plan.segments for p in s.pieces] + path_texts(plan)
    texts += [p.source for p in plan.scoring.pieces] if plan.scoring else []
    texts += [ast.unparse(p.statement.node) for p in plan.program.seeds]
    return code_reads(plan, texts)


def generate_modules(plan: Plan, package: str, kind: Optional[dict] = None) -> list[Module]:
    """Every Python module of the package, formatted, for raw records of this ``kind``
    (:func:`raw_kind`; None: guessed from the plan)."""
    name = notebook_name(plan)
    init = Builder(f"{package}/__init__.py")
    init.add(f'"""{package}: production package generated from {name} by jupyter-mlops."""')
    modules = [init.module()]
    common = common_module(plan, package, _used_helpers(plan))
    if common is not None:
        modules.append(common)
    for module in ("data", "featurize", "evaluate"):
        found = role_module(plan, package, module)
        if found is not None:
            modules.append(found)
    if plan.uses_state:
        modules.append(plain_module(f"{package}/state.py",
                                    template("state.py.tmpl").substitute(notebook=name)))
    if any(s.role == "training" for s in plan.segments):
        modules.append(train_module(plan, package))
    if plan.model is not None and plan.path is not None:
        modules.append(score_module(plan, package, kind or raw_kind(plan, None)))
        modules.append(plain_module(f"{package}/serve.py", template("serve.py.tmpl").substitute(
            package=package, notebook=name)))
        modules.append(plain_module(f"{package}/onnx_model.py",
                                    template("onnx_model.py.tmpl").substitute(notebook=name)))
    return modules


def imported_modules(modules: list[Module]) -> list[str]:
    """Every absolute module the generated code imports (``sklearn.linear_model``), its own
    package's aside."""
    names = set()
    for module in modules:
        package = module.path.split("/", 1)[0]
        for node in ast.parse(module.text).body:
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module)
        names = {n for n in names if n.split(".")[0] != package}
    return sorted(names)


def import_names(modules: list[Module]) -> list[str]:
    """Top-level third-party modules the generated code imports."""
    names = {name.split(".")[0] for name in imported_modules(modules)}
    return sorted(n for n in names if n not in sys.stdlib_module_names and n != "__future__")
