"""Reproduce a run with its recorded inputs; compare runs side by side."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from ..notebook import read_notebook
from ..store import Run, RunStore
from .lineage import sha256_file
from .run import execute_run

DEFAULT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Reproduction:
    """How a re-run compares with the original."""

    original: Run
    rerun: Run
    notebook_changed: bool
    changed_inputs: tuple[dict, ...]
    metric_mismatches: tuple[dict, ...]
    metrics: tuple[dict, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the re-run succeeded, no input changed and every metric matched."""
        return (self.rerun.status == "succeeded" and not self.changed_inputs
                and not self.notebook_changed and not self.metric_mismatches)

    def to_dict(self) -> dict:
        """JSON form."""
        return {"ok": self.ok, "original": self.original.id, "rerun": self.rerun.id,
                "rerun_status": self.rerun.status, "notebook_changed": self.notebook_changed,
                "changed_inputs": list(self.changed_inputs), "metrics": list(self.metrics),
                "metric_mismatches": list(self.metric_mismatches)}


def _input_changes(original: Run) -> list[dict]:
    """Recorded inputs that are no longer as they were: ``change`` is "missing" (the file is
    gone) or "changed" (its sha256 differs)."""
    changes = []
    for item in original.record.get("inputs", []):
        path = Path(item["path"])
        now = sha256_file(path)
        if now != item.get("sha256"):
            missing = now is None and not path.exists()
            changes.append({"path": item["path"], "recorded": item.get("sha256"), "now": now,
                            "change": "missing" if missing else "changed"})
    return changes


def reproduce(store: RunStore, run_id: str, tolerances: Optional[dict[str, float]] = None,
              progress=None, announce=None) -> Reproduction:
    """Re-run ``run_id``'s notebook with its parameters and compare inputs and metrics."""
    original = store.get(run_id)
    path = Path(original.record.get("notebook_path") or original.notebook)
    if not path.is_file():
        raise ConfigError(f"the notebook of run {original.id} is gone: {path}")
    changed = _input_changes(original)
    nb = read_notebook(path)
    rerun = execute_run(store, nb, path.resolve(), original.parameters, progress=progress,
                        announce=announce)
    tolerances = tolerances or {}
    rows, mismatches = [], []
    for name in sorted(set(original.metrics) | set(rerun.metrics)):
        before, after = original.metrics.get(name), rerun.metrics.get(name)
        allowed = tolerances.get(name, DEFAULT_TOLERANCE)
        same = (before is not None and after is not None
                and (math.isclose(before, after, abs_tol=allowed)
                     or (math.isnan(before) and math.isnan(after))))
        row = {"name": name, "original": before, "rerun": after, "tolerance": allowed,
               "match": same}
        rows.append(row)
        if not same:
            mismatches.append(row)
    return Reproduction(original, rerun, nb.sha256 != original.notebook_sha256,
                        tuple(changed), tuple(mismatches), tuple(rows))


def compare(runs: list[Run]) -> dict:
    """Parameters, inputs and metrics of several runs side by side (differences flagged)."""
    def table(values: list[dict]) -> list[dict]:
        names = sorted({k for v in values for k in v})
        return [{"name": n, "values": [v.get(n) for v in values],
                 "differs": len({repr(v.get(n)) for v in values}) > 1} for n in names]

    inputs = [{i["path"]: i.get("sha256") for i in r.record.get("inputs", [])} for r in runs]
    return {"runs": [r.id for r in runs],
            "status": [r.status for r in runs],
            "parameters": table([r.parameters for r in runs]),
            "inputs": table(inputs),
            "metrics": table([r.metrics for r in runs]),
            "notebook_sha256": table([{"notebook": r.notebook_sha256} for r in runs])}
