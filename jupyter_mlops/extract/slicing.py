"""The scoring path: the backward slice from what the model predicts on to the raw records.

Walking back from the model's input over the training program (notebook order, any role):

- a train/test split is the identity at scoring (``X_train = X``): every record is scored;
- a row filter or sample that selects training rows (data or training cells) is left out;
- an object fit on training rows (``vec.fit_transform(X_train)``, ``scaler.fit(X)``) is trained
  state: scoring takes it from training and only ``transform``s;
- the statement that loads the raw table ends the path: new records take its place;
- a statement that only makes the label (``df["target"] = ...``) is left out;
- everything else on the path runs as written.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Optional

from ..errors import DataflowError
from .columns import assigns_only, reads_label
from .dataflow import analyze_statement
from .program import Piece, Program
from . import rewrite

_SPLITTERS = re.compile(r"split", re.IGNORECASE)
_ROW_SELECTORS = frozenset({"sample", "head", "tail", "nlargest", "nsmallest"})
_ROW_FILTERS = frozenset({"dropna", "drop_duplicates", "query"})
_LOADERS = ("read_", "load_", "fetch_", "loadtxt", "genfromtxt", "open", "DataFrame",
            "from_records", "from_dict")


@dataclass(frozen=True)
class Step:
    """One statement of the scoring path, as scoring runs it."""

    piece: Piece
    text: str
    changed: Optional[str] = None  # why the text differs from the notebook's, for a comment


@dataclass(frozen=True)
class ScoringPath:
    """From new records (``raw``) to the model's input (``output``)."""

    raw: str
    raw_position: int  # the inline statement after which ``raw`` holds the raw records
    steps: tuple[Step, ...]
    trained: tuple[str, ...]  # objects fit in training that scoring reuses
    output: str  # source of the model input expression
    chain: tuple[str, ...]  # names the model input derives from, nearest first
    kwparams: tuple[str, ...]  # notebook parameters the path reads
    aliases: tuple[str, ...] = ()  # names holding the model input for all rows (split inputs)


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
        subset = _row_subset_of(part)
        return subset
    return None


def _row_subset_of(value: ast.expr) -> Optional[ast.expr]:
    """``df`` when ``value`` keeps only some of its rows: ``df[mask]``, ``df.sample(...)``,
    ``df.iloc[:n]``, ``df.dropna()``, ``df.loc[mask]``, ``df.query(...)``."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        if value.func.attr in _ROW_SELECTORS | _ROW_FILTERS and not any(
                k.arg in ("axis", "columns") for k in value.keywords):
            return _row_subset_of(value.func.value) or value.func.value
        if value.func.attr == "reset_index":
            return _row_subset_of(value.func.value)
        return None
    if isinstance(value, ast.Subscript):
        owner = value.value
        if isinstance(owner, ast.Attribute) and owner.attr in ("iloc", "loc"):
            first = value.slice.elts[0] if isinstance(value.slice, ast.Tuple) else value.slice
            if isinstance(value.slice, ast.Tuple) and isinstance(first, ast.Slice) and \
                    first.lower is None and first.upper is None:
                return None  # every row, some columns
            return owner.value
        if isinstance(value.slice, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Slice)):
            return owner
        if isinstance(value.slice, ast.Call) and _called(value.slice.func) in (
                "isin", "between", "notna", "notnull", "isna", "isnull"):
            return owner
    return None


def _filters_in_place(node: ast.stmt) -> bool:
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


def _fits(node: ast.stmt, name: str) -> bool:
    """``name.fit(...)``, ``name = X.fit(...)``, ``name = Est(...).fit(...)``."""
    value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not (isinstance(value, ast.Call) and _called(value.func) in ("fit", "partial_fit")):
        return False
    if isinstance(node, ast.Expr):
        receiver = value.func.value  # type: ignore[attr-defined]
        return isinstance(receiver, ast.Name) and receiver.id == name
    return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)


_WRAPS = frozenset({"float", "int", "round", "abs"})


def _is_statistic(value: ast.expr) -> bool:
    """``df["age"].mean()``, ``df.age.mode()[0]``, ``X.std() * 2``, ``round(s.median())``."""
    if isinstance(value, ast.Subscript):
        return _is_statistic(value.value)
    if isinstance(value, ast.BinOp):
        return _is_statistic(value.left) or _is_statistic(value.right)
    if isinstance(value, ast.UnaryOp):
        return _is_statistic(value.operand)
    if isinstance(value, ast.Call):
        if _called(value.func) in _WRAPS and value.args:
            return _is_statistic(value.args[0])
        return bool(rewrite.statistic_calls(value)) and rewrite.statistic_calls(value)[0] is value
    return False


def _named_statistic(node: ast.stmt, name: str) -> bool:
    """``age_mean = train["age"].mean()``: a value learned from the training rows."""
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name
            and _is_statistic(node.value))


def _fit_transformed(node: ast.stmt, hit: set[str]) -> list[str]:
    """The objects in ``Y = pca.fit_transform(scaler.fit_transform(Z))`` when ``Y`` is needed."""
    targets = node.targets if isinstance(node, ast.Assign) else []
    written = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    found = []
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "fit_transform" and isinstance(sub.func.value, ast.Name)
                and (written & hit or sub.func.value.id in hit)):
            found.append(sub.func.value.id)
    return found


def _loads(node: ast.stmt) -> bool:
    return any(isinstance(c, ast.Call) and _called(c.func).startswith(_LOADERS)
               for c in ast.walk(node))


class _Walk:
    """State of one backward walk (local to ``scoring_path``)."""

    def __init__(self, program: Program, need: set[str], labels: tuple[str, ...],
                 constants: dict[str, str], loaded_by: int = -1) -> None:
        self.program = program
        self.loaded_by = loaded_by  # data cells up to here load the raw records
        self.need = need
        self.labels = labels
        self.constants = constants
        self.params = {p.name for p in program.parameters}
        self.available = set(program.module_level)
        self.steps: list[Step] = []
        self.trained: list[str] = []
        self.kwparams: set[str] = set()
        self.raw: dict[str, int] = {}
        self.chain: list[str] = []
        self.touched: list[tuple[int, str]] = []  # (position, role) of every statement taken
        self.aliases: list[str] = sorted(need)

    def require(self, names: set[str]) -> None:
        """Names the statements before must provide (parameters come from training)."""
        self.kwparams |= names & self.params
        self.need |= names - self.params - self.available

    def take(self, position: int, piece: Piece) -> None:
        """Classify one statement writing a needed name (see the module docstring)."""
        stmt = piece.statement
        node = stmt.node
        hit = set(stmt.writes) & self.need
        self.chain += sorted(hit - set(self.chain))
        self.touched.append((position, piece.role))
        if piece.role == "data" and position <= self.loaded_by:
            self._boundary(position, hit)
            return
        sources = {name: split_source(node, name) for name in hit}
        if any(s is not None for s in sources.values()):
            self._identity(piece, hit, sources, "a split at training; every record here")
            return
        if piece.role != "featurization":
            subset = _row_subset_of(node.value) if isinstance(node, ast.Assign) and len(
                node.targets) == 1 and isinstance(node.targets[0], ast.Name) else None
            if subset is not None:
                self._identity(piece, hit, {n: subset for n in hit},
                               "training rows only at training; every record here")
                return
            if _filters_in_place(node):
                return  # selects training rows: the name is still needed from before
        fitted = [n for n in hit if _fits(node, n) or _named_statistic(node, n)]
        if fitted:
            self._train(fitted)
            return
        objects = _fit_transformed(node, hit)
        if objects:
            self._train(objects)
            text = piece.source
            for obj in objects:
                text = rewrite.transform_instead_of_fit(text, obj)
            self._include(piece, text, hit - set(objects),
                          f"{', '.join(objects)} {'was' if len(objects) == 1 else 'were'} fit "
                          "in training")
            return
        if not (hit & stmt.reads) and (piece.role == "data" or (
                _loads(node) and not (stmt.reads - self.available - self.params))):
            self._boundary(position, hit)
            return
        if assigns_only(node, self.labels, self.constants) or reads_label(
                node, self.labels, self.constants):
            return  # made from the label, which new records do not have
        self._general(piece, hit)

    def _boundary(self, position: int, hit: set[str]) -> None:
        for name in hit:
            self.raw.setdefault(name, position)
        self.need -= hit

    def _identity(self, piece: Piece, hit: set[str], sources: dict, why: str) -> None:
        lines = []
        for name in sorted(hit):
            source = sources.get(name)
            if source is None:
                continue
            text = ast.unparse(source)
            if name in self.aliases and isinstance(source, ast.Name):
                self.aliases.append(source.id)
            if text != name:
                lines.append(f"{name} = {text}")
            self.need.discard(name)
            self.require({n.id for n in ast.walk(source) if isinstance(n, ast.Name)})
        if lines:
            self.steps.append(Step(piece, "\n".join(lines), why))

    def _train(self, names: list[str]) -> None:
        for name in names:
            if name not in self.trained:
                self.trained.append(name)
            self.need.discard(name)

    def _include(self, piece: Piece, text: str, produced: set[str],
                 why: Optional[str] = None) -> None:
        stmt = piece.statement
        self.need -= produced - set(stmt.reads)
        self.require(set(stmt.reads) - set(self.trained))
        self.steps.append(Step(piece, text, why))

    def _general(self, piece: Piece, hit: set[str]) -> None:
        node = piece.statement.node
        parts = rewrite.parallel_parts(node)
        if parts and any(name not in hit for name, _ in parts):
            chosen = [(name, value) for name, value in parts if name in hit]
            text = "\n".join(f"{name} = {rewrite.segment(piece.source, value)}"
                             for name, value in chosen)
            reads = {n.id for _, v in chosen for n in ast.walk(v) if isinstance(n, ast.Name)}
            self.need -= hit - reads
            self.require(reads)
            self.steps.append(Step(piece, text, "only what scoring needs"))
            return
        popped = _popped_label(node, self.labels, self.constants)
        if popped is not None:
            frame, column = popped
            text = f'{frame} = {frame}.drop(columns=[{column!r}], errors="ignore")'
            self._include(piece, text, set(), "the label is not in new records")
            return
        need_after = set(self.need)
        text = rewrite.only_loop_items(piece.source, lambda n: n in need_after)
        if text != piece.source:  # the loop's other frames are not read at scoring
            reads = set(analyze_statement(rewrite.parsed(text))[0])
            self.need -= hit - reads
            self.require(reads - set(self.trained))
            self.steps.append(Step(piece, rewrite.tolerant_drops(text),
                                   "the same code, for the new records only"))
            return
        scoring_text = rewrite.every_dummy_kept(rewrite.tolerant_drops(text))
        self._include(piece, scoring_text, hit,
                      "every category's column; score.py keeps the model's"
                      if "drop_first" in text and scoring_text != rewrite.tolerant_drops(text)
                      else None)


def _popped_label(node: ast.stmt, labels, constants) -> Optional[tuple[str, str]]:
    """``y = df.pop("churn")``: (df, "churn") when "churn" is a label column."""
    value = getattr(node, "value", None)
    if (isinstance(node, ast.Assign) and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute) and value.func.attr == "pop"
            and isinstance(value.func.value, ast.Name) and value.args):
        arg = value.args[0]
        column = arg.value if isinstance(arg, ast.Constant) else constants.get(
            getattr(arg, "id", None))
        if column in labels:
            return value.func.value.id, column
    return None


def scoring_path(program: Program, start: int, output: ast.expr, labels: tuple[str, ...],
                 constants: dict[str, str]) -> ScoringPath:
    """Slice the training program back from ``output`` (read just before ``start``)."""
    walk = _walked(program, start, output, labels, constants, -1)
    # The data cells' statements before the first other step load the records (as
    # load_data does): the records arrive as they leave them.
    loaded_by = -1
    for position, role in sorted(walk.touched):
        if role != "data":
            break
        loaded_by = position
    if loaded_by >= 0:
        walk = _walked(program, start, output, labels, constants, loaded_by)
    return _finished(program, start, output, walk)


def _walked(program: Program, start: int, output: ast.expr, labels, constants,
            loaded_by: int) -> "_Walk":
    names = {n.id for n in ast.walk(output) if isinstance(n, ast.Name)}
    walk = _Walk(program, set(), labels, constants, loaded_by)
    walk.aliases = [output.id] if isinstance(output, ast.Name) else []
    walk.require(names)
    for position in range(start - 1, -1, -1):
        piece = program.inline[position]
        if piece.role == "scoring" or not set(piece.statement.writes) & walk.need:
            continue
        walk.take(position, piece)
    return walk


def _finished(program: Program, start: int, output: ast.expr, walk: "_Walk") -> ScoringPath:
    nb = program.notebook
    if walk.need:
        first = program.inline[start].cell if start < len(program.inline) else None
        raise DataflowError(
            "could not trace what the model is given ("
            + ", ".join(f"`{n}`" for n in sorted(walk.need))
            + ") back to data loaded in an mlops:data cell, so score.py would not know what "
            "new records look like; load the data in a cell tagged mlops:data",
            path=nb.path, cell=first.ref if first else None)
    if len(walk.raw) != 1:
        _refuse_raw(program, walk.raw)
    raw, position = next(iter(walk.raw.items()))
    return ScoringPath(
        raw=raw, raw_position=position, steps=tuple(reversed(walk.steps)),
        trained=tuple(walk.trained), output=rewrite.constant_always_added(ast.unparse(output)),
        chain=tuple(walk.chain) + (raw,),
        kwparams=tuple(sorted(walk.kwparams)), aliases=tuple(walk.aliases),
    )


def _refuse_raw(program: Program, raw: dict[str, int]) -> None:
    nb = program.notebook
    if not raw:
        raise DataflowError(
            "the model's input does not come from data loaded in an mlops:data cell, so "
            "score.py would not know what new records look like; tag the cell that loads the "
            "data mlops:data", path=nb.path)
    cells = {name: program.inline[p].cell for name, p in raw.items()}
    listed = ", ".join(f"`{n}` ({cells[n].ref})" for n in sorted(raw))
    first = cells[sorted(raw)[0]]
    raise DataflowError(
        f"the model's input is built from {len(raw)} tables loaded separately: {listed}; "
        "score.py takes new records as one table. Combine them in the mlops:data cell (merge "
        "or join there), so the model's input comes from one",
        path=nb.path, cell=first.ref)
