"""Metrics a notebook only logs (``log_metric``) or prints: made into a ``logged_metrics``
dict that the package's evaluation returns, since in a module the calls would be lost."""

from __future__ import annotations

import ast
import re
from typing import Optional

from .rewrite import segment, span, splice


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
    spans, items = [], []
    for stmt in tree.body:
        logged = _logged_metric(stmt)
        found = [logged] if logged else (_printed_metrics(stmt, is_metric) if is_metric else [])
        if not found:
            continue
        start, end = span(code, stmt)
        pairs = ", ".join(f"{key!r}: {segment(code, value)}" for key, value in found)
        text = (f"{LOGGED} = {{{pairs}}}" if first and not items
                else f"{LOGGED}.update({{{pairs}}})")
        text += "\n" * (stmt.end_lineno - stmt.lineno)
        spans.append((start, end, text))
        items += [f"{key!r}: {ast.unparse(value)}" for key, value in found]
    return splice(code, spans), items
