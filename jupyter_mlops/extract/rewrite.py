"""Source rewrites of single statements, by AST position, keeping the statement's own layout.

Each takes a statement's source text (its lines as in the cell) and returns new text; the line
count never changes except where a statement is replaced by a short equivalent, so comments and
formatting the notebook author wrote survive into the package.
"""

from __future__ import annotations

import ast
from typing import Callable, Optional


Span = tuple[int, int, str]
#: Methods whose result summarises the whole batch.
STATISTICS = frozenset({"median", "mean", "std", "var", "quantile", "mode", "min", "max"})


def row_wise(call: ast.Call) -> bool:
    """``df.mean(axis=1)``, and ``df.mean(1)``: axis is the first parameter of these methods
    (not of ``quantile``, whose first is q)."""
    axis = [k.value for k in call.keywords if k.arg == "axis"]
    if not axis and call.args and getattr(call.func, "attr", "") != "quantile":
        axis = call.args[:1]
    return any(getattr(value, "value", None) in (1, "columns") for value in axis)



def _offset(lines: list[str], line: int, col: int) -> int:
    """Character offset of (1-based line, 0-based UTF-8 byte column) in ``lines``."""
    text = lines[line - 1].encode("utf-8")[:col].decode("utf-8", errors="ignore")
    return sum(len(x) + 1 for x in lines[:line - 1]) + len(text)


def span(text: str, node: ast.AST) -> tuple[int, int]:
    """Character offsets of ``node`` in ``text``."""
    lines = text.split("\n")
    return (_offset(lines, node.lineno, node.col_offset),
            _offset(lines, node.end_lineno, node.end_col_offset))


def segment(text: str, node: ast.AST) -> str:
    """The source of ``node`` as written in ``text``."""
    start, end = span(text, node)
    return text[start:end]


def splice(text: str, spans: list[Span]) -> str:
    """``text`` with each (start, end) range replaced (ranges do not overlap)."""
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def parsed(text: str) -> ast.stmt:
    """The one statement ``text`` holds."""
    return ast.parse(text).body[0]


def _statistic_key(text: str, subject: ast.expr) -> str:
    """What a statistic is saved under: the column it is computed on (``"age"`` for
    ``df["age"]`` and ``df.age``, the loop variable ``c`` for ``df[c]``), else the subject."""
    if isinstance(subject, ast.Subscript) and isinstance(subject.slice, (ast.Constant, ast.Name)):
        return segment(text, subject.slice)
    if isinstance(subject, ast.Attribute):
        return repr(subject.attr)
    return repr(segment(text, subject))


def statistic_calls(node: ast.AST) -> list[ast.Call]:
    """The outermost batch-statistic calls (``df["age"].median()``) of a statement."""
    found: list[ast.Call] = []

    def visit(sub: ast.AST) -> None:
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr in STATISTICS and not row_wise(sub)):
            found.append(sub)
            return
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return  # runs when called, maybe not once per pass
        for child in ast.iter_child_nodes(sub):
            visit(child)

    visit(node)
    return found


def _refit_in_loop(node: ast.stmt) -> list[ast.Call]:
    """``scaler.fit_transform(df[[col]])`` inside a loop: one transformer fit once per pass."""
    if not isinstance(node, (ast.For, ast.While)):
        return []
    return [sub for sub in ast.walk(node) if isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute) and sub.func.attr == "fit_transform"
            and isinstance(sub.func.value, ast.Name) and sub.args]


def with_saved_statistics(text: str, state: str = "state") -> str:
    """``df["age"].median()`` -> ``state.median("age", df["age"])``: training computes and
    saves it, scoring reuses the saved value (see the package's ``state.py``). A transformer
    refit in a loop is kept once per pass the same way: ``state.fit_transform("scaler",
    scaler, df[[col]])``, by the columns it is fit on."""
    spans = []
    node = parsed(text)
    for call in _refit_in_loop(node):
        receiver = call.func.value.id  # type: ignore[attr-defined]
        arguments = [repr(receiver), receiver] + [segment(text, a) for a in call.args]
        start, end = span(text, call)
        spans.append((start, end, f"{state}.fit_transform({', '.join(arguments)})"))
    for call in statistic_calls(node):
        subject = call.func.value  # type: ignore[attr-defined]
        arguments = [_statistic_key(text, subject), segment(text, subject)]
        arguments += [segment(text, a) for a in call.args]
        arguments += [segment(text, k) for k in call.keywords]
        start, end = span(text, call)
        spans.append((start, end, f"{state}.{call.func.attr}({', '.join(arguments)})"))  # type: ignore[attr-defined]
    return splice(text, spans)


def transform_instead_of_fit(text: str, name: str) -> str:
    """``name.fit_transform(X)`` -> ``name.transform(X)`` (``name`` was fit in training)."""
    spans = []
    for node in ast.walk(parsed(text)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "fit_transform" and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name):
            start, end = span(text, node.func)
            spans.append((start, end, f"{name}.transform"))
    return splice(text, spans)


def _drops_columns(call: ast.Call) -> bool:
    keywords = {k.arg: k.value for k in call.keywords}
    axis = keywords.get("axis")
    return ("errors" not in keywords and isinstance(call.func, ast.Attribute)
            and call.func.attr == "drop"
            and ("columns" in keywords
                 or getattr(axis, "value", None) in (1, "columns")
                 or (len(call.args) > 1 and getattr(call.args[1], "value", None) == 1)))


def tolerant_drops(text: str) -> str:
    """``df.drop(columns=[...])`` -> ``..., errors="ignore")``: new records need not carry the
    columns the model never reads (an id, the label)."""
    spans = []
    for node in ast.walk(parsed(text)):
        if isinstance(node, ast.Call) and _drops_columns(node):
            start, end = span(text, node)
            spans.append((end - 1, end - 1, ', errors="ignore"'))
            del start
    return splice(text, spans)


def only_loop_items(text: str, keep: Callable[[str], bool]) -> str:
    """``for frame in [train, test]:`` -> ``for frame in [train]:`` (scoring has no test)."""
    node = parsed(text)
    if not (isinstance(node, ast.For) and isinstance(node.iter, (ast.List, ast.Tuple))):
        return text
    names = [e.id for e in node.iter.elts if isinstance(e, ast.Name)]
    if len(names) != len(node.iter.elts) or all(keep(n) for n in names):
        return text
    start, end = span(text, node.iter)
    return splice(text, [(start, end, "[" + ", ".join(n for n in names if keep(n)) + "]")])


def parallel_parts(node: ast.stmt) -> Optional[list[tuple[str, ast.expr]]]:
    """``X, y = a, b`` as [("X", a), ("y", b)]; None for any other statement."""
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Tuple) and isinstance(node.value, ast.Tuple)
            and len(node.targets[0].elts) == len(node.value.elts)
            and all(isinstance(t, ast.Name) for t in node.targets[0].elts)):
        return [(t.id, v) for t, v in zip(node.targets[0].elts, node.value.elts)]
    return None


def constant_always_added(text: str) -> str:
    """``sm.add_constant(X)`` -> ``sm.add_constant(X, has_constant="add")``: on one record
    every column looks constant, and statsmodels would then add none."""
    tree = ast.parse(text)
    spans = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
                == "add_constant" and not any(k.arg == "has_constant" for k in node.keywords)):
            _, end = span(text, node)
            spans.append((end - 1, end - 1, ', has_constant="add"'))
    return splice(text, spans)


def every_dummy_kept(text: str) -> str:
    """``pd.get_dummies(..., drop_first=True)`` -> ``drop_first=False`` at scoring: a record's
    own category is the first of its batch, so dropping it would lose it; score.py keeps the
    columns the model was fit on, which leaves out the one training dropped."""
    spans = []
    for node in ast.walk(parsed(text)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", "")) == "get_dummies":
            for keyword in node.keywords:
                if keyword.arg == "drop_first":
                    start, end = span(text, keyword.value)
                    spans.append((start, end, "False"))
    return splice(text, spans)
