"""Notebook helpers that only keep some rows of the table they are given.

``df = remove_outliers(df, "price")`` selects training rows just as ``df = df[mask]`` does. A
helper counts as a row filter when all it does is compute values from its first argument and
narrow that argument's rows (``frame = frame[mask]``, ``frame.dropna(inplace=True)``, loops of
those) before returning it; the scoring path leaves out the ones that filter by the rows' own
statistics (an outlier rule: on a request it would judge the records by each other) or by the
label (new records have none).
"""

from __future__ import annotations

import ast
from typing import Iterable, Optional

from .patterns import filters_in_place, row_subset_of
from .rewrite import statistic_calls



def row_filter_helpers(nodes: Iterable[ast.stmt]) -> dict[str, bool]:
    """The functions among ``nodes`` that only narrow their first argument's rows: name ->
    whether they filter by statistics of those rows (``frame[col].quantile(0.75)``)."""
    return {node.name: any(statistic_calls(stmt) for stmt in node.body) for node in nodes
            if isinstance(node, ast.FunctionDef) and _only_filters(node)}


def filtered_argument(node: ast.stmt, helpers: Iterable[str]) -> Optional[ast.Name]:
    """``frame`` in ``frame = helper(frame, ...)`` when ``helper`` is a row filter."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    if isinstance(call.func, ast.Name) and call.func.id in helpers and call.args \
            and isinstance(call.args[0], ast.Name):
        return call.args[0]
    return None


def _only_filters(func: ast.FunctionDef) -> bool:
    arguments = func.args.posonlyargs + func.args.args
    if not arguments:
        return False
    frames = {arguments[0].arg}
    narrowed = _narrows(func.body[:-1], frames)
    last = func.body[-1]
    if narrowed is None or not isinstance(last, ast.Return) or last.value is None:
        return False
    returned = _frame_of(last.value, frames)
    return returned is not None and (narrowed or row_subset_of(last.value) is not None)


def _narrows(body: list[ast.stmt], frames: set[str]) -> Optional[bool]:
    """Whether ``body`` narrows the rows of ``frames`` (growing it with copies); None when it
    does anything else to them (a new column, a mutation, an early return)."""
    narrowed = False
    for node in body:
        if isinstance(node, ast.For) and not node.orelse:
            inner = _narrows(node.body, frames)
            if inner is None:
                return None
            narrowed |= inner
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        elif isinstance(node, ast.Expr) and filters_in_place(node):
            if _frame_of(node.value.func.value, frames) is None:  # type: ignore[attr-defined]
                return None
            narrowed = True
        elif isinstance(node, ast.Assign) and all(isinstance(t, (ast.Name, ast.Tuple))
                                                  for t in node.targets):
            written = {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            source = _frame_of(node.value, frames)
            if source is not None and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name):
                narrowed |= row_subset_of(node.value) is not None
                frames.add(node.targets[0].id)
            elif written & frames:
                return None  # a frame replaced by something else
        else:
            return None
    return narrowed


def _frame_of(value: ast.expr, frames: set[str]) -> Optional[str]:
    """The frame ``value`` keeps rows of: ``frame``, ``frame[mask]``, ``frame.copy()``,
    ``frame.reset_index(drop=True)`` (without ``drop`` the old index becomes a column)."""
    if isinstance(value, ast.Name):
        return value.id if value.id in frames else None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and (
            value.func.attr in ("copy", "reset_index")):
        dropped = any(k.arg == "drop" and getattr(k.value, "value", False) is True
                      for k in value.keywords)
        if value.func.attr == "reset_index" and not dropped:
            return None
        return _frame_of(value.func.value, frames)
    subset = row_subset_of(value)
    return _frame_of(subset, frames) if subset is not None else None
