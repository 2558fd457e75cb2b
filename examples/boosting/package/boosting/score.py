"""Scoring entry point (the Azure ML contract) around the trained model.

Generated from boosting.ipynb by jupyter-mlops. ``init()`` loads the model once;
``run(raw_data)`` takes a JSON string of records and returns ``{"predictions": [...]}``,
or ``{"error": "...", "detail": [...]}`` for input it cannot score: never a traceback.
The package's own modules are imported by absolute name, so Azure ML's inference server can
load this file as its entry script::

    azmlinfsrv --entry_script boosting/score.py
"""

import json
import math
import os
from pathlib import Path
import pickle

import numpy as np

from boosting.featurize import model_input
from boosting.onnx_model import OnnxModel

# The model file of each runtime; $MODEL_RUNTIME picks one (default: the pickled model).
MODEL_FILES = {"sklearn": "model.pkl", "onnx": "model.onnx"}
# How each runtime's model file is made, for the message when it is missing.
MADE_BY = {
    # two strings: a long package name wraps onto its own line
    "sklearn": ("train first with " "`python -m boosting.train`"),
    "onnx": "convert the model first with `jupyter mlops convert NAME:VERSION --to onnx`",
}
# Notebook parameters training ran with (train.py writes them beside the model).
PARAMETERS_FILE = "parameters.json"
# Longer integers are refused (Python's own limit, 4300 digits, would raise mid-parse).
MAX_DIGITS = 100
# What the notebook trained on, as its recording run saw it (recorded data, kept out of the code).
TRAINING_INPUT = json.loads(
    Path(__file__).with_name("training_input.json").read_text(encoding="utf-8")
)
# New records are rows of this many numbers, as the notebook's raw rows were.
WIDTH = TRAINING_INPUT["width"]
# The label's columns: new records do not carry them and scoring never reads them.
LABEL_COLUMNS = ("random",)
_STATE = {}


class InputError(ValueError):
    """The caller sent records this model cannot score; ``detail`` says where and why."""

    def __init__(self, message: str, **detail) -> None:
        super().__init__(message)
        self.detail = {key: value for key, value in detail.items() if value is not None}


def runtime() -> str:
    """The model runtime $MODEL_RUNTIME names: ``sklearn`` (default) or ``onnx``."""
    name = os.environ.get("MODEL_RUNTIME") or "sklearn"
    if name not in MODEL_FILES:
        raise ValueError(f"MODEL_RUNTIME={name!r}: choose one of {', '.join(MODEL_FILES)}")
    return name


def load_model(path: Path):
    """The trained model in ``path``: the pickled model, or model.onnx run by onnxruntime."""
    if path.suffix == ".onnx":
        return OnnxModel(path)
    with open(path, "rb") as stream:
        return pickle.load(stream)


def init() -> None:
    """Load the model of the runtime $MODEL_RUNTIME names from $MODEL_DIR or
    $AZUREML_MODEL_DIR (searched recursively)."""
    root = Path(os.environ.get("MODEL_DIR") or os.environ.get("AZUREML_MODEL_DIR") or "outputs")
    name = runtime()
    found = sorted(root.rglob(MODEL_FILES[name])) if root.is_dir() else []
    if not found:
        raise FileNotFoundError(f"no {MODEL_FILES[name]} under {root}: {MADE_BY[name]}")
    _STATE["model"] = load_model(found[0])
    used = found[0].parent / PARAMETERS_FILE
    _STATE["parameters"] = json.loads(used.read_text(encoding="utf-8")) if used.exists() else {}


def trained_with(*names: str) -> dict:
    """The values training used for these notebook parameters: scoring must featurize with
    the same ones, not the parameters cell's defaults."""
    used = _STATE.get("parameters", {})
    return {name: used[name] for name in names if name in used}


def _integer(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise InputError(f"a number of {len(text)} digits: at most {MAX_DIGITS} are accepted")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{text[:40]} is too large for a number")
    return value


def _no_constant(name: str):
    raise InputError(f"{name} is not a number JSON allows: send null for a missing value")


def _decoded(raw_data, example: str) -> list:
    """The non-empty JSON list of records in ``raw_data`` (or in its ``"data"`` key); input
    nested too deeply or with numbers too long to convert is refused, not crashed on."""
    try:
        records = (
            json.loads(
                raw_data, parse_int=_integer, parse_float=_finite, parse_constant=_no_constant
            )
            if isinstance(raw_data, (str, bytes, bytearray))
            else raw_data
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"input is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError("input is nested too deeply: send a flat list of records") from None
    if isinstance(records, dict) and isinstance(records.get("data"), list):
        records = records["data"]
    if not isinstance(records, list) or not records:
        raise InputError(f"expected a non-empty JSON list of records, like {example}")
    return records


def parse_records(raw_data) -> list:
    """Decode a JSON string of records, each a row of WIDTH numbers like the notebook's."""
    records = _decoded(raw_data, "[[" + ", ".join(["1.0"] * min(WIDTH, 3)) + ", ...]]")
    for number, record in enumerate(records, start=1):
        if not isinstance(record, list) or len(record) != WIDTH:
            raise InputError(
                f"record {number} should be a list of {WIDTH} numbers, like the rows the model "
                "was trained on",
                record=number,
                expected=f"list of {WIDTH} numbers",
            )
        wrong = [
            v
            for v in record
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)))
        ]
        if wrong:
            raise InputError(
                f"record {number}: {wrong[0]!r} is not a number",
                record=number,
                column=record.index(wrong[0]),
                expected="number",
            )
    return records


def to_frame(records: list):
    """Records as the array the scoring path expects (null is NaN)."""
    return np.asarray(records, dtype=float)


def features_from_records(records: list, frame=None):
    """The model's input for checked records, as training computed it (``frame``: the
    records' frame, when the caller needs it afterwards)."""
    if frame is None:
        frame = to_frame(records)
    return model_input(frame)


def _jsonable(values):
    if hasattr(values, "to_dict") and hasattr(values, "columns"):
        return values.to_dict(orient="records")
    if hasattr(values, "tolist"):
        return values.tolist()
    return list(values)


def in_record_order(predictions, features, count: int) -> list:
    """One prediction per record, in the records' order: featurization that sorts rows is
    undone through the frame's index, and a record it drops gets None."""
    values = _jsonable(predictions)
    index = getattr(features, "index", None)
    if index is not None and len(index) == len(values) and index.is_unique:
        positions = index.tolist()
        if set(positions) <= set(range(count)):
            by_record = dict(zip(positions, values))
            return [by_record.get(number) for number in range(count)]
    if len(values) != count:
        raise ValueError(
            f"{len(values)} predictions for {count} records cannot be matched to the records: "
            "featurization or scoring kept only some rows and lost the frame's index"
        )
    return values


def run(raw_data) -> dict:
    """Score a JSON string of records: ``{"predictions": [...]}`` or ``{"error": "..."}``."""
    try:
        records = parse_records(raw_data)
    except InputError as exc:
        return {"error": str(exc), "detail": [exc.detail]} if exc.detail else {"error": str(exc)}
    if "model" not in _STATE:
        return {"error": "the model is not loaded: call init() first"}
    try:
        features = features_from_records(records)
        predictions = _STATE["model"].predict(features)
        predictions = in_record_order(predictions, features, len(records))
    # The caller gets a readable error, never a traceback (Azure ML's scoring contract).
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return {"error": f"could not score the input: {type(exc).__name__}: {exc}"}
    dropped = [number for number, value in enumerate(predictions, start=1) if value is None]
    if dropped:
        return {
            "predictions": predictions,
            "warnings": [f"featurization dropped record(s) {dropped}: they have no prediction"],
        }
    return {"predictions": predictions}
