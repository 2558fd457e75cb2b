"""The score file keeps the Azure ML contract: init()/run(raw_data), errors never raise."""

import json

import pytest

from boosting import score


@pytest.mark.parametrize(
    "raw",
    ["{not json", "", "42", "[]", '"text"', "[1, 2]", b"\xff\xfe", "[" * 5000 + "]" * 5000, "[1" + "0" * 5000 + "]"],
    ids=["broken", "empty", "number", "no-records", "string", "not-objects", "not-utf8",
         "deeply-nested", "huge-integer"],
)
def test_malformed_input_returns_an_error_not_a_traceback(raw):
    result = score.run(raw)
    assert "error" in result and set(result) <= {"error", "detail"}
    assert isinstance(result["error"], str) and result["error"]


def _records(recording) -> list:
    return recording["records"]


def test_run_returns_json_serialisable_predictions(scorer, recording):
    records = _records(recording)
    result = scorer.run(json.dumps(records))
    assert "error" not in result, result
    assert len(result["predictions"]) == len(records)
    json.dumps(result)


def _approx(value):
    # parallel ensembles vary in the last ulps
    return pytest.approx(value, rel=1e-9, abs=1e-12) if isinstance(value, float) else value


def test_one_record_scores_as_in_the_batch(scorer, recording):
    """A deployment is called with a few records at a time: each record scored alone gets
    what it gets in the recorded batch (not so when featurization depends on the batch)."""
    records = _records(recording)
    batch = scorer.run(json.dumps(records))["predictions"]
    for index in range(min(3, len(records))):
        alone = scorer.run(json.dumps([records[index]]))
        assert "error" not in alone, f"record {index + 1} alone: {alone['error']}"
        assert alone["predictions"] == [_approx(batch[index])], f"record {index + 1} alone"
