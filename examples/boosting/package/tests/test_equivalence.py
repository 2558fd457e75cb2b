"""On a sample recorded from a real run of boosting.ipynb, the modules behave like the notebook.

Only what the recording captured is compared here; productionize names the rest "not proven"
(and ``--require-proof`` fails on it).
"""

import json
import math

import pytest

# Metrics may differ by this much (relative) from the notebook's; edit if training is random.
METRIC_TOLERANCE = 1e-6


def _same(actual, expected) -> bool:
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        if math.isnan(expected):
            return math.isnan(actual)
        return actual == expected or math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)
    return actual == expected


def _rows(values, sparse: bool) -> list:
    if sparse:
        values = values.tocsr()
        return [sorted([int(j), v] for j, v in zip(values[i].indices.tolist(),
                                                    values[i].data.tolist()))
                for i in range(values.shape[0])]
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    rows = values.tolist() if hasattr(values, "tolist") else list(values)
    return [row if isinstance(row, list) else [row] for row in rows]


def _flat(row) -> list:
    return [v for item in row for v in (item if isinstance(item, list) else [item])]


def test_features_match_notebook(scorer, recording):
    expected = recording["features"]
    records = scorer.parse_records(json.dumps(recording["records"]))
    actual = scorer.features_from_records(records)
    index = getattr(actual, "index", None)
    if index is not None and index.is_unique and set(index.tolist()) <= set(range(len(records))):
        actual = actual.sort_index()  # featurization sorted the rows: compare in record order
    if expected["columns"] is not None:
        assert [str(c) for c in actual.columns] == expected["columns"]
    rows = _rows(actual, expected.get("sparse", False))
    assert len(rows) == len(expected["data"])
    for number, (got, want) in enumerate(zip(rows, expected["data"]), start=1):
        got, want = _flat(got), _flat(want)
        mismatched = [i for i, (a, b) in enumerate(zip(got, want)) if not _same(a, b)]
        assert not mismatched and len(got) == len(want), f"sample row {number}: {got} != {want}"


def test_metrics_match_notebook(trained, recording):
    expected = recording["metrics"]
    for name, value in expected.items():
        assert trained[1][name] == pytest.approx(value, rel=METRIC_TOLERANCE, abs=1e-9), name


def test_predictions_match_notebook(scorer, recording):
    expected = recording["predictions"]
    result = scorer.run(json.dumps(recording["records"]))
    assert "error" not in result, result
    assert len(result["predictions"]) == len(expected)
    for number, (got, want) in enumerate(zip(result["predictions"], expected), start=1):
        assert _same(got, want) or got == pytest.approx(want, rel=1e-9), f"record {number}"
