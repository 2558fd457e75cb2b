"""The role modules: data.py, featurize.py (with the scoring path), evaluate.py."""

from __future__ import annotations

import textwrap
from typing import Optional

from ..extract.plan import Plan
from .builder import Builder, Module
from .functions import (add_defaults, add_docstring, add_segment, code_reads, module_docstring,
                        signature)
from .imports import render_imports

MODEL_INPUT = "model_input"


def segment_texts(plan: Plan, module: str) -> list[str]:
    """The code of a module's functions."""
    return [p.source for s in plan.segments if s.module == module for p in s.pieces]


def path_texts(plan: Plan) -> list[str]:
    """The code of the scoring path, the model input expression included."""
    if plan.path is None:
        return []
    return [step.text for step in plan.path.steps] + [plan.path.output]


def _path_positional(plan: Plan) -> list[str]:
    path = plan.path
    assert path is not None
    return [path.raw] + ([plan.state] if plan.uses_state else [])


def add_model_input(builder: Builder, plan: Plan) -> None:
    """``model_input(raw, state)``: the scoring path as one function."""
    path = plan.path
    assert path is not None
    builder.add(f"def {MODEL_INPUT}({signature(plan, _path_positional(plan), path.kwparams)}):")
    cells = sorted({step.piece.cell.index: step.piece.cell for step in path.steps}.items())
    numbers = ", ".join(str(c.number) for _, c in cells)
    where = f" ({'cells' if len(cells) > 1 else 'cell'} {numbers})" if cells else ""
    builder.add(f'    """The model\'s input for new records ``{path.raw}``: the notebook\'s '
                "scoring path.")
    builder.add()
    for line in textwrap.wrap(
            "The statements that lead from the raw records to what the model was fit on, in "
            f"notebook order{where}; fitted objects and statistics come from training, so a "
            "few records get what they got in the training set.", 88):
        builder.add(f"    {line}")
    builder.add('    """')
    add_defaults(builder, plan, path.kwparams)
    for name in path.trained:
        builder.add(f"    {name} = {plan.state}.{name}  # fitted in training")
    builder.end_block()
    for step in path.steps:
        note = f"scoring: {step.changed}" if step.changed else None
        builder.add_code(step.text, step.piece.cell, step.piece.statement.start, "    ", note)
    builder.add(f"    return {path.output}")
    builder.add()
    builder.add()


def role_module(plan: Plan, package: str, module: str,
                extra_imports: tuple[str, ...] = ()) -> Optional[Module]:
    """A role's module: imports, then its functions in notebook order."""
    segments = [s for s in plan.segments if s.module == module]
    with_path = module == "featurize" and plan.path is not None
    if not segments and not with_path:
        return None
    api = [s.name for s in segments] + ([MODEL_INPUT] if with_path else [])
    builder = Builder(f"{package}/{module}.py")
    builder.add(module_docstring(plan, module, api))
    builder.add()
    texts = segment_texts(plan, module) + (path_texts(plan) if with_path else [])
    builder.add(render_imports(plan.program, code_reads(plan, texts), module, extra_imports))
    builder.add()
    builder.add()
    for segment in segments:
        add_segment(builder, plan, segment)
    if with_path:
        add_model_input(builder, plan)
    return builder.module()


def scoring_function(builder: Builder, plan: Plan) -> None:
    """The mlops:scoring cells as ``predict(...)`` in score.py."""
    scoring = plan.scoring
    assert scoring is not None
    builder.add(f"def {scoring.name}({signature(plan, scoring.params, scoring.kwparams)}):")
    add_docstring(builder, "Predict on new records as the notebook's scoring cell does",
                  scoring.cells)
    add_defaults(builder, plan, scoring.kwparams)
    builder.end_block()
    for piece in scoring.pieces:
        builder.add_code(piece.source, piece.cell, piece.statement.start, "    ")
    builder.add(f"    return {', '.join(scoring.returns)}")
    builder.add()
    builder.add()
