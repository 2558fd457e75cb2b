"""Statements that save the trained model or load it back: the package does both itself.

``train.py`` pickles the model into its model directory and ``score.py``'s ``init()`` loads
it, so a notebook's own ``joblib.dump(model, "model.joblib")`` would only write a stray file
wherever training runs, and its ``model = joblib.load("model.joblib")`` in a scoring cell
would look for that file in whatever directory the scoring service starts in.
"""

from __future__ import annotations

import ast
from typing import Optional

#: Modules whose ``dump``/``load`` (de)serialize Python objects.
SERIALIZERS = frozenset({"joblib", "pickle", "cloudpickle", "dill"})


def _serializer_call(node: ast.AST, verb: str) -> bool:
    """``joblib.dump(...)``, ``pickle.load(f)``, or a bare ``dump(...)`` imported from one."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == verb
    return (isinstance(func, ast.Attribute) and func.attr == verb
            and isinstance(func.value, ast.Name) and func.value.id in SERIALIZERS)


def _opens_file(item: ast.withitem) -> bool:
    call = item.context_expr
    return isinstance(call, ast.Call) and getattr(call.func, "id", None) == "open"


def saves_model(node: ast.stmt, trained: set[str]) -> bool:
    """True for a statement that only writes a trained object to a file."""
    if isinstance(node, ast.Expr):
        call = node.value
        if _serializer_call(call, "dump"):
            return True
        # model.save_model("xgb.json") (XGBoost, LightGBM, CatBoost), model.save("m.keras")
        return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("save_model", "save")
                and isinstance(call.func.value, ast.Name) and call.func.value.id in trained)
    if isinstance(node, ast.With) and node.items and all(map(_opens_file, node.items)):
        return all(saves_model(stmt, trained) for stmt in node.body)
    return False


def reloaded_model(node: ast.stmt, trained: set[str]) -> Optional[str]:
    """The trained name a statement rebinds from a file (``model = joblib.load(...)``, or
    ``with open(...) as f: model = pickle.load(f)``), else None."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if (isinstance(target, ast.Name) and target.id in trained
                and _serializer_call(node.value, "load")):
            return target.id
        return None
    if (isinstance(node, ast.With) and len(node.body) == 1 and node.items
            and all(map(_opens_file, node.items))):
        return reloaded_model(node.body[0], trained)
    return None
