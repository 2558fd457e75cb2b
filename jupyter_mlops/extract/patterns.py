"""Shapes of statements the scoring path treats specially: splits, row selections, fits,
fitted transforms, learned statistics and loads."""

from __future__ import annotations

import ast
import re
from typing import Optional

from . import rewrite

_SPLITTERS = re.compile(r"split", re.IGNORECASE)
_ROW_SELECTORS = frozenset({"sample", "head", "tail", "nlargest", "nsmallest"})
_ROW_FILTERS = frozenset({"dropna", "drop_duplicates", "query"})
_LOADERS = ("read_", "load_", "fetch_", "loadtxt", "genfromtxt", "open", "DataFrame",
            "from_records", "from_dict")


def _called(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def split_source(node: ast.stmt, name: str) -> Optional[ast.expr]:
    """In ``X_train, X_test, y_train, y_test = train_test_split(X, y)`` the expression the
    output ``name`` is a part of (``X`` for ``X_train``); also ``a, b = X[:n], X[n:]``."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Tuple)):
        return None
    names = [e.id if isinstance(e, ast.Name) else None for e in node.targets[0].elts]
    if name not in names:
        return None
    value = node.value
    if isinstance(value, ast.Call) and _SPLITTERS.search(_called(value.func)):
        arrays = [a for a in value.args if not isinstance(a, ast.Starred)]
        if arrays and len(names) == 2 * len(arrays):
            return arrays[names.index(name) // 2]
    if isinstance(value, ast.Tuple) and len(value.elts) == len(names):
        part = value.elts[names.index(name)]
        subset = row_subset_of(part)
        return subset
    return None


def row_subset_of(value: ast.expr) -> Optional[ast.expr]:
    """``df`` when ``value`` keeps only some of its rows: ``df[mask]``, ``df.sample(...)``,
    ``df.iloc[:n]``, ``df.dropna()``, ``df.loc[mask]``, ``df.query(...)``."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        if value.func.attr in _ROW_SELECTORS | _ROW_FILTERS and not any(
                k.arg in ("axis", "columns") for k in value.keywords):
            return row_subset_of(value.func.value) or value.func.value
        if value.func.attr == "reset_index":
            return row_subset_of(value.func.value)
        return None
    if isinstance(value, ast.Subscript):
        owner = value.value
        if isinstance(owner, ast.Attribute) and owner.attr in ("iloc", "loc"):
            first = value.slice.elts[0] if isinstance(value.slice, ast.Tuple) else value.slice
            if isinstance(value.slice, ast.Tuple) and isinstance(first, ast.Slice) and \
                    first.lower is None and first.upper is None:
                return None  # every row, some columns
            return owner.value
        if isinstance(value.slice, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.Slice)) or (
                isinstance(value.slice, ast.BinOp)  # masks combined; ``cols + ["b"]`` is columns
                and isinstance(value.slice.op, (ast.BitAnd, ast.BitOr, ast.BitXor))):
            return owner
        if isinstance(value.slice, ast.Call) and _called(value.slice.func) in (
                "isin", "between", "notna", "notnull", "isna", "isnull"):
            return owner
    return None


def filters_in_place(node: ast.stmt) -> bool:
    """``df.dropna(inplace=True)``, ``df.drop(index=..., inplace=True)``."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    call = node.value
    inplace = any(k.arg == "inplace" for k in call.keywords)
    name = _called(call.func)
    by_row = name in _ROW_FILTERS or (name == "drop" and not any(
        k.arg in ("columns", "axis") for k in call.keywords) and len(call.args) < 2)
    return inplace and by_row and not any(k.arg in ("axis",) and getattr(k.value, "value", 0)
                                          in (1, "columns") for k in call.keywords)


def fits(node: ast.stmt, name: str) -> bool:
    """``name.fit(...)``, ``name = X.fit(...)``, ``name = Est(...).fit(...)``."""
    value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not (isinstance(value, ast.Call) and _called(value.func) in ("fit", "partial_fit")):
        return False
    if isinstance(node, ast.Expr):
        receiver = value.func.value  # type: ignore[attr-defined]
        return isinstance(receiver, ast.Name) and receiver.id == name
    return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)


_WRAPS = frozenset({"float", "int", "round", "abs"})


def is_statistic(value: ast.expr) -> bool:
    """``df["age"].mean()``, ``df.age.mode()[0]``, ``X.std() * 2``, ``round(s.median())``."""
    if isinstance(value, ast.Subscript):
        return is_statistic(value.value)
    if isinstance(value, ast.BinOp):
        return is_statistic(value.left) or is_statistic(value.right)
    if isinstance(value, ast.UnaryOp):
        return is_statistic(value.operand)
    if isinstance(value, ast.Call):
        if _called(value.func) in _WRAPS and value.args:
            return is_statistic(value.args[0])
        return bool(rewrite.statistic_calls(value)) and rewrite.statistic_calls(value)[0] is value
    return False


def named_statistic(node: ast.stmt, name: str) -> bool:
    """``age_mean = train["age"].mean()``: a value learned from the training rows."""
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name
            and is_statistic(node.value))


def fit_transformed(node: ast.stmt, hit: set[str], state: str = "state") -> list[str]:
    """The objects in ``Y = pca.fit_transform(scaler.fit_transform(Z))`` when ``Y`` is needed."""
    targets = node.targets if isinstance(node, ast.Assign) else []
    written = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    found = []
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "fit_transform" and isinstance(sub.func.value, ast.Name)
                and sub.func.value.id != state and (written & hit or sub.func.value.id in hit)):
            found.append(sub.func.value.id)
    return found


def loads(node: ast.stmt) -> bool:
    """The statement calls a loader (``read_csv``, ``load_iris``, ``open``, ...)."""
    return any(isinstance(c, ast.Call) and _called(c.func).startswith(_LOADERS)
               for c in ast.walk(node))
