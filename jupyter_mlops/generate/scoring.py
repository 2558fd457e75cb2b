"""``score.py``: ``init()`` and ``run(raw_data)`` around the scoring path and the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..extract.plan import Plan
from ..extract.required import required_columns
from .builder import Builder, Module, template
from .functions import code_reads, notebook_name
from .imports import render_imports
from .modules import MODEL_INPUT, scoring_function

if TYPE_CHECKING:
    from ..recording import Recording

#: score.py reads what the recording saw of the raw records from this file beside it.
TRAINING_INPUT = "training_input.json"
SCORE_IMPORTS = ("import json", "import math", "import os", "import pickle",
                 "from pathlib import Path")


def raw_kind(plan: Plan, recording: Optional["Recording"]) -> dict:
    """What new records are: a table (frame), rows of numbers, or single values (texts), as
    recorded; without a recording, guessed from the plan (a frame when it uses pandas)."""
    if recording is not None and recording.raw:
        return recording.raw
    return {"kind": "frame"} if plan.uses_pandas else {"kind": "values", "value": "number",
                                                       "container": "list", "name": ""}


def code_shape(kind: dict) -> tuple[str, str]:
    """What of the raw records' kind shapes score.py's code: the kind, and the container of
    single values. The rest (columns, dtypes, width, value kind) is data in
    ``training_input.json``, so score.py's text does not depend on what the recording saw."""
    return kind["kind"], kind.get("container", "list") if kind["kind"] == "values" else ""


def _values_conversion(kind: dict) -> tuple[str, str]:
    container = kind.get("container", "list")
    if container == "Series":
        return "pandas Series", "pd.Series(records, name=SERIES_NAME)"
    if container == "ndarray":
        return "array", "np.asarray(records)"
    return "list", "list(records)"


def _records_code(kind: dict) -> tuple[str, list[str]]:
    """The record checks and conversion for this kind of raw records, and their imports."""
    if kind["kind"] == "rows":
        return template("score_records_rows.py.tmpl").substitute(), ["import numpy as np"]
    if kind["kind"] == "values":
        container, convert = _values_conversion(kind)
        imports = {"pandas Series": ["import pandas as pd"],
                   "array": ["import numpy as np"]}.get(container, [])
        return template("score_records_values.py.tmpl").substitute(
            container=container, convert=convert), imports
    return template("score_records_frame.py.tmpl").substitute(
        to_frame_body=_to_frame_body()), ["import pandas as pd"]


def record_columns(plan: Plan, dtypes: dict) -> tuple[str, ...]:
    """The columns each record must carry: those the scoring path (or cell) reads."""
    path = plan.path
    assert path is not None
    reads_records = plan.scoring is not None and path.raw in plan.scoring.params
    texts = tuple(p.source for p in plan.scoring.pieces) if reads_records else ()
    return required_columns(path, plan.program, plan.label_columns, list(dtypes), texts)


def training_input(plan: Plan, recording: Optional["Recording"]) -> dict:
    """``training_input.json``: what score.py checks new records against, as the recording
    saw the notebook's raw records (columns and dtypes, the width of a row, or the kind of a
    single value)."""
    kind = raw_kind(plan, recording)
    if kind["kind"] == "rows":
        return {"width": kind["width"]}
    if kind["kind"] == "values":
        return {"value_kind": "text" if kind.get("value") == "text" else "number",
                "series_name": kind.get("name") or None}
    dtypes = recording.dtypes if recording else {}
    return {"columns": dtypes, "required": list(record_columns(plan, dtypes))}


def _record_constants(kind: dict) -> str:
    lines = ["# What the notebook trained on, as its recording run saw it (recorded data, kept "
             "out of the code).",
             f'TRAINING_INPUT = json.loads(Path(__file__).with_name("{TRAINING_INPUT}")'
             '.read_text(encoding="utf-8"))']
    if kind["kind"] == "rows":
        return "\n".join(lines + [
            "# New records are rows of this many numbers, as the notebook's raw rows were.",
            'WIDTH = TRAINING_INPUT["width"]'])
    if kind["kind"] == "values":
        lines += ["# New records are single values of this kind, as the notebook's were.",
                  'VALUE_KIND = TRAINING_INPUT["value_kind"]']
        if kind.get("container") == "Series":
            lines.append('SERIES_NAME = TRAINING_INPUT["series_name"]')
        return "\n".join(lines)
    return "\n".join(lines + [
        "# Columns (and pandas dtypes) of the raw records the notebook trained on; empty if not "
        "recorded.",
        'INPUT_COLUMNS = TRAINING_INPUT["columns"]',
        "# The columns the scoring path reads: each record must carry these; others are ignored.",
        'REQUIRED_COLUMNS = tuple(TRAINING_INPUT["required"])',
    ])


def _to_frame_body() -> str:
    return "\n".join([
        '    """Records as the DataFrame the scoring path expects, with the training dtypes."""',
        "    frame = pd.DataFrame.from_records(records)",
        "    known = [c for c in INPUT_COLUMNS if c in frame]",
        "    frame = frame[known + [c for c in frame.columns if c not in INPUT_COLUMNS]]",
        "    for column, dtype in INPUT_COLUMNS.items():",
        '        if column in frame and dtype.startswith("datetime64"):',
        "            # JSON carries dates as strings; the notebook had what read_csv's",
        "            # parse_dates (or pd.to_datetime) gave it",
        "            frame[column] = pd.to_datetime(frame[column])",
        '        elif column in frame and _kind(dtype) in ("number", "bool"):',
        "            try:",
        "                frame[column] = frame[column].astype(dtype)",
        "            except (TypeError, ValueError):",
        "                continue  # nulls in an integer column stay float, as pandas reads them",
        "    return frame",
    ])


def _with_trained(names: tuple[str, ...]) -> list[str]:
    return [f"**trained_with({', '.join(repr(n) for n in names)})"] if names else []


def _model_input_call(plan: Plan, frame: str) -> str:
    path = plan.path
    assert path is not None
    args = [frame] + (['_STATE["state"]'] if plan.uses_state else [])
    return f"{MODEL_INPUT}({', '.join(args + _with_trained(path.kwparams))})"


def _features_body(plan: Plan, frame: str = "to_frame(records)") -> str:
    if not plan.one_hot:
        return f"    return {_model_input_call(plan, frame)}"
    return "\n".join([
        f"    features = {_model_input_call(plan, frame)}",
        "    # one-hot columns as in training: a category absent from these records is a",
        "    # column of 0s, one that training never saw is left out",
        '    names = getattr(_STATE["model"], "feature_names_in_", None)',
        '    if names is not None and hasattr(features, "reindex"):',
        "        features = features.reindex(columns=list(names), fill_value=0)",
        "    return features",
    ])


def _scoring_arguments(plan: Plan) -> list[str]:
    """What score.py passes the scoring cell's function for each name it reads."""
    assert plan.scoring is not None and plan.path is not None
    args = []
    for name in plan.scoring.params:
        if name == plan.model:
            args.append('_STATE["model"]')
        elif name == plan.path.output:
            args.append("features")
        elif name == plan.path.raw:
            args.append("frame")
        else:
            args.append(f'_STATE["state"].{name}')
    return args + _with_trained(plan.scoring.kwparams)


def _predict_body(plan: Plan) -> str:
    scoring = plan.scoring
    path = plan.path
    assert path is not None
    if scoring is not None and path.raw in scoring.params:
        lines = ["        frame = to_frame(records)",
                 "        features = features_from_records(records, frame)"]
    else:
        lines = ["        features = features_from_records(records)"]
    if scoring is None:
        given = f"{plan.predict_wrapper}(features)" if plan.predict_wrapper else "features"
        lines.append(f'        predictions = _STATE["model"].predict({given})')
    else:
        call = f"{scoring.name}({', '.join(_scoring_arguments(plan))})"
        lines.append(f"        predictions = {call}")
    lines.append("        predictions = in_record_order(predictions, features, len(records))")
    return "\n".join(lines)


def _head(plan: Plan, package: str, kind: dict, extra_imports: list[str]) -> str:
    imports = list(SCORE_IMPORTS) + extra_imports
    imports.append(f"from {package}.featurize import {MODEL_INPUT}")
    imports.append(f"from {package}.onnx_model import OnnxModel")
    if plan.uses_state:
        imports.append(f"from {package}.state import TrainedState")
    texts = [p.source for p in plan.scoring.pieces] if plan.scoring else []
    texts += [plan.predict_wrapper] if plan.predict_wrapper else []
    return template("score_head.py.tmpl").substitute(
        package=package,
        notebook=notebook_name(plan),
        imports=render_imports(plan.program, code_reads(plan, texts), "score", imports,
                               package=package),
        record_constants=_record_constants(kind),
        label_columns=repr(tuple(plan.label_columns)),
    )


def score_module(plan: Plan, package: str, kind: dict) -> Module:
    """``score.py`` for raw records of this ``kind`` (see :func:`raw_kind`): the contract's
    head, the scoring cell's function if any, then the rest."""
    records_code, imports = _records_code(kind)
    builder = Builder(f"{package}/score.py")
    builder.add(_head(plan, package, kind, imports).rstrip("\n"))
    builder.add()
    builder.add()
    if plan.scoring is not None:
        scoring_function(builder, plan)
    builder.add(template("score.py.tmpl").substitute(
        package=package,
        load_state='    _STATE["state"] = TrainedState.load(found[0].parent)  # what training '
        "kept for scoring\n" if plan.uses_state else "",
    ).rstrip("\n"))
    builder.add(records_code.rstrip("\n"))
    builder.add(template("score_tail.py.tmpl").substitute(
        features_body=_features_body(plan, "frame"),
        predict_body=_predict_body(plan),
    ).rstrip("\n"))
    return builder.module()
