"""A fitted scikit-learn model as ONNX, with skl2onnx (run inside the package's interpreter,
by ``onnx_parity``, where the pickled model and its package import).

What is converted is the model score.py calls after ``featurize``: featurization (pandas code,
the notebook's own functions, trained state) stays Python in both runtimes. A step skl2onnx
cannot convert is named with the fix (``Unconvertible``). Quantization is onnxruntime's
dynamic quantization, applied only where the graph has an operator it quantizes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

class Unconvertible(Exception):
    """A step of the model that skl2onnx cannot convert; ``step`` names it."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class Exported:
    """The ONNX model written, and what quantization did."""

    path: Path
    float_bytes: int
    quantization: dict
    operators: list[str]


def steps(model, where: str = "model") -> Iterator[tuple[str, object]]:
    """Every leaf estimator of ``model`` with its place (``model step 'scale'``), through
    pipelines, column transformers, feature unions and fitted searches."""
    inner = getattr(model, "best_estimator_", None)
    if inner is not None:
        yield from steps(inner, f"{where} (best estimator)")
        return
    parts = (getattr(model, "steps", None) or getattr(model, "transformer_list", None)
             or getattr(model, "transformers_", None))
    if not parts:
        yield where, model
        return
    for part in parts:
        name, step = part[0], part[1]
        if isinstance(step, str):  # "drop" / "passthrough"
            continue
        yield from steps(step, f"{where} step {name!r}")


def _refusal(where: str, step) -> Optional[Unconvertible]:
    """Why skl2onnx cannot convert ``step``, or None when it has a converter."""
    from skl2onnx import get_model_alias  # pylint: disable=import-outside-toplevel

    kind = type(step).__name__
    if kind == "FunctionTransformer" and getattr(step, "func", None) is not None:
        func = getattr(step.func, "__name__", repr(step.func))
        return Unconvertible(where, (
            f"{where} is a FunctionTransformer with the custom function {func}(): ONNX cannot "
            "run Python code, so this model cannot be converted. Move the function into the "
            "notebook's featurization (an mlops:featurization cell) so the model holds only "
            "scikit-learn steps, and register again"))
    try:
        get_model_alias(type(step))
    except RuntimeError:
        return Unconvertible(where, (
            f"{where} is a {type(step).__module__}.{kind}, which skl2onnx has no converter "
            "for: it converts scikit-learn estimators and pipelines of them"))
    return None


def check_convertible(model) -> None:
    """Unconvertible naming the first step skl2onnx has no converter for."""
    for where, step in steps(model):
        refused = _refusal(where, step)
        if refused is not None:
            raise refused


def _initial_types(features) -> list:
    """One float matrix, or (for a frame with text columns) one typed column per input."""
    # pylint: disable-next=import-outside-toplevel
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    dtypes = getattr(features, "dtypes", None)
    if dtypes is not None and any(not np.issubdtype(d, np.number) for d in dtypes):
        return [(str(c), FloatTensorType([None, 1]) if np.issubdtype(d, np.number)
                 else StringTensorType([None, 1])) for c, d in dtypes.items()]
    width = features.shape[1]
    return [("X", FloatTensorType([None, width]))]


def _metadata(model, onx) -> None:
    """What the runtime needs besides the graph: feature names (score.py orders and reindexes
    columns by them) and the classes."""
    values = {"feature_names_in": getattr(model, "feature_names_in_", None),
              "classes": getattr(model, "classes_", None)}
    for key, value in values.items():
        if value is not None:
            entry = onx.metadata_props.add()
            entry.key, entry.value = key, json.dumps(np.asarray(value).tolist())


def dedupe_opsets(onx) -> None:
    """One opset import per domain (the highest): skl2onnx can list the default domain
    twice, which makes onnxruntime's quantizer fail with "Failed to find proper ai.onnx
    domain" (onnxruntime#15563)."""
    import onnx  # pylint: disable=import-outside-toplevel

    highest: dict[str, int] = {}
    for entry in onx.opset_import:
        domain = "" if entry.domain == "ai.onnx" else entry.domain
        highest[domain] = max(highest.get(domain, 0), entry.version)
    del onx.opset_import[:]
    onx.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in highest.items())


def to_onnx(model, features):
    """The ONNX graph of a fitted model for inputs like ``features``; Unconvertible on failure."""
    from skl2onnx import convert_sklearn  # pylint: disable=import-outside-toplevel

    check_convertible(model)
    # probabilities as a plain tensor, not skl2onnx's default list of dicts (ZipMap)
    options = {id(step): {"zipmap": False} for _, step in steps(model)
               if hasattr(step, "predict_proba")}
    try:
        onx = convert_sklearn(model, initial_types=_initial_types(features), options=options)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # reported, not raised
        raise Unconvertible("model", f"skl2onnx cannot convert the {type(model).__name__}: "
                                     f"{type(exc).__name__}: {exc}"[:800]) from None
    dedupe_opsets(onx)
    _metadata(model, onx)
    return onx


def _quantize(source: Path, target: Path, operators: list[str]) -> dict:
    """Dynamic quantization of ``source`` into ``target``, or why it does not apply."""
    # pylint: disable-next=import-outside-toplevel
    from onnxruntime.quantization import quantize_dynamic
    # the operators quantize_dynamic rewrites by default; the linear and tree operators of
    # the ai.onnx.ml domain skl2onnx gives most models are none of them
    # pylint: disable-next=import-outside-toplevel
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    found = sorted({op for op in operators if op in IntegerOpsRegistry})
    if not found:
        return {"applied": False, "reason": (
            "not applicable: none of the model's operators (" + ", ".join(sorted(set(operators)))
            + ") is one onnxruntime's dynamic quantization rewrites (MatMul, Gemm, Conv, ...); "
            "the model is stored unquantized")}
    # its advice to pre-process goes to the root logger on every call: not the user's business
    logging.getLogger().setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # reported, not raised
        why = f"{type(exc).__name__}: {exc}"[:400]
        return {"applied": False, "reason": f"onnxruntime could not quantize it ({why}); the "
                                            "model is stored unquantized"}
    return {"applied": True, "operators": found}


def export(model, features, out: Path, quantize: bool) -> Exported:
    """Write ``out`` (model.onnx): the converted model, quantized when asked and applicable."""
    import onnx  # pylint: disable=import-outside-toplevel

    onx = to_onnx(model, features)
    operators = [node.op_type for node in onx.graph.node]
    plain = out.with_name(out.name + ".float")
    onnx.save(onx, str(plain))
    quantization = {"applied": False, "reason": "not asked (--quantize)"}
    if quantize:
        quantization = _quantize(plain, out, operators)
    float_bytes = plain.stat().st_size
    if quantization["applied"]:
        plain.unlink()
    else:
        plain.replace(out)
    return Exported(out, float_bytes, quantization, operators)
