"""The scoring path: the backward slice from what the model predicts on to the raw records.

Walking back from the model's input over the training program (notebook order, any role):

- a train/test split is the identity at scoring (``X_train = X``): every record is scored;
- a row filter or sample that selects training rows is left out (in featurization only when
  it reads the label or is a helper filtering by the rows' own statistics);
- an object fit on training rows (``vec.fit_transform(X_train)``, ``scaler.fit(X)``) is trained
  state: scoring takes it from training and only ``transform``s;
- the statement that loads the raw table ends the path: new records take its place;
- a statement that only makes the label (``df["target"] = ...``) is left out;
- everything else on the path runs as written.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from ..errors import DataflowError
from .columns import assigns_only, mentions_columns, reads_label
from .dataflow import analyze_statement
from .filters import filtered_argument, row_filter_helpers
from .patterns import (filters_in_place, fit_transformed, fits, loads, named_statistic,
                       row_subset_of, split_source)
from .program import Piece, Program
from . import rewrite

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


class _Walk:  # pylint: disable=too-many-instance-attributes  # the walk's whole state
    """State of one backward walk (local to ``scoring_path``)."""

    def __init__(self, program: Program, need: set[str], labels: tuple[str, ...],
                 constants: dict[str, str], loaded_by: int = -1) -> None:
        self.program = program
        self.loaded_by = loaded_by  # data cells up to here load the raw records
        self.state = "state"  # the trained state's name: its calls are not fits
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
        self.filters = row_filter_helpers(piece.statement.node for pieces in
                                          program.module_defs.values() for piece in pieces)

    def require(self, names: set[str]) -> None:
        """Names the statements before must provide (parameters come from training)."""
        self.kwparams |= names & self.params
        self.need |= names - self.params - self.available

    def take(self, position: int, piece: Piece) -> None:
        """Classify one statement writing a needed name (see the module docstring): the first
        rule that applies decides what scoring does with it."""
        hit = set(piece.statement.writes) & self.need
        self.chain += sorted(hit - set(self.chain))
        self.touched.append((position, piece.role))
        rules = (self._loaded, self._split, self._training_rows, self._fitted,
                 self._transformed, self._loads, self._label)
        if not any(rule(position, piece, hit) for rule in rules):
            self._general(piece, hit)

    def _loaded(self, position: int, piece: Piece, hit: set[str]) -> bool:
        """A data cell before the path's first other step: it loads the records."""
        if piece.role == "data" and position <= self.loaded_by:
            self._boundary(position, hit)
            return True
        return False

    def _split(self, position: int, piece: Piece, hit: set[str]) -> bool:
        del position
        sources = {name: split_source(piece.statement.node, name) for name in hit}
        if any(s is not None for s in sources.values()):
            self._identity(piece, hit, sources, "a split at training; every record here")
            return True
        return False

    def _training_rows(self, position: int, piece: Piece, hit: set[str]) -> bool:
        """A row filter or sample selects training rows. In featurization it runs on new
        records too (a record it drops gets no prediction), unless it reads the label (new
        records have none) or is a helper filtering by the rows' own statistics (an outlier
        rule would judge a request's records by each other)."""
        del position
        node = piece.statement.node
        helper = filtered_argument(node, self.filters)
        if piece.role == "featurization" and not (
                mentions_columns(node, self.labels, self.constants)
                or (helper is not None and self.filters[_called_name(node)])):
            return False
        subset = row_subset_of(node.value) if isinstance(node, ast.Assign) and len(
            node.targets) == 1 and isinstance(node.targets[0], ast.Name) else None
        subset = subset or helper
        if subset is not None:
            self._identity(piece, hit, {n: subset for n in hit},
                           "training rows only at training; every record here")
            return True
        return filters_in_place(node)  # the name is still needed from before

    def _fitted(self, position: int, piece: Piece, hit: set[str]) -> bool:
        del position
        node = piece.statement.node
        fitted = [n for n in hit if fits(node, n) or named_statistic(node, n)]
        self._train(fitted)
        return bool(fitted)

    def _transformed(self, position: int, piece: Piece, hit: set[str]) -> bool:
        del position
        objects = fit_transformed(piece.statement.node, hit, self.state)
        if not objects:
            return False
        self._train(objects)
        text = piece.source
        for obj in objects:
            text = rewrite.transform_instead_of_fit(text, obj)
        verb = "was" if len(objects) == 1 else "were"
        self._include(piece, text, hit - set(objects),
                      f"{', '.join(objects)} {verb} fit in training")
        return True

    def _loads(self, position: int, piece: Piece, hit: set[str]) -> bool:
        """The statement that makes the raw records from nothing the path computes."""
        stmt = piece.statement
        made_fresh = not hit & stmt.reads
        from_nothing = not stmt.reads - self.available - self.params
        if made_fresh and (piece.role == "data" or (loads(stmt.node) and from_nothing)):
            self._boundary(position, hit)
            return True
        return False

    def _label(self, position: int, piece: Piece, hit: set[str]) -> bool:
        """Made from the label, which new records do not have: left out."""
        del position, hit
        node = piece.statement.node
        return assigns_only(node, self.labels, self.constants) or reads_label(
            node, self.labels, self.constants)

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
        parts = rewrite.parallel_parts(rewrite.parsed(piece.source))
        if parts and any(name not in hit for name, _ in parts):
            chosen = [(name, value) for name, value in parts if name in hit]
            text = rewrite.every_dummy_kept(rewrite.tolerant_drops("\n".join(
                f"{name} = {rewrite.segment(piece.source, value)}" for name, value in chosen)))
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


def _called_name(node: ast.stmt) -> str:
    """``helper`` in ``frame = helper(frame, ...)``."""
    return node.value.func.id  # type: ignore[attr-defined]


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
                 constants: dict[str, str], state: str = "state") -> ScoringPath:
    """Slice the training program back from ``output`` (read just before ``start``)."""
    walk = _walked(program, start, output, labels, constants, loaded_by=-1, state=state)
    # The data cells' statements before the first other step load the records (as
    # load_data does): the records arrive as they leave them.
    loaded_by = -1
    for position, role in sorted(walk.touched):
        if role != "data":
            break
        loaded_by = position
    if loaded_by >= 0:
        walk = _walked(program, start, output, labels, constants, loaded_by=loaded_by, state=state)
    return _finished(program, start, output, walk)


def _walked(program: Program, start: int, output: ast.expr, labels, constants, *,
            loaded_by: int, state: str) -> "_Walk":
    names = {n.id for n in ast.walk(output) if isinstance(n, ast.Name)}
    walk = _Walk(program, set(), labels, constants, loaded_by)
    walk.state = state
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
