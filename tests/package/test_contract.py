"""Every committed example package publishes a valid OpenAPI 3.1 document whose record schema
is its schema.json and matches what its score.py accepts (a table's columns or a row of
numbers, read from training_input.json beside it); the generated documents are byte-stable
JSON."""

import ast
import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/package"))


def _constants(score: Path) -> dict:
    found = {}
    for node in ast.parse(score.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


@pytest.mark.parametrize("package", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_contract_validates_and_matches_score_py(package):
    name = package.parent.name
    document = json.loads((package / name / "openapi.json").read_text())
    schema = json.loads((package / name / "schema.json").read_text())
    validate(document)
    assert document["components"]["schemas"]["Record"] == schema["record"]
    assert set(document["paths"]) == {"/score", "/health"}
    recorded = json.loads((package / name / "training_input.json").read_text())
    record = schema["record"]
    if "width" in recorded:
        assert record["type"] == "array" and record["minItems"] == recorded["width"]
    else:
        assert record["required"] == recorded["required"]
        labels = set(_constants(package / name / "score.py")["LABEL_COLUMNS"])
        assert set(record["properties"]) == set(recorded["columns"]) - labels
    text = (package / name / "openapi.json").read_text()
    assert text == json.dumps(document, indent=1, sort_keys=True) + "\n"
