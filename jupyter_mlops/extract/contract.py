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
    # what the model's input is wrapped in to predict (``xgb.DMatrix``), as source
    predict_wrapper: Optional[str] = None


_DATASETS = ("Dataset", "DMatrix", "DataMatrix", "Pool")
_FORMULAS = frozenset({"ols", "logit", "probit", "glm", "poisson", "mnlogit", "wls", "gls",
                       "quantreg", "negativebinomial", "mixedlm"})
_DESIGNS = frozenset({"OLS", "Logit", "Probit", "GLM", "Poisson", "WLS", "GLS", "MNLogit",
                      "QuantReg", "NegativeBinomial", "RLM"})

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


def _dataset_of(program: Program, position: int, value: ast.expr) -> Optional[ast.Call]:
    """The ``lgb.Dataset(X, y)`` / ``xgb.DMatrix(X, label=y)`` a native ``train`` call gets,
    written inline or assigned to a name before it."""
    if isinstance(value, ast.Call) and _called(value.func).endswith(_DATASETS):
        return value
    if not isinstance(value, ast.Name):
        return None
    for earlier in range(position - 1, -1, -1):
        node = program.inline[earlier].statement.node
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == value.id):
            return _dataset_of(program, earlier, node.value)
    return None


NativeFit = tuple[int, str, ast.expr, Optional[ast.expr], Optional[str]]


def _native_train(program: Program, position: int, name: str,
                  call: ast.Call) -> Optional[NativeFit]:
    """``bst = lgb.train(params, lgb.Dataset(X, y))`` and ``xgb.train(params, dtrain)``."""
    keywords = {k.arg: k.value for k in call.keywords}
    data = call.args[1] if len(call.args) > 1 else (
        keywords.get("dtrain") or keywords.get("train_set"))
    dataset = _dataset_of(program, position, data) if data is not None else None
    if dataset is None or not dataset.args:
        return None
    labels = {k.arg: k.value for k in dataset.keywords}
    y = dataset.args[1] if len(dataset.args) > 1 else labels.get("label")
    wrapper = ast.unparse(dataset.func) if _called(dataset.func) == "DMatrix" else None
    return position, name, dataset.args[0], y, wrapper


def _statsmodels_fit(position: int, name: str, call: ast.Call) -> Optional[NativeFit]:
    """``smf.ols("y ~ x", data=df).fit()`` and ``sm.OLS(y, X).fit()``."""
    if not (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Call)):
        return None
    spec = call.func.value
    keywords = {k.arg: k.value for k in spec.keywords}
    if _called(spec.func) in _FORMULAS and "data" in keywords:
        data = keywords["data"]
        return position, name, data, _formula_label(spec, data), None
    if _called(spec.func) in _DESIGNS and len(spec.args) >= 2:
        return position, name, spec.args[1], spec.args[0], None
    return None


def _native_fits(program: Program) -> Iterator[NativeFit]:
    """Models fit without an sklearn ``.fit(X, y)``: (position, model, X, y, predict wrapper)."""
    for position, piece in enumerate(program.inline):
        node = piece.statement.node
        if piece.role == "scoring" or not (
                isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)):
            continue
        name, call = node.targets[0].id, node.value
        if _called(call.func) == "train":
            found = _native_train(program, position, name, call)
        elif _called(call.func) == "fit":
            found = _statsmodels_fit(position, name, call)
        else:
            found = None
        if found is not None:
            yield found


def _formula_label(spec: ast.Call, data: ast.expr) -> Optional[ast.expr]:
    """``df["price"]`` for ``smf.ols("price ~ sqft", data=df)``: the formula's left side."""
    formula = spec.args[0] if spec.args else next(
        (k.value for k in spec.keywords if k.arg == "formula"), None)
    if not (isinstance(formula, ast.Constant) and isinstance(formula.value, str)
            and "~" in formula.value):
        return None
    left = formula.value.split("~", 1)[0].strip()
    if not left.isidentifier():
        return None
    return ast.Subscript(value=data, slice=ast.Constant(left), ctx=ast.Load())


def _called(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


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
    fits = [_sklearn_fit(f) for f in fit_calls(program)] + list(_native_fits(program))
    fits = sorted((f for f in fits if f is not None), key=lambda f: f[0])
    fitted = {f[1] for f in fits}
    training = [f for f in fits if program.inline[f[0]].role == "training"]
    predicted = _predicted_names(program)
    model = next((n for n in predicted if n in fitted), None)
    if model is not None:
        chosen = [f for f in fits if f[1] == model][-1]
    elif predicted and _selected_fit(program, predicted[0]):
        chosen = _sklearn_fit(_selected_fit(program, predicted[0]))
    elif training:
        chosen = training[-1]
    else:
        return None
    if chosen is None:
        return None
    position, name, x, y, wrapper = chosen
    return Fit(position, name, x, y, wrapper or _predict_wrapper(program, name))


def _sklearn_fit(found) -> Optional[tuple[int, str, ast.expr, Optional[ast.expr], None]]:
    """(position, model, X, y, None) of a ``.fit(X, y)`` call."""
    if found is None:
        return None
    position, name, call = found
    keywords = {k.arg: k.value for k in call.keywords}
    x = call.args[0] if call.args else keywords.get("X")
    y = call.args[1] if len(call.args) > 1 else keywords.get("y")
    return None if x is None else (position, name, x, y, None)


def _predict_wrapper(program: Program, model: str) -> Optional[str]:
    """``xgb.DMatrix`` when the notebook predicts with ``model.predict(xgb.DMatrix(X))``."""
    for piece in program.inline:
        for node in ast.walk(piece.statement.node):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in PREDICTS and base_name(node.func.value) == model
                    and node.args and isinstance(node.args[0], ast.Call)
                    and _called(node.args[0].func) == "DMatrix"):
                return ast.unparse(node.args[0].func)
    return None


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
                argument = node.args[0]
                if fit.predict_wrapper and isinstance(argument, ast.Call) and argument.args:
                    argument = argument.args[0]  # xgb.DMatrix(X_test): the input is X_test
                return Prediction(position, argument, True)
    return Prediction(fit.position, fit.x, False)
