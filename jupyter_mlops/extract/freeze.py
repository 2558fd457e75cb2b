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


def logged_metrics(code: str, first: bool) -> tuple[str, list[str]]:
    """An evaluation cell's ``log_metric("r2", value)`` calls as a ``logged_metrics`` dict
    that the package's ``evaluate()`` returns (in a job the calls record into the run; in the
    package they would be lost), and the ``'r2': value`` items the recording evaluates in the
    notebook. ``first``: no earlier cell has created the dict."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, []
    calls = [(stmt, found) for stmt in tree.body for found in [_logged_metric(stmt)] if found]
    lines = code.split("\n")
    spans, items = [], []
    for number, (stmt, (key, value)) in enumerate(calls):
        start, end = _span(lines, stmt)
        value_text = code[slice(*_span(lines, value))]
        text = (f"{LOGGED} = {{{key!r}: {value_text}}}" if first and number == 0
                else f"{LOGGED}[{key!r}] = {value_text}")
        spans.append((start, end, text))
        items.append(f"{key!r}: {ast.unparse(value)}")
    return _splice(code, spans), items
