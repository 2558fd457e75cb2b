"""Validate a candidate version against production: the same evaluation data scored through
both versions' ``score.py``, metrics gated by per-metric tolerances, and the data checked
against the candidate's training profile. The verdict goes to the audit log."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import ConfigError, ExecutionError, NotebookNotFound
from ..store import RunStore
from ..tolerances import project_table
from . import inpackage
from .lifecycle import MODEL_DIR, PACKAGE_DIR, Progress, in_package, in_package_jobs, quiet
from .parity import parity_view, read_parity, summary
from .store import ModelVersion, Registry


@dataclass
class Validation:
    """The gate's verdict: metric rows against production and input-profile problems."""

    candidate: ModelVersion
    production: Optional[ModelVersion]
    metrics: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the candidate's ONNX parity report (``convert``), None when it was never converted
    parity: Optional[dict] = None

    @property
    def passed(self) -> bool:
        """True when no metric is outside its tolerance and the input checks found nothing."""
        return not self.problems and all(row["ok"] is not False for row in self.metrics)

    def to_dict(self) -> dict:
        """JSON form."""
        return {"model": self.candidate.name, "version": self.candidate.version,
                "production": self.production.version if self.production else None,
                "passed": self.passed, "metrics": self.metrics, "problems": self.problems,
                "notes": self.notes, "parity": parity_view(self.parity)}

    def table(self) -> str:
        """The readable table."""
        against = f"production version {self.production.version}" if self.production \
            else "no production version"
        lines = [f"validate {self.candidate.ref} against {against}: "
                 + ("PASSED" if self.passed else "FAILED")]
        if self.metrics:
            lines.append(f"  {'metric':<20}{'production':>12}{'candidate':>12}{'change':>10}"
                         f"{'tolerance':>11}  result")
            for row in self.metrics:
                result = {True: "ok", False: "FAIL", None: "not gated"}[row["ok"]]
                lines.append(f"  {row['metric']:<20}{_num(row['production']):>12}"
                             f"{_num(row['candidate']):>12}{_num(row['change']):>10}"
                             f"{_num(row['tolerance']):>11}  {result}")
        if self.problems:
            lines.append(f"  {'column':<20}{'input check':<18}detail")
            lines += [f"  {p['column']:<20}{p['check']:<18}{p['detail']}" for p in self.problems]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  onnx: {summary(self.parity)}")
        return "\n".join(lines)



def _num(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def tolerances_from(project: Path, given: dict[str, float]) -> dict[str, float]:
    """``[tool.jupyter-mlops.validate]`` of the nearest pyproject.toml, overridden by ``given``."""
    table = project_table(project, "validate")
    return {**{k: float(v) for k, v in table.items()}, **given}


def _gate(name: str, production: float, candidate: float, tolerance: Optional[float]):
    """(ok, change): a negative tolerance bounds a drop, a positive one a rise."""
    change = candidate - production
    if tolerance is None:
        return None, change
    if tolerance < 0 or (tolerance == 0 and inpackage.higher_is_better(name) is not False):
        return change >= tolerance - 1e-12, change
    return change <= tolerance + 1e-12, change


def _evaluate(version: ModelVersion, data: Path, label: str, names: list[str],
              cwd: Path) -> dict:
    return in_package(version.path / PACKAGE_DIR,
                      {"action": "evaluate", "package": version.record["package"],
                       "data": str(data), "label": label, "metrics": names},
                      cwd, model_dir=version.path / MODEL_DIR)


def _labels(version: ModelVersion) -> list[str]:
    profile = version.record.get("profile") or {}
    return [c for c, v in profile.get("columns", {}).items() if v.get("label")]


def read_data_file(package_dir: Path, package: str, data: Path, out: Path,
                   cwd: Path) -> list[str]:
    """``data`` read by the package's interpreter, pickled as a frame at ``out``; its columns,
    or ConfigError if it cannot be read."""
    try:
        return in_package(package_dir, {"action": "read", "package": package,
                                        "data": str(data.resolve()), "out": str(out)},
                          cwd).get("columns", [])
    except ExecutionError as exc:
        last = (str(exc).strip().splitlines() or ["?"])[-1]
        raise ConfigError(f"cannot read the evaluation data: {last}", path=str(data)) from None


def _read_evaluation_data(version: ModelVersion, data: Path, out: Path, cwd: Path) -> None:
    """``data`` as a pickled frame at ``out``; ConfigError if it cannot be read or lacks the
    label columns the metrics need."""
    columns = read_data_file(version.path / PACKAGE_DIR, version.record["package"], data, out,
                             cwd)
    missing = [c for c in _labels(version) if c not in columns]
    if missing:
        raise ConfigError(f"no label column {', '.join(map(repr, missing))}: "
                          f"evaluation data needs the labels {version.ref} was trained on",
                          path=str(data))


def _loaded_and_checked(candidate: ModelVersion, load: bool, frame_path: Path, cwd: Path,
                        notes: list[str]) -> list[dict]:
    """The candidate's training data written to ``frame_path`` first when ``load``, then the
    evaluation data checked against the training profile: the problems found (one
    interpreter of the candidate's package for both)."""
    package, profile = candidate.record["package"], candidate.record.get("profile")
    jobs = [{"action": "load", "package": package, "out": str(frame_path),
             "parameters": candidate.record.get("parameters", {})}] if load else []
    if profile:
        jobs.append({"action": "check", "package": package, "profile": profile,
                     "data": str(frame_path)})
    else:
        notes.append("no training data profile recorded: input checks skipped")
    answers = in_package_jobs(candidate.path / PACKAGE_DIR, jobs, cwd)
    return answers[-1]["problems"] if profile else []


def validate(store: RunStore, name: str, version: str, *, data: Optional[Path] = None,
             tolerances: Optional[dict[str, float]] = None,
             progress: Progress = quiet) -> Validation:
    """Compare a candidate with the production version on the same evaluation data and check
    that data against the candidate's training profile. The verdict goes to the audit log."""
    registry = Registry(store)
    candidate = registry.get(name, version)
    production = next((v for v in registry.versions(name) if v.stage == "production"), None)
    verdict = Validation(candidate, production, parity=read_parity(candidate.path / MODEL_DIR))
    notebook_dir = Path(candidate.record["notebook"]).parent
    tolerances = tolerances_from(notebook_dir, tolerances or {})
    with tempfile.TemporaryDirectory(prefix="mlops-validate-") as scratch:
        frame_path = Path(scratch) / "evaluation.pkl"
        if data is not None:
            if not data.is_file():
                raise NotebookNotFound("no such evaluation data file", path=str(data))
            progress(f"reading evaluation data {data}")
            _read_evaluation_data(candidate, data, frame_path, notebook_dir)
        else:
            progress("loading the candidate's training data as evaluation data")
            verdict.notes.append("evaluation data: the candidate's training data (pass --data "
                                 "FILE for held-out data)")
        verdict.problems = _loaded_and_checked(candidate, data is None, frame_path,
                                               notebook_dir, verdict.notes)
        labels = _labels(candidate)
        names = sorted(candidate.record.get("metrics", {}))
        if production is None:
            verdict.notes.append("no version is in production: nothing to compare metrics with")
        elif len(labels) != 1:
            verdict.notes.append("no single label column known: metrics compared as recorded")
            _rows(verdict, production.record.get("metrics", {}),
                  candidate.record.get("metrics", {}), tolerances)
        else:
            progress(f"scoring the evaluation data with {candidate.ref} and {production.ref}")
            scored = {}
            for item in (production, candidate):
                answer = _evaluate(item, frame_path, labels[0], names, notebook_dir)
                if "error" in answer:
                    verdict.problems.append({"column": "-", "check": f"{item.ref} scoring",
                                             "detail": answer["error"]})
                scored[item.version] = answer.get("metrics", {})
            _rows(verdict, scored[production.version], scored[candidate.version], tolerances)
            unscored = [n for n in names if inpackage.metric_key(n) is None]
            if unscored:
                verdict.notes.append("not recomputable from predictions, compared as recorded: "
                                     + ", ".join(unscored))
                _rows(verdict, {n: production.record["metrics"].get(n) for n in unscored},
                      {n: candidate.record["metrics"].get(n) for n in unscored}, tolerances)
        missing = sorted(set(tolerances) - {row["metric"] for row in verdict.metrics})
        if production is not None and missing:
            verdict.problems.append({"column": "-", "check": "tolerance",
                                     "detail": "no such metric: " + ", ".join(missing)})
    registry.record_event(name, candidate.version, "validated", details=verdict.to_dict())
    return verdict


def _rows(verdict: Validation, production: dict, candidate: dict,
          tolerances: dict[str, float]) -> None:
    for metric in sorted(candidate):
        old, new = production.get(metric), candidate.get(metric)
        tolerance = tolerances.get(metric)
        if old is None or new is None:
            verdict.metrics.append({"metric": metric, "production": old, "candidate": new,
                                    "change": None, "tolerance": tolerance,
                                    "ok": False if tolerance is not None else None})
            continue
        ok, change = _gate(metric, float(old), float(new), tolerance)
        verdict.metrics.append({"metric": metric, "production": old, "candidate": new,
                                "change": change, "tolerance": tolerance, "ok": ok})
