"""The training program cut into functions: each run of consecutive statements with one role
is one function in that role's module, called in notebook order by ``train.main()``.

A function's parameters are what it reads from earlier functions (parameters-cell values
become keyword arguments), its return values what later functions, or the end of training
(model, trained objects, metrics), read from it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .program import MODULE, Piece, Program
from .resolve import PARAMETER, Dataflow

FUNCTION = {"data": "load_data", "featurization": "featurize", "training": "train",
            "evaluation": "evaluate", "scoring": "predict_held_out"}
ROLE_DOC = {
    "data": "Load the raw training data",
    "featurization": "Turn raw records into model features",
    "training": "Fit the model",
    "evaluation": "Compute the metrics on held-out data",
    "scoring": "Predict on the held-out data as the notebook's scoring cell does (score.py "
               "runs the same code on new records)",
}


@dataclass(frozen=True)
class Segment:
    """One generated function: consecutive statements of one role."""

    role: str
    name: str
    pieces: tuple[Piece, ...]
    positions: tuple[int, ...]  # of the pieces in program.inline
    params: tuple[str, ...]
    kwparams: tuple[str, ...]
    returns: tuple[str, ...]
    uses_state: bool = False  # takes the trained state (saved statistics)

    @property
    def module(self) -> str:
        """The module the function lives in (a scoring cell run in training: evaluate.py)."""
        return "evaluate" if self.role == "scoring" else MODULE[self.role]

    @property
    def cells(self) -> tuple:
        """Source cells in notebook order, each once."""
        seen: dict[int, object] = {}
        for piece in self.pieces:
            seen.setdefault(piece.cell.index, piece.cell)
        return tuple(seen.values())


def _scoring_is_read(program: Program, flow: Dataflow) -> bool:
    """Whether training reads what a scoring cell computes (metrics of its predictions)."""
    return any(program.inline[reader].role != "scoring"
               for position, piece in enumerate(program.inline) if piece.role == "scoring"
               for reader, _ in flow.readers_of(position))


def _runs(program: Program, flow: Dataflow) -> list[tuple[str, list[int]]]:
    """Positions of the training program's pieces, grouped into same-role runs (scoring
    cells only when training reads what they compute)."""
    runs: list[tuple[str, list[int]]] = []
    with_scoring = _scoring_is_read(program, flow)
    for position, piece in enumerate(program.inline):
        if piece.role == "scoring" and not with_scoring:
            continue
        if runs and runs[-1][0] == piece.role:
            runs[-1][1].append(position)
        else:
            runs.append((piece.role, [position]))
    return runs


def _names(runs: list[tuple[str, list[int]]], taken: set[str]) -> list[str]:
    counts: dict[str, int] = {}
    names = []
    for role, _ in runs:
        counts[role] = counts.get(role, 0) + 1
        base = FUNCTION[role]
        if role == "data" and counts[role] > 1:
            base = "clean_data"
            number = counts[role] - 1
        else:
            number = counts[role]
        name = base if number == 1 else f"{base}_{number}"
        names.append(f"{name}_step" if name in taken else name)
    return names


def taken_names(program: Program) -> set[str]:
    """Names a generated function must not take: helpers and the notebook's variables."""
    taken = set(program.definer_module) | {p.name for p in program.parameters}
    for piece in program.inline:
        taken |= piece.statement.reads | piece.statement.writes
    return taken


def _last_writers(program: Program, runs) -> dict[str, int]:
    last: dict[str, int] = {}
    for _, positions in runs:
        for position in positions:
            for name in program.inline[position].statement.writes:
                last[name] = position
    return last


def training_segments(program: Program, flow: Dataflow, end_reads: set[str],
                      stateful: set[int]) -> tuple[Segment, ...]:
    """The training program's functions; ``end_reads`` are what ``main()`` needs at the end,
    ``stateful`` the positions of statements that use the trained state."""
    runs = _runs(program, flow)
    names = _names(runs, taken_names(program))
    owner = {p: k for k, (_, positions) in enumerate(runs) for p in positions}
    last = _last_writers(program, runs)
    segments = []
    for k, (role, positions) in enumerate(runs):
        params, kwparams, returns = [], [], {}
        for position in positions:
            for name, writer in flow.reads[position]:
                if writer == PARAMETER and name not in kwparams:
                    kwparams.append(name)
                elif isinstance(writer, int) and owner.get(writer, k) < k and name not in params:
                    params.append(name)
            for reader, name in flow.readers_of(position):
                if owner.get(reader, -1) > k:
                    returns[name] = position
        for name in end_reads:
            if owner.get(last.get(name, -1)) == k:
                returns[name] = last[name]
        ordered = _in_written_order(program, returns)
        segments.append(Segment(
            role, names[k], tuple(program.inline[p] for p in positions), tuple(positions),
            tuple(params), tuple(kwparams), tuple(ordered),
            uses_state=bool(stateful & set(positions))))
    return tuple(segments)


def _in_written_order(program: Program, returns: dict[str, int]) -> list[str]:
    """Names by the statement that last writes them, then as that statement lists them
    (``X_train, X_test, y_train, y_test = ...`` keeps its order)."""
    def key(name: str) -> tuple[int, int, str]:
        node = program.inline[returns[name]].statement.node
        stored = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store)]
        return returns[name], stored.index(name) if name in stored else len(stored), name
    return sorted(returns, key=key)


def scoring_segment(program: Program, flow: Dataflow) -> Segment | None:
    """The mlops:scoring cells as one ``predict`` function for score.py, or None."""
    positions = [p for p, piece in enumerate(program.inline) if piece.role == "scoring"]
    if not positions:
        return None
    params, kwparams = [], []
    for position in positions:
        for name, writer in flow.reads[position]:
            if writer == PARAMETER and name not in kwparams:
                kwparams.append(name)
            elif (isinstance(writer, int) and program.inline[writer].role != "scoring"
                  and name not in params):
                params.append(name)
    name = "predict_step" if "predict" in taken_names(program) else "predict"
    pieces = tuple(program.inline[p] for p in positions)
    return Segment("scoring", name, pieces, tuple(positions), tuple(params), tuple(kwparams),
                   _last_assigned(pieces))


def _last_assigned(pieces: tuple[Piece, ...]) -> tuple[str, ...]:
    for piece in reversed(pieces):
        node = piece.statement.node
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if names:
                return (names[0],)
    return ()
