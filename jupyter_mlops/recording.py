"""Productionize's recording run: execute the notebook (minus mlops:skip cells) in a real kernel
and record a small sample of inputs, features, predictions and metrics for the generated tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import nbformat

from .errors import RecordingError
from .extract.codegen import template
from .extract.plan import Plan
from .notebook import Notebook

SAMPLE_SIZE = 20
MAX_FIXTURE_BYTES = 500_000


@dataclass(frozen=True)
class Recording:
    """What the kernel reported after running the notebook."""

    records: Optional[list] = None
    features: Optional[dict] = None
    predictions: Optional[list] = None
    metrics: dict = field(default_factory=dict)
    dtypes: dict = field(default_factory=dict)
    label_values: dict = field(default_factory=dict)  # label column -> a value it holds
    versions: dict = field(default_factory=dict)
    python: Optional[str] = None
    notes: tuple[str, ...] = ()

    def fixture(self) -> dict:
        """The JSON the generated tests read (``tests/fixtures/recording.json``)."""
        data = {"records": self.records, "metrics": self.metrics, "notes": list(self.notes)}
        if self.features is not None:
            data["features"] = self.features
        else:
            data["features_skipped"] = "; ".join(self.notes) or "features were not recorded"
        if self.predictions is not None:
            data["predictions"] = self.predictions
        else:
            data["predictions_skipped"] = "; ".join(self.notes) or "predictions not recorded"
        return data


def _shrunk(data: dict) -> dict:
    """Drop sample rows until the fixture is small enough to commit."""
    while len(json.dumps(data)) > MAX_FIXTURE_BYTES and data.get("records") and len(
        data["records"]
    ) > 1:
        keep = len(data["records"]) // 2
        data["records"] = data["records"][:keep]
        if data.get("features"):
            data["features"]["data"] = data["features"]["data"][:keep]
        if data.get("predictions") is not None:
            data["predictions"] = data["predictions"][:keep]
    return data


def fixture_text(recording: Recording) -> str:
    """Stable JSON text of the fixture."""
    return json.dumps(_shrunk(recording.fixture()), indent=1, sort_keys=True) + "\n"


def _probe_cells(plan: Plan, import_names: list[str], out_path: str) -> tuple[str, str]:
    raw = ""
    if plan.raw_input:
        raw = template("probe_raw.py.tmpl").substitute(raw_input=plan.raw_input)
    scoring = plan.functions.get("scoring")
    end = template("probe_end.py.tmpl").substitute(
        import_names=repr(sorted(import_names)),
        features_expr=repr(plan.features_expr),
        features_name=repr(plan.features),
        raw_input=repr(plan.raw_input),
        scoring_source=repr("\n".join(p.source for p in scoring.pieces) if scoring else ""),
        scoring_result=repr(scoring.returns[0] if scoring and scoring.returns else None),
        model=repr(plan.model),
        metrics_expr=repr(plan.recorded_metrics_expr or plan.metrics_expr or "{}"),
        size=SAMPLE_SIZE,
        label_columns=repr(list(plan.label_columns)),
        out_path=repr(out_path),
    )
    return raw, end


def record(
    nb_path: str,
    nb: Notebook,
    plan: Plan,
    import_names: list[str],
    progress: Optional[Callable[[str], None]] = None,
    timeout: int = 1800,
) -> Recording:
    """Run the notebook in a kernel with the probes and return what they recorded."""
    from nbclient import NotebookClient  # pylint: disable=import-outside-toplevel
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    node = nbformat.read(nb_path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="mlops-record-") as tmp:
        out_path = os.path.join(tmp, "recording.json")
        raw_probe, end_probe = _probe_cells(plan, import_names, out_path)
        first_consumer = next(
            (c.index for c in nb.code_cells if c.role in ("featurization", "training")), None
        )
        cells, origin = [], []
        for cell, original in zip(node.cells, nb.cells):
            if cell.cell_type != "code" or original.role == "skip":
                continue
            if raw_probe and original.index == first_consumer:
                cells.append(nbformat.v4.new_code_cell(raw_probe))
                origin.append(None)
            cells.append(cell)
            origin.append(original)
        cells.append(nbformat.v4.new_code_cell(end_probe))
        origin.append(None)
        node.cells = cells
        failed: dict = {}

        def on_error(cell, cell_index, execute_reply):  # nbclient hook
            del cell, execute_reply
            failed.setdefault("index", cell_index)

        def on_done(cell, cell_index, execute_reply):
            del cell, execute_reply
            if progress and origin[cell_index] is not None:
                progress(f"recording: ran cell {origin[cell_index].number}/{len(nb.cells)}")

        client = NotebookClient(
            node,
            timeout=timeout,
            kernel_name=nb.kernel_name or "python3",
            resources={"metadata": {"path": str(Path(nb_path).resolve().parent)}},
            on_cell_error=on_error,
            on_cell_executed=on_done,
        )
        try:
            # The kernel process's own stderr is noise here (transport warnings); cell output
            # and errors arrive through the messaging protocol either way.
            client.execute(stderr=subprocess.DEVNULL)
        except CellExecutionError as exc:
            index = failed.get("index")
            source = origin[index] if index is not None and index < len(origin) else None
            if source is None:
                raise RecordingError(f"the recording probe failed: {_first_line(exc)}",
                                     path=nb.path) from None
            raise RecordingError(
                f"raised {_first_line(exc)} while productionize ran the notebook to record a "
                "sample (use --no-execute to skip the recording)",
                path=nb.path, cell=source.ref,
            ) from None
        except DeadKernelError:
            raise RecordingError("the kernel died while running the notebook", path=nb.path) \
                from None
        except TimeoutError:
            raise RecordingError(f"a cell ran longer than {timeout}s", path=nb.path) from None
        data = json.loads(Path(out_path).read_text(encoding="utf-8"))
    return Recording(
        records=data.get("records"),
        features=data.get("features"),
        predictions=data.get("predictions"),
        metrics=data.get("metrics", {}),
        dtypes=data.get("dtypes", {}),
        label_values=data.get("label_values", {}),
        versions=data.get("versions", {}),
        python=data.get("python"),
        notes=tuple(data.get("notes", [])),
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    errors = [line for line in text if "Error" in line and not line.startswith(" ")]
    return (errors[-1] if errors else (text[-1] if text else type(exc).__name__)).strip()
