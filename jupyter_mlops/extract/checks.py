"""What the package could not do as the notebook does: refused with the cell named, or flagged."""

from __future__ import annotations

import ast
from typing import Iterable, Optional

from ..errors import CellWarning, DataflowError
from .dataflow import BUILTIN_NAMES, base_name
from .rewrite import row_wise
from .program import Piece, Program
from .segments import Segment
from .slicing import Step

_BATCH_DEPENDENT = frozenset({"get_dummies", "value_counts", "nunique", "rank", "qcut"})
_ROW_SUBSETS = frozenset({"head", "tail", "sample", "nlargest", "nsmallest"})


def check_defs_are_closed(program: Program) -> None:
    """A function moved to module level must not use notebook variables it was never given."""
    for pieces in program.module_defs.values():
        for piece in pieces:
            if piece.statement.kind != "def":
                continue
            missing = sorted(piece.statement.reads - program.module_level - BUILTIN_NAMES)
            if missing:
                raise DataflowError(
                    f"function `{piece.statement.node.name}` uses the notebook variable(s) "
                    f"{', '.join(f'`{m}`' for m in missing)} from outside; pass them as "
                    "arguments so the function works in a module",
                    path=program.notebook.path, cell=piece.cell.ref, line=piece.statement.start)


def check_no_shadowing(program: Program, segments: Iterable[Segment]) -> None:
    """A function-local assignment must not hide a shared module-level name."""
    for segment in segments:
        for piece in segment.pieces:
            assigned = {n.id for n in ast.walk(piece.statement.node)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            clash = sorted(assigned & program.module_level)
            if clash:
                raise DataflowError(
                    f"assigns `{clash[0]}`, which an mlops:setup cell or a function definition "
                    f"also defines; inside the {segment.role} function this would hide the "
                    "shared one. Use a different name",
                    path=program.notebook.path, cell=piece.cell.ref, line=piece.statement.start)


def _row_subset(node: ast.AST) -> Optional[str]:
    """What in an expression keeps only some rows: ``X.head(3)``, ``X[:10]``, ``X.iloc[5:]``."""
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr in _ROW_SUBSETS):
            return f".{sub.func.attr}(...)"
        if not isinstance(sub, ast.Subscript):
            continue
        index = sub.slice
        first = index.elts[0] if isinstance(index, ast.Tuple) and index.elts else index
        if isinstance(first, ast.Slice) and first.lower is None and first.upper is None:
            continue
        if (isinstance(sub.value, ast.Attribute) and sub.value.attr == "iloc") or isinstance(
                sub.slice, ast.Slice):
            return ast.unparse(sub)
    return None


def check_scoring_cell(program: Program, scoring: Segment, model: str, given: str,
                       also: set[str]) -> None:
    """A scoring cell must work from the model, the records' model input (and the records
    themselves or fitted objects, ``also``) only, on all of the records."""
    nb = program.notebook
    for name in scoring.params:
        if name not in {model, given} | also:
            raise DataflowError(
                f"reads `{name}`, but at scoring time only the model (`{model}`), the new "
                f"records and the model's input for them (`{given}`) exist; score from those",
                path=nb.path, cell=scoring.cells[0].ref)
    subsets: dict[str, str] = {}  # `sample = X.head(10)`: names holding only some rows
    for piece in scoring.pieces:
        node = piece.statement.node
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            part = _row_subset(node.value) or subsets.get(getattr(node.value, "id", None))
            if part:
                subsets[node.targets[0].id] = part
        for call in ast.walk(node):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and base_name(call.func.value) == model and call.args):
                continue
            part = _row_subset(call.args[0]) or subsets.get(getattr(call.args[0], "id", None))
            if part:
                raise DataflowError(
                    f"predicts on `{ast.unparse(call.args[0])}`, only some of the records "
                    f"(`{part}`); score.py must return one prediction per record it is sent, so "
                    "predict on all of them and look at a few in a skip cell",
                    path=nb.path, cell=piece.cell.ref, line=piece.statement.start)
    if not scoring.returns:
        raise DataflowError("assigns no variable; assign the predictions (e.g. "
                            "`predictions = model.predict(X)`)", path=nb.path,
                            cell=scoring.cells[-1].ref)


def _called(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def batch_warnings(steps: Iterable[Step], one_hot: bool) -> list[CellWarning]:
    """The scoring path runs on each request's few records: what it still takes from the whole
    batch (not saved from training) gives one record other values or columns."""
    warnings = []
    for step in steps:
        for node in ast.walk(ast.parse(step.text)):
            if not isinstance(node, ast.Call):
                continue
            called = _called(node.func)
            if called == "get_dummies" and one_hot:
                continue  # score.py aligns one-hot columns with the model's
            grouped = called == "transform" and "groupby" in ast.unparse(node.func)
            if (called in _BATCH_DEPENDENT or grouped) and not row_wise(node) and (
                    isinstance(node.func, ast.Attribute) or called == "get_dummies"):
                warnings.append(CellWarning(
                    f"`{ast.unparse(node)[:60]}` depends on the whole batch; at scoring time it "
                    "sees only the new records (one record gets other values or columns). Fit "
                    "it in training (a sklearn Pipeline) or use fixed values",
                    step.piece.cell.ref, step.piece.statement.start))
                break
    return warnings


def helper_batch_warnings(program: Program, steps: Iterable[Step]) -> list[CellWarning]:
    """A notebook function the scoring path calls that takes statistics from its whole input:
    only statistics written in the cells themselves are saved from training."""
    from .rewrite import statistic_calls  # pylint: disable=import-outside-toplevel

    defs = {piece.statement.node.name: piece for group in program.module_defs.values()
            for piece in group if isinstance(piece.statement.node, ast.FunctionDef)}
    warnings = []
    for step in steps:
        called = [_called(c.func) for c in ast.walk(ast.parse(step.text))
                  if isinstance(c, ast.Call)]
        for name in dict.fromkeys(called):
            helper: Optional[Piece] = defs.get(name)
            if helper is None:
                continue
            found = [c for stmt in helper.statement.node.body for c in statistic_calls(stmt)]
            if found:
                warnings.append(CellWarning(
                    f"`{name}` ({helper.cell.ref}) computes `{ast.unparse(found[0])[:50]}` from "
                    "its whole input; at scoring time that is only the new records. Write that "
                    "step in the cell itself, where it is computed at training and reused when "
                    "scoring", step.piece.cell.ref, step.piece.statement.start))
    return warnings


def check_no_anonymous_fits(program: Program, steps: Iterable[Step]) -> None:
    """``X = StandardScaler().fit_transform(X)`` on the scoring path: nothing keeps the fitted
    object, so scoring would fit it again on each request's few records."""
    for step in steps:
        for node in ast.walk(ast.parse(step.text)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("fit_transform", "fit")
                    and isinstance(node.func.value, ast.Call)):
                made = ast.unparse(node.func.value)
                raise DataflowError(
                    f"fits `{made[:60]}` without keeping it in a variable, so scoring would fit "
                    "it again on each request's records; name it (`scaler = "
                    f"{made[:40]}` then `scaler.{node.func.attr}(...)`) and training keeps the "
                    "fitted one for scoring",
                    path=program.notebook.path, cell=step.piece.cell.ref,
                    line=step.piece.statement.start)


def _pandas_copy_on_write() -> bool:
    """pandas 3 and later: a column taken from a frame is a copy (Copy-on-Write)."""
    from importlib.metadata import PackageNotFoundError, version  # pylint: disable=C0415

    try:
        return int(version("pandas").split(".", 1)[0]) >= 3
    except (PackageNotFoundError, ValueError):
        return False


def chained_inplace_warnings(program: Program) -> list[CellWarning]:
    """``df["age"].fillna(0, inplace=True)`` changes nothing under Copy-on-Write, in the
    notebook as in the package (both agree, so nothing is refused): the user most likely
    meant the assignment, so say so with the cell and the line to write instead."""
    if not _pandas_copy_on_write():
        return []
    warnings = []
    for piece in program.inline:
        for node in ast.walk(piece.statement.node):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, (ast.Subscript, ast.Attribute))
                    and base_name(node.func.value) is not None
                    and any(k.arg == "inplace" and isinstance(k.value, ast.Constant)
                            and k.value.value is True for k in node.keywords)):
                continue
            target = ast.unparse(node.func.value)
            call = ast.Call(node.func, node.args, [k for k in node.keywords if k.arg != "inplace"])
            warnings.append(CellWarning(
                f"`{ast.unparse(node)[:70]}` changes nothing with pandas 3 (Copy-on-Write: "
                f"`{target[:40]}` is a copy), in the notebook as in the package; to change it, "
                f"write `{target} = {ast.unparse(call)}`"[:300], piece.cell.ref,
                piece.statement.start))
    return warnings
