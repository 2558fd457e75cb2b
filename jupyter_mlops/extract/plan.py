"""From a notebook with roles to a package plan: a short composition of the analysis steps.

read the program (clean, statements, display dropped) -> resolve every read to its last writer
(hidden state refused) -> find the model's fit and what it predicts on -> slice the scoring path
back to the raw records (trained state named) -> cut the training program into role functions
-> metrics and warnings.
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from typing import Optional

from ..errors import CellWarning, DataflowError, NotebookError
from ..notebook import Notebook
from .checks import (batch_warnings, chained_inplace_warnings, check_defs_are_closed,
                     check_no_anonymous_fits, check_no_shadowing, check_scoring_cell,
                     helper_batch_warnings)
from .columns import label_columns, string_constants
from .contract import Fit, fit_calls, find_fit, find_prediction
from .metrics import metrics_of
from .parameters import Parameter, notebook_parameters
from .program import EXPORTED, Piece, Program, read_program
from .resolve import Dataflow, resolve
from .rewrite import with_saved_statistics
from .segments import FUNCTION, ROLE_DOC, Segment, scoring_segment, training_segments
from .slicing import ScoringPath, scoring_path, split_source

__all__ = ["FUNCTION", "ROLE_DOC", "Parameter", "Piece", "Plan", "Segment", "ScoringPath",
           "notebook_parameters", "plan_package"]


@dataclass(frozen=True)
class Plan:  # pylint: disable=too-many-instance-attributes  # one record of every decision
    """Everything code generation needs, decided."""

    notebook: Notebook
    program: Program
    segments: tuple[Segment, ...]  # the training program, in notebook order
    scoring: Optional[Segment]  # the mlops:scoring cells, for score.py
    model: Optional[str]
    path: Optional[ScoringPath]  # new records -> the model's input
    label_columns: tuple[str, ...]
    metrics_expr: Optional[str]  # evaluated in train.main() over what the functions return
    metric_names: tuple[str, ...]
    recorded_metrics_expr: Optional[str]  # the same, as the recording evaluates it in the kernel
    warnings: tuple[CellWarning, ...]
    uses_pandas: bool
    one_hot: bool  # the path one-hot encodes with get_dummies: score.py aligns the columns
    fit_position: Optional[int] = None  # the statement fitting the model, in program.inline
    predict_wrapper: Optional[str] = None  # ``xgb.DMatrix``: what predict wants its input in
    search: bool = False  # the model is a hyper-parameter search: its best_estimator_ is served
    state: str = "state"  # the name of the trained state in generated code
    saves_statistics: bool = False

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """papermill's parameters cell."""
        return self.program.parameters

    @property
    def requirements(self) -> tuple[str, ...]:
        """Packages named by ``%pip install`` lines."""
        return self.program.requirements

    @property
    def trained(self) -> tuple[str, ...]:
        """Objects fit in training that scoring reuses (the model aside)."""
        return self.path.trained if self.path else ()

    @property
    def uses_state(self) -> bool:
        """Training saves a state beside the model (fitted objects, statistics)."""
        return bool(self.trained) or self.saves_statistics


def _require_roles(nb: Notebook) -> None:
    if not any(c.role in EXPORTED - {"parameters", "setup", "skip"} for c in nb.code_cells):
        raise NotebookError(
            "no cell has an mlops role, so there is nothing to export. Tag cells with "
            "mlops:data, mlops:featurization, mlops:training, ... (JupyterLab's tag editor, "
            "`jupyter mlops tag`), or run `jupyter mlops suggest --apply`",
            path=nb.path)


def _state_name(program: Program) -> str:
    used = set(program.module_level)
    for piece in program.inline:
        used |= piece.statement.reads | piece.statement.writes
    return "state" if "state" not in used else "trained_state"


def _fitted_names(program: Program) -> set[str]:
    return ({name for _, name, _ in fit_calls(program)}
            | {name for _, name, _ in fit_calls(program, "fit_transform")})


def _data_derived(program: Program) -> set[str]:
    """Names whose value comes from the loaded data (frames, splits, features, predictions)."""
    derived: set[str] = set()
    for piece in program.inline:
        if piece.role == "data" or piece.statement.reads & derived:
            derived |= piece.statement.writes
    return derived


def _path_origin(program: Program, fit: Fit, scoring: Optional[Segment]
                 ) -> tuple[int, ast.expr, Optional[Segment], list[CellWarning]]:
    """Where the scoring path starts: the scoring cell's input when it scores records from
    the training program, else what the model was fit on."""
    if scoring is None:
        return fit.position, fit.x, None, []
    fitted = _fitted_names(program)
    given = [n for n in scoring.params if n != fit.model and n not in fitted
             and n in _data_derived(program)]
    prediction = find_prediction(program, fit)
    if not given or not prediction.in_scoring_cell:
        return fit.position, fit.x, None, [CellWarning(
            "predicts on records the cell makes itself, so it is left out: score.py predicts "
            "on the records it is sent, featurized as the model's training input was",
            scoring.cells[0].ref)]
    in_call = {n.id for n in ast.walk(prediction.expr) if isinstance(n, ast.Name)}
    model_input = next((n for n in given if n in in_call), given[0])
    return scoring.positions[0], ast.Name(id=model_input, ctx=ast.Load()), scoring, []


def _saving_statistics(program: Program, path: ScoringPath, state: str
                       ) -> tuple[Program, set[int]]:
    """The program with the path's batch statistics saved from training (``state.median``)."""
    positions = {id(p): i for i, p in enumerate(program.inline)}
    inline = list(program.inline)
    changed = set()
    for step in path.steps:
        position = positions[id(step.piece)]
        piece = inline[position]
        text = with_saved_statistics(piece.source, state)
        if text != piece.source:
            inline[position] = dataclasses.replace(piece, text=text)
            changed.add(position)
    return dataclasses.replace(program, inline=tuple(inline)), changed


def _model_and_path(program: Program, flow: Dataflow, state: str):
    """The fit, the scoring cell, the scoring path and the program with saved statistics."""
    fit = find_fit(program)
    training = [p for p in program.inline if p.role == "training"]
    if fit is None:
        if training:
            raise DataflowError(
                "no `.fit(...)` call found in the training cells, so the trained model is "
                "unknown; fit the model in an mlops:training cell",
                path=program.notebook.path, cell=training[0].cell.ref)
        return None, None, None, program, set(), (), []
    constants = string_constants(p.statement.node for group in program.module_defs.values()
                                 for p in group)
    labels = label_columns([p.statement.node for p in program.inline[:fit.position]],
                           fit.y, constants, split_source)
    scoring = scoring_segment(program, flow)
    start, output, scoring, warnings = _path_origin(program, fit, scoring)
    path = scoring_path(program, start, output, labels, constants, state)
    if scoring is not None:
        given = set(scoring.params) - _data_derived(program)  # values training hands over
        check_scoring_cell(program, scoring, fit.model, path.output,
                           {path.raw} | _fitted_names(program) | given)
    program, stateful = _saving_statistics(program, path, state)
    if stateful:
        path = scoring_path(program, start, output, labels, constants, state)
        scoring = scoring_segment(program, flow) if scoring else None
    if scoring is not None:
        kept = _fitted_names(program) | (set(scoring.params) - _data_derived(program))
        path = dataclasses.replace(path, trained=tuple(dict.fromkeys(
            path.trained + tuple(n for n in scoring.params
                                 if n in kept and n not in (fit.model, path.output, path.raw)))))
    return fit, scoring, path, program, stateful, labels, warnings


def _metrics(program: Program) -> tuple[Optional[str], tuple[str, ...]]:
    nodes = [p.statement.node for p in program.inline if p.role == "evaluation"]
    expr, names = metrics_of(nodes)
    if expr is None and program.logged_metrics:
        return "logged_metrics", ("logged_metrics",)
    return expr, names


def _uses_pandas(program: Program) -> bool:
    if any("pandas" in ast.unparse(p.statement.node) for p in program.imports.values()):
        return True
    return any(isinstance(n, ast.keyword) and n.arg == "as_frame" and getattr(n.value, "value", 0)
               for p in program.inline for n in ast.walk(p.statement.node))


def _one_hot(path: Optional[ScoringPath]) -> tuple[bool, bool]:
    """(uses get_dummies, with drop_first still on) on the scoring path."""
    calls = [n for step in (path.steps if path else ()) for n in ast.walk(ast.parse(step.text))
             if isinstance(n, ast.Call) and "get_dummies" in (
                 getattr(n.func, "attr", None), getattr(n.func, "id", None))]
    drop_first = any(k.arg == "drop_first" and getattr(k.value, "value", True) is not False
                     for c in calls for k in c.keywords)
    return bool(calls), drop_first


def _is_search(program: Program, fit: Optional[Fit]) -> bool:
    """The model is made by ``GridSearchCV(...)`` (or another ``*SearchCV``)."""
    if fit is None:
        return False
    for piece in program.inline:
        node = piece.statement.node
        if (fit.model in piece.statement.writes and isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func).endswith("SearchCV")):
            return True
    return False


def plan_package(nb: Notebook) -> Plan:
    """Decide the package for ``nb``; raise a NotebookError naming the cell if it cannot."""
    _require_roles(nb)
    program = read_program(nb)
    check_defs_are_closed(program)
    flow = resolve(program)
    state = _state_name(program)
    fit, scoring, path, program, stateful, labels, warnings = _model_and_path(program, flow,
                                                                              state)
    metrics_expr, metric_names = _metrics(program)
    end_reads = set(metric_names) | set(path.trained if path else ()) | (
        {fit.model} if fit else set())
    segments = training_segments(program, flow, end_reads, stateful)
    check_no_shadowing(program, segments + ((scoring,) if scoring else ()))
    one_hot, drop_first = _one_hot(path)
    warnings = list(program.warnings) + warnings + chained_inplace_warnings(program)
    if path is not None:
        check_no_anonymous_fits(program, path.steps)
        warnings += batch_warnings(path.steps, one_hot and not drop_first)
        warnings += helper_batch_warnings(program, path.steps)
    if any(s.role == "evaluation" for s in segments) and metrics_expr is None:
        warnings.append(CellWarning(
            "no metrics found in the evaluation cells (assign a dict such as `metrics = {...}` "
            "or scores from *_score/*_error calls)"))
    return Plan(
        notebook=nb, program=program, segments=segments, scoring=scoring,
        model=fit.model if fit else None, path=path, label_columns=labels,
        metrics_expr=metrics_expr, metric_names=metric_names,
        recorded_metrics_expr=program.logged_metrics or metrics_expr,
        warnings=tuple(warnings), uses_pandas=_uses_pandas(program),
        one_hot=one_hot and not drop_first, fit_position=fit.position if fit else None,
        predict_wrapper=fit.predict_wrapper if fit else None, search=_is_search(program, fit),
        state=state, saves_statistics=bool(stateful),
    )
