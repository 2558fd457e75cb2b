"""Columns of the raw records: which ones are the label, which ones scoring reads."""

from __future__ import annotations

import ast
from typing import Iterable, Optional

from .rewrite import parallel_parts

#: DataFrame attributes that are not columns (``df.values``, ``df.shape``, ...).
FRAME_ATTRIBUTES = frozenset({"values", "shape", "columns", "index", "dtypes", "T", "loc",
                              "iloc", "at", "iat", "str", "dt", "cat", "empty", "size", "ndim",
                              "plot", "style", "attrs", "flags", "axes", "sparse", "array"})


def _column_name(value: ast.AST, constants: dict[str, str]) -> Optional[str]:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return constants.get(value.id) if isinstance(value, ast.Name) else None


def named_columns(node: ast.AST, bases: set[str], constants: dict[str, str]) -> list[str]:
    """Columns of ``bases`` that ``node`` names: ``df["a"]``, ``df[LABEL]``, ``df.a`` and
    ``df.pop("a")``."""
    called = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
    found = []
    for sub in ast.walk(node):
        column = None
        if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) \
                and sub.value.id in bases:
            column = _column_name(sub.slice, constants)
        elif (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
              and sub.value.id in bases and id(sub) not in called
              and sub.attr not in FRAME_ATTRIBUTES):
            column = sub.attr
        elif (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
              and sub.func.attr == "pop" and isinstance(sub.func.value, ast.Name)
              and sub.func.value.id in bases and sub.args):
            column = _column_name(sub.args[0], constants)
        if column is not None:
            found.append(column)
    return found


def string_constants(nodes: Iterable[ast.stmt]) -> dict[str, str]:
    """``LABEL = "churn"`` at module level, so ``df[LABEL]`` names a column too."""
    found = {}
    for node in nodes:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


def _frames_of(node: ast.AST) -> set[str]:
    """Names subscripted or popped in ``node``: the frames its columns come from."""
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name):
            names.add(sub.value.id)
        elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            names.add(sub.value.id)
    return names


def _label_part(node: ast.stmt, names: set[str]) -> ast.AST:
    """The label's own expression in ``X, y = df[features], df.target``; else the statement."""
    parts = parallel_parts(node)
    if parts:
        chosen = [value for name, value in parts if name in names]
        if chosen:
            return ast.Tuple(elts=chosen, ctx=ast.Load())
    return node


def label_columns(nodes: list[ast.stmt], y: Optional[ast.expr], constants: dict[str, str],
                  split_source) -> tuple[str, ...]:
    """Raw columns the label is read or derived from, tracing ``y`` back over ``nodes``
    (statements before the fit, in notebook order). ``split_source(node, name)`` gives the
    expression a split output comes from, or None."""
    if y is None:
        return ()
    columns: list[str] = []
    need = {n.id for n in ast.walk(y) if isinstance(n, ast.Name)}
    frames = _frames_of(y)
    columns += named_columns(y, frames, constants)
    need -= frames
    for node in reversed(nodes):
        writes = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store)}
        hit = writes & need
        if not hit:
            continue
        sources = [split_source(node, name) for name in hit]
        part = (ast.Tuple(elts=[s for s in sources if s is not None], ctx=ast.Load())
                if any(s is not None for s in sources) else _label_part(node, hit))
        bases = _frames_of(part)
        columns += named_columns(part, bases, constants)
        need = (need - hit) | ({n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
                               - bases)
    return _with_derived(nodes, list(dict.fromkeys(columns)), constants)


def _with_derived(nodes: list[ast.stmt], columns: list[str], constants) -> tuple[str, ...]:
    """``df["target"] = df["adopted"] == "yes"``: "adopted" is the raw label column too."""
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target = node.targets[0]
            bases = _frames_of(target)
            written = named_columns(target, bases, constants)
            if written and set(written) <= set(columns):
                for column in named_columns(node.value, bases, constants):
                    if column not in columns:
                        columns.append(column)
                        changed = True
    return tuple(columns)


def assigns_only(node: ast.stmt, columns: tuple[str, ...], constants: dict[str, str]) -> bool:
    """``df["target"] = ...`` where "target" is one of ``columns``."""
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return False
    target = node.targets[0]
    if not isinstance(target, ast.Subscript) or not isinstance(target.value, ast.Name):
        return False
    written = named_columns(target, {target.value.id}, constants)
    return bool(written) and set(written) <= set(columns)


def reads_label(node: ast.stmt, columns: tuple[str, ...], constants: dict[str, str]) -> bool:
    """``df["price_per_sqft"] = df["price"] / df["sqft"]`` where "price" is the label: new
    records have no label, so scoring cannot compute this column."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Subscript)):
        return False
    value = node.value
    return bool(set(named_columns(value, _frames_of(value), constants)) & set(columns))


def mentions_columns(node: ast.AST, columns: tuple[str, ...], constants: dict[str, str]) -> bool:
    """``node`` names one of ``columns`` anywhere: ``df.price``, ``"price"`` (as in
    ``subset=["price"]``) or a constant holding it (``df[LABEL]``)."""
    for sub in ast.walk(node):
        name = (sub.value if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
                else sub.attr if isinstance(sub, ast.Attribute)
                else constants.get(sub.id) if isinstance(sub, ast.Name) else None)
        if name in columns:
            return True
    return False
