"""On a sample recorded from a real run of churn.ipynb, the modules behave like the notebook."""

import importlib.util
import json
import math

import pytest

from churn import score

# Metrics may differ by this much (relative) from the notebook's; edit if training is random.
METRIC_TOLERANCE = 1e-6


def _same(actual, expected) -> bool:
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        if math.isnan(expected):
            return math.isnan(actual)
        return actual == expected or math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-12)
    return actual == expected


def _rows(values) -> list:
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    rows = values.tolist() if hasattr(values, "tolist") else list(values)
    return [row if isinstance(row, list) else [row] for row in rows]


def test_features_match_notebook(recording, request):
    expected = recording.get("features")
    if expected is None:
        pytest.skip(recording.get("features_skipped", "features were not recorded"))
    if importlib.util.find_spec("churn.fitted"):
        request.getfixturevalue("scorer")  # featurization reuses training's statistics
    records = score.parse_records(json.dumps(recording["records"]))
    actual = score.features_from_records(records)
    index = getattr(actual, "index", None)
    if index is not None and index.is_unique and set(index.tolist()) <= set(range(len(records))):
        actual = actual.sort_index()  # featurization sorted the rows: compare in record order
    if expected["columns"] is not None:
        assert [str(c) for c in actual.columns] == expected["columns"]
    rows = _rows(actual)
    assert len(rows) == len(expected["data"])
    for number, (got, want) in enumerate(zip(rows, expected["data"]), start=1):
        mismatched = [i for i, (a, b) in enumerate(zip(got, want)) if not _same(a, b)]
        assert not mismatched and len(got) == len(want), f"sample row {number}: {got} != {want}"


def test_metrics_match_notebook(trained, recording):
    expected = recording.get("metrics") or {}
    if not expected:
        pytest.skip("the notebook computed no numeric metrics")
    for name, value in expected.items():
        assert trained[1][name] == pytest.approx(value, rel=METRIC_TOLERANCE, abs=1e-9), name


def test_predictions_match_notebook(scorer, recording):
    expected = recording.get("predictions")
    if expected is None or not recording.get("records"):
        pytest.skip(recording.get("predictions_skipped", "predictions were not recorded"))
    result = scorer.run(json.dumps(recording["records"]))
    assert "error" not in result, result
    assert len(result["predictions"]) == len(expected)
    for number, (got, want) in enumerate(zip(result["predictions"], expected), start=1):
        assert _same(got, want) or got == pytest.approx(want, rel=1e-9), f"record {number}"
