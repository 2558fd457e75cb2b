"""Statistics featurization takes from its whole input, frozen at training time.

A featurization cell that fills gaps with ``df["age"].median()`` or scales with
``scaler.fit_transform(...)`` computes those from the batch it is given. In the notebook that
batch is the training data; in ``score.py`` it would be the one or two records of a request,
so a single record would be filled with its own value and scaled to zero. The generated
featurization instead wraps each such call so that training computes it and saves the value
beside the model, and scoring reuses the saved value (``fitted.py`` in the package)::

    df["age"] = df["age"].fillna(fitted("cell 3 line 2 col 30", df["age"], "median"))
    df["fare"] = df["fare"].clip(upper=fitted("cell 3 line 3 col 36", df["fare"], "quantile", 0.99))
    df[cols] = fitted_transform("cell 3 line 5 col 12", scaler, df[cols])

Only the call's text changes, never its line count, so every line still maps to its cell.
Values are saved by the column (or columns) they were computed from when there is one, so a
loop over "the columns with gaps" fills a record's gap with that column's training value.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Optional

#: Methods (and numpy functions) whose result summarises the whole batch.
STATISTICS = frozenset({"median", "mean", "std", "var", "quantile", "mode", "min", "max"})
TRANSFORM = "fit_transform"


@dataclass(frozen=True)
class FrozenCall:
    """One call in a featurization cell that training computes and scoring reuses."""

    key: str  # names the call in the generated code and in fitted.pkl
    kind: str  # "statistic" or "transform"
    node: ast.Call


def row_wise(call: ast.Call) -> bool:
    """``df.mean(axis=1)``, and ``df.mean(1)``: axis is the first parameter of these methods
    (not of ``quantile``, whose first is q)."""
    axis = [k.value for k in call.keywords if k.arg == "axis"]
    if not axis and call.args and getattr(call.func, "attr", "") != "quantile":
        axis = call.args[:1]
    return any(getattr(value, "value", None) in (1, "columns") for value in axis)


def frozen_calls(statement: ast.stmt, cell_number: int) -> list[FrozenCall]:
    """The outermost batch-statistic and ``fit_transform`` calls of a statement."""
    found: list[FrozenCall] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            kind = None
            if attr in STATISTICS and not row_wise(node):
                kind = "statistic"
            elif attr == TRANSFORM and (node.args or node.keywords):
                kind = "transform"
            if kind is not None:
                key = f"cell {cell_number} line {node.lineno} col {node.col_offset + 1}"
                found.append(FrozenCall(key, kind, node))
                return  # what is inside is computed only at training time anyway
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return  # runs when called, maybe not once per featurization
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(statement)
    return found


def _offset(lines: list[str], line: int, col: int) -> int:
    """Character offset of (1-based line, 0-based UTF-8 byte column) in ``lines``."""
    text = lines[line - 1].encode("utf-8")[:col].decode("utf-8", errors="ignore")
    return sum(len(x) + 1 for x in lines[:line - 1]) + len(text)


def _span(lines: list[str], node: ast.AST) -> tuple[int, int]:
    """Character offsets of ``node`` in the code ``lines`` were split from."""
    return (_offset(lines, node.lineno, node.col_offset),
            _offset(lines, node.end_lineno, node.end_col_offset))


def _splice(code: str, spans: list[tuple[int, int, str]]) -> str:
    """``code`` with each (start, end) range replaced by its text (ranges do not overlap)."""
    for start, end, text in sorted(spans, reverse=True):
        code = code[:start] + text + code[end:]
    return code


def rewrite(code: str, calls: list[FrozenCall]) -> str:
    """``code`` with each call wrapped for freezing; the line count does not change."""
    lines = code.split("\n")
    spans = []
    for call in calls:
        node = call.node
        start, end = _span(lines, node)
        func = node.func
        receiver_end = _offset(lines, func.value.end_lineno, func.value.end_col_offset)
        receiver = code[start:receiver_end]
        opening = code.index("(", receiver_end, end)
        arguments = code[opening + 1:end] if node.args or node.keywords else ")"
        if call.kind == "statistic":
            text = f'fitted("{call.key}", {receiver}, "{func.attr}"'
            text += f", {arguments}" if arguments != ")" else ")"
        else:
            text = f'fitted_transform("{call.key}", {receiver}, {arguments}'
        spans.append((start, end, text))
    return _splice(code, spans)


LOGGED = "logged_metrics"


def _logged_metric(node: ast.stmt) -> Optional[tuple[str, ast.expr]]:
    """``log_metric("r2", value)`` (or ``jupyter_mlops.log_metric``): its name and value."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name != "log_metric" or len(call.args) != 2 or call.keywords:
        return None
    key = call.args[0]
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value, call.args[1]
    return None


def has_metrics(code: str, is_metric) -> bool:
    """An evaluation cell computing a metrics dict or metric scores itself."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
               and (isinstance(node.value, (ast.Dict, ast.DictComp)) or is_metric(node.value))
               for node in ast.walk(tree))


def _label(text: str) -> str:
    return re.sub(r"[^\w]+", "_", text.strip().rstrip(":=").strip()).strip("_").lower()


def _printed_metrics(node: ast.stmt, is_metric) -> list[tuple[str, ast.expr]]:
    """``print("MAE:", mean_absolute_error(y, p))`` and ``print(f"R2 {r2_score(y, p):.3f}")``:
    each metric call with the label printed before it (else the function's name)."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "print"):
        return []
    found, label = [], ""
    parts: list[ast.expr] = []
    for arg in node.value.args:
        parts += arg.values if isinstance(arg, ast.JoinedStr) else [arg]
    for part in parts:
        value = part.value if isinstance(part, ast.FormattedValue) else part
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            label = _label(value.value) or label
        elif isinstance(value, ast.Call) and is_metric(value):
            name = label or _label(getattr(value.func, "attr", None) or value.func.id)
            found.append((name, value))
            label = ""
    return found


def logged_metrics(code: str, first: bool, is_metric=None) -> tuple[str, list[str]]:
    """An evaluation cell's ``log_metric("r2", value)`` calls (and, with ``is_metric``, the
    metric calls it prints) as a ``logged_metrics`` dict that the package's ``evaluate()``
    returns (in the package the calls would be lost), and the ``'r2': value`` items the
    recording evaluates in the notebook. ``first``: no earlier cell has created the dict.
    Line counts are kept, so every line still maps to its cell."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, []
    lines = code.split("\n")
    spans, items = [], []
    for stmt in tree.body:
        logged = _logged_metric(stmt)
        found = [logged] if logged else (_printed_metrics(stmt, is_metric) if is_metric else [])
        if not found:
            continue
        start, end = _span(lines, stmt)
        pairs = ", ".join(f"{key!r}: {code[slice(*_span(lines, value))]}" for key, value in found)
        text = (f"{LOGGED} = {{{pairs}}}" if first and not items
                else f"{LOGGED}.update({{{pairs}}})")
        text += "\n" * (stmt.end_lineno - stmt.lineno)
        spans.append((start, end, text))
        items += [f"{key!r}: {ast.unparse(value)}" for key, value in found]
    return _splice(code, spans), items
