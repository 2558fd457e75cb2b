"""Which values of the evaluation cells are the metrics a run records."""

from __future__ import annotations

import ast
import re
from typing import Optional, Sequence

_METRIC_CALL = re.compile(r"(score|error|loss|accuracy|auc|precision|recall|r2|f1|mae|mse|rmse)",
                          re.IGNORECASE)
_WRAPPERS = frozenset({"sqrt", "float", "round", "abs", "mean", "exp"})


def _called(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def scalar_metric(value: ast.expr, known: frozenset[str] | set[str] = frozenset()) -> bool:
    """``accuracy_score(...)``, and what is computed from one: ``mean_squared_error(...) **
    0.5``, ``np.sqrt(mse)``, ``1 - r2`` (``known``: metric names already found)."""
    if isinstance(value, ast.Name):
        return value.id in known
    if isinstance(value, ast.BinOp):
        return scalar_metric(value.left, known) or scalar_metric(value.right, known)
    if isinstance(value, ast.UnaryOp):
        return scalar_metric(value.operand, known)
    if not isinstance(value, ast.Call):
        return False
    called = _called(value.func)
    if called in _WRAPPERS:
        return bool(value.args) and scalar_metric(value.args[0], known)
    return bool(_METRIC_CALL.search(called)) and "report" not in called and "matrix" not in called


def is_metric_value(value: ast.expr) -> bool:
    """A dict (of metrics, maybe) or a metric score."""
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return True
    return (isinstance(value, ast.Call) and _called(value.func) == "dict") or scalar_metric(value)


def _assignments(node: ast.stmt) -> list[tuple[str, ast.expr]]:
    """``(name, value)`` of ``a = v``, ``a: float = v`` and ``a, b = v, w``."""
    target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
    value = getattr(node, "value", None)
    if isinstance(target, ast.Name) and value is not None:
        return [(target.id, value)]
    if (isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
            and len(target.elts) == len(value.elts)):
        return [(t.id, v) for t, v in zip(target.elts, value.elts) if isinstance(t, ast.Name)]
    return []


def metrics_of(nodes: Sequence[ast.stmt]) -> tuple[Optional[str], tuple[str, ...]]:
    """The metrics expression of the evaluation statements, and the names it reads.

    A dict named like metrics/scores/results wins (else the last dict); else the scalar
    scores, gathered into a dict.
    """
    dicts, scalars = [], []
    for node in nodes:
        for name, value in _assignments(node):
            _sort_metric(name, value, dicts, scalars)
    return _chosen(dicts, scalars)


def _sort_metric(name: str, value: ast.expr, dicts: list[str], scalars: list[str]) -> None:
    """Add ``name`` to the dicts or the scalar scores it is one of."""
    if isinstance(value, (ast.Dict, ast.DictComp)) or (
            isinstance(value, ast.Call) and _called(value.func) == "dict"):
        dicts.append(name)
    elif scalar_metric(value, set(scalars)):
        scalars.append(name)


def _chosen(dicts: list[str], scalars: list[str]) -> tuple[Optional[str], tuple[str, ...]]:
    preferred = [d for d in dicts if re.search("metric|score|result", d)]
    if preferred or dicts:
        name = (preferred or dicts)[-1]
        return name, (name,)
    scalars = list(dict.fromkeys(scalars))
    if scalars:
        return "{" + ", ".join(f'"{n}": {n}' for n in scalars) + "}", tuple(scalars)
    return None, ()
