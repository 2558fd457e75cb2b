"""The model the package serves: which statement fits it, on what, and what it predicts on."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator, Optional

from .dataflow import base_name
from .program import Piece, Program

PREDICTS = frozenset({"predict", "predict_proba", "predict_log_proba", "decision_function"})


@dataclass(frozen=True)
class Fit:
    """The statement that fits the model last, and its arguments."""

    position: int  # in program.inline
    model: str
    x: ast.expr
    y: Optional[ast.expr]


@dataclass(frozen=True)
class Prediction:
    """Where the package's model input comes from: the expression the model predicts on in the
    scoring cell, or else the one it was fit on."""

    position: int  # the statement the slice goes back from
    expr: ast.expr
    in_scoring_cell: bool


def _fitted_name(piece: Piece, call: ast.Call) -> Optional[str]:
    """``model`` in ``model.fit(...)`` and in ``model = Estimator().fit(...)``."""
    receiver = call.func.value  # type: ignore[attr-defined]
    if isinstance(receiver, ast.Name):
        return receiver.id
    node = piece.statement.node
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.value is call):
        return node.targets[0].id
    return None  # `scores[c] = Estimator().fit(...)`: no name holds that model


def fit_calls(program: Program, method: str = "fit") -> Iterator[tuple[int, str, ast.Call]]:
    """(position, fitted name, call) of every ``.fit(...)`` in the training program."""
    for position, piece in enumerate(program.inline):
        if piece.role == "scoring":
            continue
        for node in ast.walk(piece.statement.node):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == method and (node.args or node.keywords)):
                name = _fitted_name(piece, node)
                if name:
                    yield position, name, node


def _predicted_names(program: Program) -> list[str]:
    names = []
    for piece in program.inline:
        if piece.role not in ("evaluation", "scoring"):
            continue
        for node in ast.walk(piece.statement.node):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in PREDICTS and isinstance(node.func.value, ast.Name)):
                names.append(node.func.value.id)
    return names


def find_fit(program: Program) -> Optional[Fit]:
    """The model's last fit: of the name evaluation or scoring predicts with, else the last fit
    in a training cell."""
    fits = list(fit_calls(program))
    fitted = {name for _, name, _ in fits}
    training = [f for f in fits if program.inline[f[0]].role == "training"]
    predicted = _predicted_names(program)
    model = next((n for n in predicted if n in fitted), None)
    if model is not None:
        chosen = [f for f in fits if f[1] == model][-1]
    elif predicted and _selected_fit(program, predicted[0]):
        chosen = _selected_fit(program, predicted[0])
    elif training:
        chosen = training[-1]
    else:
        return None
    position, name, call = chosen
    keywords = {k.arg: k.value for k in call.keywords}
    x = call.args[0] if call.args else keywords.get("X")
    y = call.args[1] if len(call.args) > 1 else keywords.get("y")
    if x is None:
        return None
    return Fit(position, name, x, y)


def _selected_fit(program: Program, model: str) -> Optional[tuple[int, str, ast.Call]]:
    """``model = candidates[best]`` after ``candidates[c] = Estimator(c).fit(X, y)``: the
    last fit before ``model`` is last assigned, with ``model`` as its name."""
    last = None
    for position, piece in enumerate(program.inline):
        if piece.role != "scoring" and model in piece.statement.writes:
            last = position
    if last is None:
        return None
    for position in range(last, -1, -1):
        for node in ast.walk(program.inline[position].statement.node):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "fit" and node.args):
                return position, model, node
    return None


def find_prediction(program: Program, fit: Fit) -> Prediction:
    """What the scoring cell predicts on with the model, else what the model was fit on."""
    for position, piece in enumerate(program.inline):
        if piece.role != "scoring":
            continue
        for node in ast.walk(piece.statement.node):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in PREDICTS and base_name(node.func.value) == fit.model
                    and node.args):
                return Prediction(position, node.args[0], True)
    return Prediction(fit.position, fit.x, False)
