"""Statistics featurization takes from its whole input, frozen at training time.

A featurization cell that fills gaps with ``df["age"].median()`` or scales with
``scaler.fit_transform(...)`` computes those from the batch it is given. In the notebook that
batch is the training data; in ``score.py`` it would be the one or two records of a request,
so a single record would be filled with its own value and scaled to zero. The generated
featurization instead wraps each such call so that training computes it and saves the value
beside the model, and scoring reuses the saved value (``fitted.py`` in the package)::

    df["age"] = df["age"].fillna(fitted("cell 3 line 2", df["age"].median))
    df["fare"] = df["fare"].clip(upper=fitted("cell 3 line 3", lambda: df["fare"].quantile(0.99)))
    df[cols] = fitted_transform("cell 3 line 5", scaler, df[cols])

Only the call's text changes, never its line count, so every line still maps to its cell.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

#: Methods (and numpy functions) whose result summarises the whole batch.
STATISTICS = frozenset({"median", "mean", "std", "var", "quantile", "mode", "min", "max"})
TRANSFORM = "fit_transform"


@dataclass(frozen=True)
class FrozenCall:
    """One call in a featurization cell that training computes and scoring reuses."""

    key: str  # names the call in the generated code and in fitted.pkl
    kind: str  # "statistic" or "transform"
    node: ast.Call


def _row_wise(call: ast.Call) -> bool:
    return any(k.arg == "axis" and getattr(k.value, "value", None) in (1, "columns")
               for k in call.keywords)


def frozen_calls(statement: ast.stmt, cell_number: int) -> list[FrozenCall]:
    """The outermost batch-statistic and ``fit_transform`` calls of a statement."""
    found: list[FrozenCall] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            kind = None
            if attr in STATISTICS and not _row_wise(node):
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


def rewrite(code: str, calls: list[FrozenCall]) -> str:
    """``code`` with each call wrapped for freezing; the line count does not change."""
    lines = code.split("\n")
    spans = []
    for call in calls:
        node = call.node
        start = _offset(lines, node.lineno, node.col_offset)
        end = _offset(lines, node.end_lineno, node.end_col_offset)
        original = code[start:end]
        if call.kind == "statistic" and (node.args or node.keywords):
            text = f'fitted("{call.key}", lambda: {original})'
        elif call.kind == "statistic":  # the bound method itself: pylint's W0108
            func_end = _offset(lines, node.func.end_lineno, node.func.end_col_offset)
            text = f'fitted("{call.key}", {code[start:func_end]})'
        else:
            func = node.func
            receiver_end = _offset(lines, func.value.end_lineno, func.value.end_col_offset)
            receiver = code[start:receiver_end]
            opening = code.index("(", receiver_end, end)
            text = f'fitted_transform("{call.key}", {receiver}, {code[opening + 1:end]}'
        spans.append((start, end, text))
    for start, end, text in sorted(spans, reverse=True):
        code = code[:start] + text + code[end:]
    return code
