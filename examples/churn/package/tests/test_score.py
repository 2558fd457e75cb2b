"""The score file keeps the Azure ML contract: init()/run(raw_data), errors never raise."""

import json

import pytest

from churn import score


@pytest.mark.parametrize(
    "raw",
    ["{not json", "", "42", "[]", '"text"', "[1, 2]", b"\xff\xfe"],
    ids=["broken", "empty", "number", "no-records", "string", "not-objects", "not-utf8"],
)
def test_malformed_input_returns_an_error_not_a_traceback(raw):
    result = score.run(raw)
    assert set(result) == {"error"}
    assert isinstance(result["error"], str) and result["error"]


def _records(recording) -> list:
    if not recording.get("records"):
        pytest.skip("no sample records: " + "; ".join(recording.get("notes", [])))
    return recording["records"]


def test_missing_column_is_named(recording):
    if not score.INPUT_COLUMNS:
        pytest.skip("no input columns recorded")
    column = next(c for c in score.INPUT_COLUMNS if c not in score.LABEL_COLUMNS)
    record = dict(_records(recording)[0])
    del record[column]
    result = score.run(json.dumps([record]))
    assert column in result["error"]


def test_wrong_type_is_named(recording):
    numbers = [c for c, d in score.INPUT_COLUMNS.items()
               if score._kind(d) == "number" and c not in score.LABEL_COLUMNS]  # pylint: disable=protected-access
    if not numbers:
        pytest.skip("no numeric input column")
    record = dict(_records(recording)[0], **{numbers[0]: "not a number"})
    result = score.run(json.dumps([record]))
    assert numbers[0] in result["error"]


def test_run_returns_json_serialisable_predictions(scorer, recording):
    records = _records(recording)
    result = scorer.run(json.dumps(records))
    assert "error" not in result, result
    assert len(result["predictions"]) == len(records)
    json.dumps(result)


def test_one_record_scores_as_in_the_batch(scorer, recording):
    """A deployment is called with a few records at a time: each record scored alone gets
    what it gets in the recorded batch (not so when featurization depends on the batch)."""
    records = _records(recording)
    batch = scorer.run(json.dumps(records))["predictions"]
    for index in range(min(3, len(records))):
        alone = scorer.run(json.dumps([records[index]]))
        assert "error" not in alone, f"record {index + 1} alone: {alone['error']}"
        expected = batch[index]
        if isinstance(expected, float):
            expected = pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert alone["predictions"] == [expected], f"record {index + 1} alone"


def test_records_without_the_label_score_as_with_it(scorer, recording):
    """New records do not carry the label: without its columns they score exactly as the
    recorded records do with them. A column wrongly taken for the label fails here."""
    if not score.LABEL_COLUMNS:
        pytest.skip("no label column")
    records = _records(recording)
    unlabelled = [{k: v for k, v in r.items() if k not in score.LABEL_COLUMNS} for r in records]
    result = scorer.run(json.dumps(unlabelled))
    assert "error" not in result, result
    labelled = scorer.run(json.dumps(records))["predictions"]
    for number, (got, want) in enumerate(zip(result["predictions"], labelled), start=1):
        if isinstance(want, float):
            want = pytest.approx(want, rel=1e-9, abs=1e-12)  # parallel ensembles vary in ulps
        assert got == want, f"record {number}"
