"""The typed contract of the scoring server: ``schema.json`` (JSON Schema of a record and of a
prediction) and ``openapi.json`` (OpenAPI 3.1 of ``/score`` and ``/health``), both from the
recorded training input. Only types and required columns are enforced by ``score.py``; the
ranges and categories seen in training are documented (``x-training-*``), not checked.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

from ..extract.plan import Plan
from .functions import notebook_name
from .scoring import raw_kind, record_columns

if TYPE_CHECKING:
    from ..recording import Recording

OPENAPI_VERSION = "3.1.0"
_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
               (dict, "object"), (list, "array"))


def _column_type(dtype: str) -> str:
    if dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float")):
        return "number"
    if dtype in ("bool", "boolean"):
        return "boolean"
    if dtype in ("str", "string", "object", "category"):
        return "string"
    return ""


def _column_schema(dtype: str, seen: dict) -> dict:
    kind = _column_type(dtype)
    schema: dict = {"type": [kind, "null"]} if kind else {}
    notes = [f"pandas dtype {dtype} in training"]
    if "min" in seen and "max" in seen:
        schema["x-training-min"], schema["x-training-max"] = seen["min"], seen["max"]
        notes.append(f"range seen in training [{seen['min']}, {seen['max']}]")
    if seen.get("categories"):
        schema["x-training-categories"] = seen["categories"]
        notes.append("categories seen in training: " + ", ".join(seen["categories"]))
    schema["description"] = "; ".join(notes)
    return schema


def _record_schema(plan: Plan, recording: Optional["Recording"]) -> dict:
    kind = raw_kind(plan, recording)
    if kind["kind"] == "rows":
        return {"type": "array", "items": {"type": ["number", "null"]},
                "minItems": kind["width"], "maxItems": kind["width"],
                "description": f"a row of {kind['width']} numbers, like the notebook's rows"}
    if kind["kind"] == "values":
        text = kind.get("value") == "text"
        return {"type": "string" if text else "number",
                "description": "one " + ("text" if text else "number") + " per record"}
    dtypes = recording.dtypes if recording else {}
    seen = recording.columns if recording else {}
    properties = {name: _column_schema(dtype, seen.get(name, {}))
                  for name, dtype in dtypes.items() if name not in plan.label_columns}
    return {"type": "object", "properties": properties,
            "required": list(record_columns(plan, dtypes)), "additionalProperties": True,
            "description": "one raw record as the notebook read it; columns scoring does not "
                           "read are accepted and ignored"}


def _prediction_schema(recording: Optional["Recording"]) -> dict:
    values = [v for v in (recording.predictions if recording else None) or [] if v is not None]
    kinds = sorted({next((name for kind, name in _JSON_TYPES if isinstance(v, kind)), "")
                    for v in values} - {""})
    if kinds == ["integer", "number"]:
        kinds = ["number"]
    if len(kinds) != 1:
        return {"description": "the model's prediction for one record"}
    return {"type": [kinds[0], "null"],
            "description": "the model's prediction for one record (null: featurization "
                           "dropped the record)"}


def contract_schema(plan: Plan, package: str, recording: Optional["Recording"]) -> dict:
    """``schema.json``: JSON Schema of one record and one prediction."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"{package} scoring contract",
            "record": _record_schema(plan, recording),
            "prediction": _prediction_schema(recording)}


def _example(plan: Plan, recording: Optional["Recording"]) -> list:
    records = list((recording.records if recording else None) or [])[:2]
    return [{k: v for k, v in r.items() if k not in plan.label_columns}
            if isinstance(r, dict) else r for r in records]


def _components(schema: dict) -> dict:
    detail = {"type": "object", "properties": {
        "record": {"type": "integer", "description": "1-based number of the record"},
        "column": {"type": ["string", "integer"], "description": "the column (or position)"},
        "expected": {"type": "string"}, "got": {"type": "string"}}}
    return {
        "Record": schema["record"],
        "Prediction": schema["prediction"],
        "ScoreResponse": {"type": "object", "required": ["predictions", "model_version"],
                          "properties": {
                              "predictions": {"type": "array",
                                              "items": {"$ref": "#/components/schemas/Prediction"}},
                              "model_version": {"type": "string",
                                                "description": "the version that answered"},
                              "warnings": {"type": "array", "items": {"type": "string"}}}},
        "ErrorDetail": detail,
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string", "description": "what is wrong, in a sentence"},
            "detail": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorDetail"}}}},
        "Health": {"type": "object", "required": ["status", "model"], "properties": {
            "status": {"type": "string"}, "model": {"type": "string"},
            "model_version": {"type": "string"},
            "runtime": {"type": "string", "enum": ["sklearn", "onnx"],
                        "description": "the model file score.py loaded: model.pkl or "
                                       "model.onnx (onnxruntime)"}}},
    }


def _json_response(description: str, name: str) -> dict:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{name}"}}}}


def openapi_document(plan: Plan, package: str, recording: Optional["Recording"]) -> dict:
    """``openapi.json``: the server's routes with the contract's schemas."""
    body = {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Record"}}
    score = {
        "operationId": "score", "summary": "Predict for a list of records",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": body, "example": _example(plan, recording)}}},
        "responses": {"200": _json_response("one prediction per record", "ScoreResponse"),
                      "400": _json_response("records this model cannot score", "Error"),
                      "413": _json_response("a body over the size limit", "Error")}}
    health = {"operationId": "health", "summary": "Whether the model is loaded",
              "responses": {"200": _json_response("the model is loaded", "Health")}}
    return {"openapi": OPENAPI_VERSION,
            "info": {"title": f"{package} scoring API", "version": "0.1.0",
                     "description": f"Generated from {notebook_name(plan)} by jupyter-mlops."},
            "paths": {"/score": {"post": score}, "/health": {"get": health}},
            "components": {"schemas": _components(contract_schema(plan, package, recording))}}


def contract_files(plan: Plan, package: str, recording: Optional["Recording"]) -> dict[str, str]:
    """The contract's files, as stable JSON text."""
    return {f"{package}/{name}": json.dumps(document, indent=1, sort_keys=True) + "\n"
            for name, document in (("schema.json", contract_schema(plan, package, recording)),
                                   ("openapi.json", openapi_document(plan, package, recording)))}
