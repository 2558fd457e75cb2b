"""``train.py``: the training functions and ``main()``, which runs the notebook's training
program in notebook order and saves the model (and the trained state scoring reuses)."""

from __future__ import annotations

import ast

from ..extract.plan import Plan
from .builder import Builder, Module, template
from .functions import add_segment, code_reads, module_docstring, positional
from .imports import render_imports
from .modules import segment_texts

TRAIN_IMPORTS = ("import argparse", "import json", "import os", "import pickle",
                 "from pathlib import Path")
MODEL_FILE = "model.pkl"


def _argument(plan: Plan, name: str) -> str:
    param = next(p for p in plan.parameters if p.name == name)
    kind = {
        "int": "int",
        "float": "float",
        "str": "str",
        "bool": 'lambda value: value.lower() in ("1", "true", "yes")',
    }.get(param.type_name or "", "json.loads")
    flag = "--" + name.replace("_", "-")
    return (f'    parser.add_argument("{flag}", dest="{name}", type={kind}, '
            f'default={param.default}, help="parameters cell default: %(default)s")')


def used_parameters(plan: Plan) -> list[str]:
    """Parameters any generated function reads, in parameters-cell order."""
    used = {n for s in plan.segments for n in s.kwparams}
    used |= set(plan.path.kwparams if plan.path else ())
    used |= set(plan.scoring.kwparams if plan.scoring else ())
    return [p.name for p in plan.parameters if p.name in used]


def _calls(plan: Plan) -> tuple[list[str], list[str]]:
    """Lines of ``main()`` calling the functions in order, and the imports they need."""
    steps, imports = [], []
    later: set[str] = set(plan.metric_names) | set(plan.trained) | {plan.model or ""}
    reads_after = []
    for segment in reversed(plan.segments):
        reads_after.append(set(later))
        later |= set(segment.params)
    reads_after.reverse()
    for segment, needed in zip(plan.segments, reads_after):
        args = positional(plan, segment) + [f"{n}=args.{n}" for n in segment.kwparams]
        call = f"{segment.name}({', '.join(args)})"
        targets = [n if n in needed else "_" for n in segment.returns]
        steps.append(f"{', '.join(targets)} = {call}" if targets else call)
        if segment.module != "train":
            imports.append(f"from .{segment.module} import {segment.name}")
    if plan.metrics_expr != "metrics":
        steps.append(f"metrics = {plan.metrics_expr or '{}'}")
    return steps, imports


def _seeds(plan: Plan) -> tuple[list[str], set[str]]:
    seeds = plan.program.seeds
    if not seeds:
        return [], set()
    cells = ", ".join(sorted({str(p.cell.number) for p in seeds}))
    lines = [f"# seeded as notebook cell {cells} does, so training reproduces it"]
    lines += [ast.unparse(p.statement.node) for p in seeds]
    return lines, set().union(*(p.statement.reads for p in seeds))


def train_module(plan: Plan, package: str) -> Module:
    """``train.py`` with the training functions and ``main()``."""
    steps, local_imports = _calls(plan)
    seed_lines, seed_reads = _seeds(plan)
    if plan.uses_state:
        steps.insert(0, f"{plan.state} = TrainedState()")
        local_imports.append("from .state import TrainedState")
    if plan.search:
        steps.append(f"{plan.model} = {plan.model}.best_estimator_  # the search's best model "
                     "is what is served")
    if plan.trained:
        kept = ", ".join(f"{n}={n}" for n in plan.trained)
        steps.append(f"{plan.state}.keep({kept})  # fitted objects the scoring path reuses")
    used = used_parameters(plan)
    tail = template("train_main.py.tmpl").substitute(
        package=package,
        notebook=plan.notebook.path.replace("\\", "/").rsplit("/", 1)[-1],
        arguments="\n".join(_argument(plan, n) for n in used),
        pipeline="\n".join(f"    {s}" for s in seed_lines + steps),
        model=plan.model,
        parameters="{" + ", ".join(f'"{n}": args.{n}' for n in used) + "}",
        save_state=f"    {plan.state}.save(model_dir)  # what scoring reuses from training\n"
        if plan.uses_state else "",
    )
    segments = [s for s in plan.segments if s.module == "train"]
    builder = Builder(f"{package}/train.py")
    builder.add(module_docstring(plan, "train", [s.name for s in segments] + ["main"]))
    builder.add()
    needed = code_reads(plan, segment_texts(plan, "train") + seed_lines)
    needed |= seed_reads & set(plan.program.module_level)
    builder.add(render_imports(plan.program, needed, "train",
                               TRAIN_IMPORTS + tuple(local_imports)))
    builder.add()
    builder.add(f'MODEL_FILE = "{MODEL_FILE}"')
    builder.add()
    builder.add()
    for segment in segments:
        add_segment(builder, plan, segment)
    builder.add(tail)
    return builder.module()
