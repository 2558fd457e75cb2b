"""Suggest roles from what a cell calls. A documented heuristic, first match wins:

1. only imports, constants and function/class definitions -> ``setup``
2. only literal assignments right before data loading -> ``parameters`` (if none is tagged)
3. ``.fit(``, ``train_test_split``, ``GridSearchCV``, ``cross_val_score`` -> ``training``, even
   when the cell also computes scores
4. ``.predict(``/``.predict_proba(`` on new data with no metric call -> ``scoring``
5. metric calls (``*_score``, ``*_error``, ``classification_report``, ``.score(``) -> ``evaluation``
6. only displays (``df.head()``, plots, ``describe``) -> ``skip``, whatever they show
   (``plt.hist(np.log1p(df.price))`` transforms nothing), also when its other statements only
   compute what the plot shows (``colors = np.where(...)`` then ``plt.scatter(c=colors)``)
7. ``read_csv``/``read_parquet``/``load_*``/``fetch_*``/``open(`` -> ``data``
8. column assignment, ``get_dummies``, ``fillna``, ``.apply(``, ``.map(``, ``astype``, or
   selecting the model's inputs and label (``X = df[FEATURES]``, ``y = df['target']``) ->
   ``featurization``

Cells under ``%%time``, ``%%timeit``, ``%%capture`` or ``%%prun`` are judged by their body.
Only cells whose suggestion differs from their current role are proposed; nothing is written
unless the caller applies them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass
from typing import Optional

from ..notebook import Notebook, set_roles
from .display import is_display_only
from .source import lenient_source

_METRIC = re.compile(r"(_score|_error|_loss|classification_report|confusion_matrix)$|^score$")
_TRAIN = {"fit", "fit_transform", "train_test_split", "GridSearchCV", "RandomizedSearchCV",
          "cross_val_score", "cross_validate", "partial_fit"}
_DATA = re.compile(r"^(read_\w+|load_\w+|fetch_\w+|open|loadtxt|genfromtxt|read_sql\w*)$")
_FEATURE = {"get_dummies", "fillna", "apply", "map", "astype", "replace", "cut", "qcut",
            "dropna", "drop", "merge", "join", "concat", "assign", "transform", "where",
            "clip", "log1p", "to_datetime"}
#: Names a cell binds the model's inputs or label to (``X``, ``y``, ``X_scaled``, ``target``).
_XY = re.compile(r"^(X|y)(_\w+)?$|^(features|target|labels?)$")


@dataclass(frozen=True)
class Suggestion:
    """A proposed role for one cell, with the reason shown to the user."""

    index: int
    number: int
    cell_id: str
    role: str
    current: Optional[str]
    reason: str

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


def _called(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                names.append(func.attr)
            elif isinstance(func, ast.Name):
                names.append(func.id)
    return names


def _is_setup(tree: ast.Module) -> bool:
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)
    has_def = any(isinstance(s, kinds) for s in tree.body)
    rest_constant = all(
        isinstance(s, kinds) or (isinstance(s, ast.Assign) and _is_literal(s.value))
        or isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
        for s in tree.body
    )
    return has_def and rest_constant


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return False
    return True


def _bound_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _bound_names(element)]
    return []


def _xy_selection(tree: ast.Module) -> Optional[str]:
    """The first ``X``/``y``-like name the cell computes (``X = df[FEATURES]``), if any."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and not _is_literal(stmt.value):
            for target in stmt.targets:
                found = [n for n in _bound_names(target) if _XY.match(n)]
                if found:
                    return found[0]
    return None


def _featurization(tree: ast.Module, called: list[str]) -> Optional[str]:
    """Why the cell looks like featurization, or None."""
    features = [c for c in called if c in _FEATURE]
    if features:
        return f"transforms columns ({features[0]})"
    if any(isinstance(t, ast.Subscript)
           for s in tree.body if isinstance(s, ast.Assign) for t in s.targets):
        return "transforms columns (df[...] =)"
    selected = _xy_selection(tree)
    return f"selects model inputs or label ({selected} = ...)" if selected else None


def _is_display(tree: ast.Module) -> bool:
    plot_names: set[str] = set()
    last = len(tree.body) - 1
    return all(is_display_only(s, i == last, plot_names) for i, s in enumerate(tree.body))


def _only_feeds_a_plot(tree: ast.Module) -> bool:
    """True for a cell that plots, whose other statements only bind plain names its plots
    read (``colors = np.where(df.churn, 'red', 'grey')`` before ``plt.scatter(c=colors)``)."""
    plot_names: set[str] = set()
    last = len(tree.body) - 1
    shown = [s for i, s in enumerate(tree.body) if is_display_only(s, i == last, plot_names)]
    if not shown or len(shown) == len(tree.body):
        return False
    read = {n.id for s in shown for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for stmt in tree.body:
        if stmt in shown:
            continue
        if not isinstance(stmt, ast.Assign) or not all(isinstance(t, ast.Name)
                                                       for t in stmt.targets):
            return False
        if any(_XY.match(t.id) or t.id not in read for t in stmt.targets):
            return False
    return True


def _role_from_calls(tree: ast.Module) -> Optional[tuple[str, str]]:
    """Rules 3 to 8 of the module docstring, in order."""
    called = _called(tree)
    trains = [c for c in called if c in _TRAIN]
    metrics = [c for c in called if _METRIC.search(c)]
    loads = [c for c in called if _DATA.match(c)]
    predicts = any(c in ("predict", "predict_proba") for c in called)
    reasons = (  # (role, why or a false value), in the documented order
        ("training", trains and f"calls {trains[0]}"),
        ("scoring", predicts and not metrics and "calls .predict( without computing metrics"),
        ("evaluation", metrics and f"computes metrics ({metrics[0]})"),
        ("skip", _is_display(tree) and "only displays tables or plots"),
        ("skip", _only_feeds_a_plot(tree) and "draws a plot (what it computes only feeds it)"),
        ("data", loads and f"loads data ({loads[0]})"),
        ("featurization", _featurization(tree, called)),
    )
    return next(((role, why) for role, why in reasons if why), None)


def role_for_code(code: str) -> Optional[tuple[str, str]]:
    """(role, reason) for one cell's code, or None when the code suggests nothing."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    # Magics arrive as get_ipython() calls; they say nothing about the role.
    tree.body = [s for s in tree.body if not (
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
        and "get_ipython" in ast.unparse(s.value.func))]
    if not tree.body:
        return None
    if _is_setup(tree):
        return "setup", "only imports, constants and definitions"
    if all(isinstance(s, ast.Assign) and _is_literal(s.value) for s in tree.body):
        return "parameters", "only literal assignments (papermill's parameters cell)"
    return _role_from_calls(tree)


def suggest_roles(nb: Notebook) -> tuple[Suggestion, ...]:
    """Proposals for code cells whose code suggests a role other than the one they have."""
    has_parameters = bool(nb.tagged("parameters"))
    found = []
    for cell in nb.code_cells:
        guess = role_for_code(lenient_source(cell))
        if guess is None or guess[0] == cell.role:
            continue
        role, reason = guess
        if role == "parameters" and (has_parameters or cell.role is not None):
            continue
        if role == "parameters":
            has_parameters = True
        found.append(Suggestion(cell.index, cell.number, cell.cell_id, role, cell.role, reason))
    return tuple(found)


def apply_suggestions(path, suggestions: tuple[Suggestion, ...]) -> None:
    """Write the suggested roles into the notebook's tags (other tags are kept)."""
    set_roles(path, {s.index: s.role for s in suggestions})
