"""Work done inside a generated package's interpreter (``python -m`` in a subprocess), so the
package's own imports, working directory and model never mix with ours or another version's.

``profile``: load the training data with the package's ``load_data`` and write its profile
(with the model's predictions on it, for ``monitor``).
``evaluate``: score a data file through ``score.run`` and compute metrics against its label.
``predict``: score a list of records through ``score.run`` (smoke's expected answers).
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import sys
from pathlib import Path

#: Metrics recomputable from predictions and labels: name -> (higher is better, function).
_SKLEARN = {
    "accuracy": (True, "accuracy_score"), "balanced_accuracy": (True, "balanced_accuracy_score"),
    "f1": (True, "f1_score"), "precision": (True, "precision_score"),
    "recall": (True, "recall_score"), "r2": (True, "r2_score"),
    "mse": (False, "mean_squared_error"), "mae": (False, "mean_absolute_error"),
    "mape": (False, "mean_absolute_percentage_error"), "rmse": (False, "root_mean_squared_error"),
}
_ALIASES = {"f1_score": "f1", "accuracy_score": "accuracy", "r2_score": "r2",
            "mean_squared_error": "mse", "mean_absolute_error": "mae",
            "root_mean_squared_error": "rmse", "precision_score": "precision",
            "recall_score": "recall"}


def metric_key(name: str) -> str | None:
    """The recomputable metric a notebook's metric name stands for, or None."""
    key = name.lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    return key if key in _SKLEARN else None


def _kind(series) -> str:
    import pandas as pd  # pylint: disable=import-outside-toplevel

    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "string"


#: Points of a numeric column's quantile sketch, and categories counted, per column.
SKETCH_POINTS = 500
TOP_CATEGORIES = 100


def distribution(series, categorical: bool = False) -> dict:
    """What ``monitor`` compares served values with: a quantile sketch of a numeric column
    (its values at SKETCH_POINTS evenly spaced quantiles), or the counts of its most common
    categories and how many distinct values it has."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    values = series.dropna()
    if _kind(series) == "number" and len(values) and not categorical:
        points = min(len(values), SKETCH_POINTS)
        sketch = np.quantile(values.to_numpy(dtype=float), np.linspace(0, 1, points))
        return {"sketch": [float(v) for v in sketch],
                "zero_fraction": float((values == 0).mean())}
    counts = values.astype(str).value_counts()
    return {"counts": {str(k): int(v) for k, v in counts.head(TOP_CATEGORIES).items()},
            "distinct": int(len(counts))}


def profile_frame(df, label_columns: list[str]) -> dict:
    """Columns, dtypes, null fractions, numeric ranges and distributions of a DataFrame."""
    columns = {}
    for name in df.columns:
        series = df[name]
        entry = {"dtype": str(series.dtype), "kind": _kind(series),
                 "null_fraction": float(series.isna().mean()) if len(series) else 0.0,
                 "label": name in label_columns}
        if entry["kind"] == "number":
            values = series.dropna()
            entry.update(min=float(values.min()) if len(values) else None,
                         max=float(values.max()) if len(values) else None,
                         all_zero=bool(len(values)) and bool((values == 0).all()))
        entry["distribution"] = distribution(series)
        columns[str(name)] = entry
    return {"rows": int(len(df)), "columns": columns}


def prediction_profile(score, df, label_columns: list[str], limit: int = 5000) -> dict:
    """The distribution of the model's predictions on (up to ``limit`` rows of) the training
    data, as ``monitor`` compares served predictions with it."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    rows = df.drop(columns=[c for c in label_columns if c in df.columns]).head(limit)
    answer = score.run(rows.to_json(orient="records"))
    if "predictions" not in answer:
        return {"error": str(answer.get("error"))[:300]}
    kind = prediction_kind(answer["predictions"])
    return {"kind": kind, **distribution(pd.Series(answer["predictions"]), kind == "category")}


def prediction_kind(predictions: list) -> str:
    """``category`` for labels (texts, booleans, a few distinct integers), else ``number``."""
    values = [v for v in predictions if v is not None]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        few = len(set(values)) <= 20 and all(float(v).is_integer() for v in values)
        return "category" if few else "number"
    return "category"


def check_frame(profile: dict, df) -> list[dict]:
    """Problems of ``df`` as scoring input against the training ``profile``."""
    problems = []
    expected = {n: c for n, c in profile["columns"].items() if not c.get("label")}
    labels = {n for n, c in profile["columns"].items() if c.get("label")}
    for name in expected:
        if name not in df.columns:
            problems.append({"column": name, "check": "missing column",
                             "detail": "present in the training data"})
    for name in df.columns:
        if name not in expected and name not in labels:
            problems.append({"column": str(name), "check": "extra column",
                             "detail": "not in the training data"})
    for name, column in expected.items():
        if name not in df.columns:
            continue
        series = df[name]
        kind = _kind(series)
        if kind != column["kind"]:
            problems.append({"column": name, "check": "dtype changed",
                             "detail": f"{column['dtype']} in training, {series.dtype} now"})
            continue
        if len(series) and series.isna().all() and column["null_fraction"] < 1:
            problems.append({"column": name, "check": "all null",
                             "detail": f"{column['null_fraction']:.0%} null in training"})
            continue
        if kind != "number":
            continue
        values = series.dropna()
        if len(values) and (values == 0).all() and not column.get("all_zero"):
            problems.append({"column": name, "check": "all zero",
                             "detail": "not all zero in training"})
        low, high = column.get("min"), column.get("max")
        if low is not None and high is not None:
            outside = int(((values < low) | (values > high)).sum())
            if outside:
                problems.append({"column": name, "check": "out of range",
                                 "detail": f"{outside} value(s) outside the training range "
                                           f"[{low:g}, {high:g}]"})
    return problems


def _load_data(package: str, parameters: dict):
    data = importlib.import_module(f"{package}.data")
    accepted = inspect.signature(data.load_data).parameters
    return data.load_data(**{k: v for k, v in parameters.items() if k in accepted})


def read_frame(path: str):
    """A DataFrame from a .csv, .parquet, .json (records) or .pkl file."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    suffix = Path(path).suffix.lower()
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".json": pd.read_json,
               ".pkl": pd.read_pickle, ".pickle": pd.read_pickle}
    return readers.get(suffix, pd.read_csv)(path)


def evaluate_frame(score, df, label: str, metric_names: list[str]) -> dict:
    """Score ``df`` (without its label) through ``score.run``; metrics against the label."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    from sklearn import metrics as skm  # pylint: disable=import-outside-toplevel

    records = json.loads(df.drop(columns=[label]).to_json(orient="records"))
    answer = score.run(json.dumps(records))
    if "error" in answer:
        return {"error": answer["error"]}
    predicted = np.asarray(answer["predictions"])
    truth = df[label].to_numpy()
    out = {}
    for name in metric_names:
        key = metric_key(name)
        if key is None:
            continue
        func = getattr(skm, _SKLEARN[key][1])
        kwargs = {}
        if key in ("f1", "precision", "recall") and len(set(truth.tolist())) > 2:
            kwargs["average"] = "weighted"
        value = float(func(truth, predicted, **kwargs))
        out[name] = value if math.isfinite(value) else None
    return {"metrics": out, "rows": int(len(df))}


def higher_is_better(name: str) -> bool | None:
    """Whether a larger value of the metric is better, None when unknown."""
    key = metric_key(name)
    return None if key is None else _SKLEARN[key][0]


def _answer(job: dict) -> dict:
    """One job's JSON answer."""
    score = importlib.import_module(f"{job['package']}.score")
    if job["action"] == "profile":
        df = _load_data(job["package"], job.get("parameters", {}))
        result = profile_frame(df, list(score.LABEL_COLUMNS))
        if job.get("predictions"):
            score.init()
            result["predictions"] = prediction_profile(score, df, list(score.LABEL_COLUMNS))
    elif job["action"] == "load":
        _load_data(job["package"], job.get("parameters", {})).to_pickle(job["out"])
        result = {"written": job["out"]}
    elif job["action"] == "read":
        df = read_frame(job["data"])
        df.to_pickle(job["out"])
        result = {"written": job["out"], "columns": [str(c) for c in df.columns]}
    elif job["action"] == "predict":
        score.init()
        result = score.run(json.dumps(job["records"]))
    elif job["action"] == "check":
        import pandas as pd  # pylint: disable=import-outside-toplevel

        result = {"problems": check_frame(job["profile"], pd.read_pickle(job["data"]))}
    else:
        score.init()
        result = evaluate_frame(score, read_frame(job["data"]), job["label"], job["metrics"])
    return result


def main(argv: list[str] | None = None) -> None:
    """Entry point for the subprocess: one JSON argument, a job (action, package, ...) or a
    list of jobs done in order in this one interpreter (its library imports paid once);
    prints one JSON document: the answer, or the list of answers."""
    request = json.loads((argv or sys.argv[1:])[0])
    if isinstance(request, list):
        print(json.dumps([_answer(job) for job in request]))
    else:
        print(json.dumps(_answer(request)))


if __name__ == "__main__":
    main()
