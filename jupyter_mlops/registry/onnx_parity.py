"""Convert a package's model to ONNX and measure what the conversion changed, inside the
package's interpreter (``python -m jupyter_mlops.registry.onnx_parity JOB``, like
``inpackage``): both runtimes load through the package's own ``score.load_model`` and score
the same features, the recorded sample and the evaluation data.

Printed (one JSON document): the conversion's scope, label agreement and the largest
probability or prediction difference per data set, each recomputable metric with both
runtimes, file sizes and one-record latency; or ``{"error", "step"}`` for a model that cannot
be converted, ``{"error", "missing"}`` without skl2onnx/onnxruntime.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .inpackage import evaluate_frame, metric_key

#: Metrics computed from probabilities (not recomputable from labels alone): the model's.
PROBABILITY_METRICS = {"roc_auc": "roc_auc_score", "auc": "roc_auc_score",
                       "log_loss": "log_loss"}
#: One-record latency: calls per runtime at most, and seconds spent at most.
LATENCY_CALLS, LATENCY_SECONDS = 300, 1.0


def _score(package: str, model_dir: Path, runtime: str):
    """The package's score module, initialised with ``runtime``'s model."""
    os.environ.update(MODEL_DIR=str(model_dir), MODEL_RUNTIME=runtime)
    score = importlib.import_module(f"{package}.score")
    score.init()
    return score


def _first(features):
    """The first row of the features, in their own type."""
    return features.iloc[:1] if hasattr(features, "iloc") else features[:1]


def _numbers(values) -> np.ndarray:
    return np.asarray(values, dtype=float).ravel()


def compare(sklearn_model, onnx_model, features) -> dict:
    """Label agreement and largest probability difference (classifier), or the largest
    absolute and relative prediction difference (regressor)."""
    expected, got = sklearn_model.predict(features), onnx_model.predict(features)
    row = {"rows": int(len(expected))}
    if hasattr(sklearn_model, "classes_"):
        row["label_agreement"] = float(np.mean(np.asarray(expected) == np.asarray(got)))
        if hasattr(sklearn_model, "predict_proba"):
            difference = np.abs(sklearn_model.predict_proba(features)
                                - onnx_model.predict_proba(features))
            row["max_probability_difference"] = float(difference.max())
        return row
    difference = np.abs(_numbers(expected) - _numbers(got))
    row["max_abs_difference"] = float(difference.max())
    # relative to the prediction, or absolute for predictions below 1 in size
    row["max_relative_difference"] = float(
        (difference / np.maximum(np.abs(_numbers(expected)), 1.0)).max())
    return row


def latency_ms(model, one) -> float:
    """Median milliseconds of ``model.predict`` on one record's features."""
    model.predict(one)  # warm: first calls allocate
    times, deadline = [], time.perf_counter() + LATENCY_SECONDS
    while len(times) < LATENCY_CALLS and time.perf_counter() < deadline:
        start = time.perf_counter()
        model.predict(one)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _probability_metrics(model, features, truth, names: list[str]) -> dict:
    """The notebook's probability metrics (AUC, log loss) of a binary classifier."""
    from sklearn import metrics as skm  # pylint: disable=import-outside-toplevel

    wanted = [n for n in names if n.lower() in PROBABILITY_METRICS]
    if not wanted or not hasattr(model, "predict_proba") or len(truth) != features.shape[0] \
            or len(set(truth.tolist())) != 2:
        return {}
    positive = model.predict_proba(features)[:, 1]
    out = {}
    for name in wanted:
        value = float(getattr(skm, PROBABILITY_METRICS[name.lower()])(truth, positive))
        out[name] = value if math.isfinite(value) else None
    return out


def metrics_both(job: dict, frame, models: dict, features) -> Optional[dict]:
    """Each recomputable metric on ``frame`` with both runtimes: the labels through score.run
    (the whole scoring contract), the probabilities from the models; None without a label."""
    label = job.get("label")
    if frame is None or not label or label not in frame.columns:
        return None
    names = [n for n in job["metrics"] if metric_key(n) or n.lower() in PROBABILITY_METRICS]
    out = {}
    folders = {"sklearn": job["model_dir"], "onnx": job["onnx_dir"]}
    for runtime, model in models.items():
        score = _score(job["package"], Path(folders[runtime]), runtime)
        answer = evaluate_frame(score, frame, label, names)
        if "error" in answer:
            return {"error": f"{runtime}: {answer['error']}"}
        out[runtime] = {**answer["metrics"], **_probability_metrics(
            model, features, frame[label].to_numpy(), names)}
    return out


def _features(score, frame, labels: list[str]):
    """The model's input for the rows of ``frame``, through the records contract."""
    rows = frame.drop(columns=[c for c in labels if c in frame.columns])
    return score.features_from_records(score.parse_records(rows.to_json(orient="records")))


def measure(job: dict) -> dict:
    """Convert, then compare the runtimes on the sample and the evaluation data."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    from .onnx_export import export, steps  # pylint: disable=import-outside-toplevel

    model_dir, out = Path(job["model_dir"]), Path(job["out"])
    score = _score(job["package"], model_dir, "sklearn")
    labels = list(score.LABEL_COLUMNS)
    sample = pd.DataFrame.from_records(job["records"]) \
        if all(isinstance(r, dict) for r in job["records"]) else None
    if sample is not None:
        sample_features = _features(score, sample, labels)
    else:  # rows or single values: no labels in them
        sample_features = score.features_from_records(score.parse_records(
            json.dumps(job["records"])))
    sklearn_model = score.load_model(model_dir / "model.pkl")
    exported = export(sklearn_model, sample_features, out, job["quantize"])
    onnx_model = score.load_model(out)
    frame = pd.read_pickle(job["data"]) if job.get("data") else None
    models = {"sklearn": sklearn_model, "onnx": onnx_model}
    report = {
        "steps": [type(step).__name__ for _, step in steps(sklearn_model)],
        "kind": "classifier" if hasattr(sklearn_model, "classes_") else "regressor",
        "trained_state": (model_dir / "state.pkl").exists(),
        "operators": sorted(set(exported.operators)), "quantization": exported.quantization,
        "bytes": {"sklearn": (model_dir / "model.pkl").stat().st_size,
                  "onnx": out.stat().st_size, "onnx_unquantized": exported.float_bytes},
        "latency_ms": {name: latency_ms(model, _first(sample_features))
                       for name, model in models.items()},
        "sample": compare(sklearn_model, onnx_model, sample_features),
        "sample_metrics": metrics_both({**job, "label": _single(labels)}, sample, models,
                                       sample_features),
    }
    if frame is not None:
        features = _features(score, frame, labels)
        report["evaluation"] = compare(sklearn_model, onnx_model, features)
        report["evaluation_metrics"] = metrics_both({**job, "label": _single(labels)}, frame,
                                                    models, features)
    return report


def _single(labels: list[str]) -> Optional[str]:
    return labels[0] if len(labels) == 1 else None


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point for the subprocess: one JSON argument; prints one JSON document."""
    from .onnx_export import Unconvertible  # pylint: disable=import-outside-toplevel

    job = json.loads((argv or sys.argv[1:])[0])
    try:
        result = measure(job)
    except Unconvertible as exc:
        result = {"error": str(exc), "step": exc.step}
    except ImportError as exc:
        if exc.name not in ("skl2onnx", "onnx", "onnxruntime"):
            raise
        result = {"error": f"converting to ONNX needs {exc.name}", "missing": exc.name}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
