"""``score.py``: ``init()`` and ``run(raw_data)`` around the scoring path and the model."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

from ..extract.plan import Plan
from ..extract.required import required_columns
from .builder import Builder, Module, template
from .functions import code_reads, notebook_name
from .imports import render_imports
from .modules import MODEL_INPUT, scoring_function

if TYPE_CHECKING:
    from ..recording import Recording

SCORE_IMPORTS = ("import json", "import os", "import pickle", "from pathlib import Path")


def _to_frame_body(plan: Plan) -> str:
    if not plan.uses_pandas:
        return '    """Records as the list of dicts the scoring path expects."""\n    return records'
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
        lines.append('        predictions = _STATE["model"].predict(features)')
    else:
        call = f"{scoring.name}({', '.join(_scoring_arguments(plan))})"
        lines.append(f"        predictions = {call}")
    lines.append("        predictions = in_record_order(predictions, features, len(records))")
    return "\n".join(lines)


def _head(plan: Plan, recording: Optional["Recording"]) -> str:
    path = plan.path
    assert path is not None
    dtypes = recording.dtypes if recording else {}
    imports = list(SCORE_IMPORTS)
    if plan.uses_pandas:
        imports.append("import pandas as pd")
    imports.append(f"from .featurize import {MODEL_INPUT}")
    if plan.uses_state:
        imports.append("from .state import TrainedState")
    texts = [p.source for p in plan.scoring.pieces] if plan.scoring else []
    reads_records = plan.scoring is not None and path.raw in plan.scoring.params
    required = required_columns(path, plan.program, plan.label_columns, list(dtypes),
                                tuple(texts) if reads_records else ())
    return template("score_head.py.tmpl").substitute(
        notebook=notebook_name(plan),
        imports=render_imports(plan.program, code_reads(plan, texts), "score", imports),
        input_columns=json.dumps(dtypes, sort_keys=False),
        required_columns=repr(required),
        label_columns=repr(tuple(plan.label_columns)),
    )


def score_module(plan: Plan, package: str, recording: Optional["Recording"]) -> Module:
    """``score.py``: the contract's head, the scoring cell's function if any, then the rest."""
    builder = Builder(f"{package}/score.py")
    builder.add(_head(plan, recording).rstrip("\n"))
    builder.add()
    builder.add()
    if plan.scoring is not None:
        scoring_function(builder, plan)
    builder.add(template("score.py.tmpl").substitute(
        to_frame_body=_to_frame_body(plan),
        features_body=_features_body(plan, "frame"),
        predict_body=_predict_body(plan),
        load_state='    _STATE["state"] = TrainedState.load(found[0].parent)  # what training '
        "kept for scoring\n" if plan.uses_state else "",
    ).rstrip("\n"))
    return builder.module()
