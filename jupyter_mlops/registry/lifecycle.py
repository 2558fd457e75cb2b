"""Register a run's model, validate a candidate against production, promote behind the gate.

Registering productionizes the notebook exactly as the run executed it (same sha256), trains
the generated package with the run's parameters and checks its metrics against the run's, so
the registered model is the one the reviewed package produces. The training data's profile is
recorded beside it for ``validate``'s input checks.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from ..errors import CheckFailed, ConfigError, ExecutionError, NotebookNotFound
from ..processes import bound_to_parent, owned_dir, sweep_abandoned
from ..store import Run, RunStore
from ..tolerances import project_table
from . import inpackage
from .store import ModelVersion, Registry, check_name

Progress = Callable[[str], None]
PACKAGE_DIR = "package"
MODEL_DIR = "model"
#: A retrained metric may differ from the run's by this much (absolute) before we refuse.
RETRAIN_TOLERANCE = 1e-6
STAGING = ".staging-"


def _quiet(_: str) -> None:
    pass


def package_python(package_dir: Path, argv: list[str], *, cwd: Path,
                   model_dir: Optional[Path] = None, python: Optional[str] = None,
                   timeout: float = 1800) -> str:
    """Run ``python argv`` with the generated package importable; its stdout, or
    ExecutionError with the end of its stderr."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(package_dir), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    if model_dir is not None:
        env["MODEL_DIR"] = str(model_dir)
    done = subprocess.run(bound_to_parent([python or sys.executable, *argv]), cwd=cwd,
                          env=env, text=True, capture_output=True, timeout=timeout,
                          check=False)
    if done.returncode != 0:
        raise ExecutionError(f"`python {' '.join(argv[:3])}` failed in {package_dir}:\n"
                             + done.stderr.strip()[-1500:])
    return done.stdout


def in_package(package_dir: Path, job: dict, cwd: Path,
               model_dir: Optional[Path] = None) -> dict:
    """Run one ``inpackage`` job in the package's interpreter; its JSON answer."""
    return _last_json(package_python(
        package_dir, ["-m", "jupyter_mlops.registry.inpackage", json.dumps(job)], cwd=cwd,
        model_dir=model_dir))


def _last_json(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return {}


def _notebook_of(run: Run) -> Path:
    return Path(run.record.get("notebook_path") or run.notebook).resolve()


def resolve_run(store: RunStore, ref: str, name: Optional[str] = None) -> Run:
    """A run by id, or ``latest``: the newest succeeded run of the notebook ``name``'s
    versions come from when it has versions, else the newest succeeded run of any notebook."""
    if ref != "latest":
        return store.get(ref)
    found = [r for r in store.list(limit=500) if r.status == "succeeded"]
    versions = Registry(store).versions(name) if name else []
    if versions:
        notebook = Path(versions[-1].record["notebook"]).resolve()
        found = [r for r in found if _notebook_of(r) == notebook]
        if not found:
            raise ConfigError(f"no succeeded run of {notebook.name}, the notebook {name}'s "
                              f"versions come from: `jupyter mlops run {notebook}` first, or "
                              "name the run id", path=str(notebook))
    if not found:
        raise ConfigError("no succeeded run to register yet: `jupyter mlops run NB` first")
    return found[0]


def _train_arguments(train_py: Path, parameters: dict) -> list[str]:
    accepted = set(re.findall(r'dest="(\w+)"', train_py.read_text(encoding="utf-8")))
    argv = []
    for name, value in parameters.items():
        if name in accepted:
            text = (("true" if value else "false") if isinstance(value, bool)
                    else value if isinstance(value, str)
                    else json.dumps(value) if isinstance(value, (list, dict)) else str(value))
            argv += ["--" + name.replace("_", "-"), text]
    return argv


def register(store: RunStore, run_ref: str, name: str,
             progress: Progress = _quiet) -> ModelVersion:
    """Register the model of a succeeded run as the next version of ``name``."""
    from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel
    from ..productionize import productionize  # pylint: disable=import-outside-toplevel

    check_name(name)
    run = resolve_run(store, run_ref, name)
    if run.status != "succeeded":
        raise ConfigError(f"run {run.id} {run.status}: only a succeeded run can be registered")
    nb_path = Path(run.record.get("notebook_path") or run.notebook)
    if not nb_path.is_file():
        raise NotebookNotFound(f"the notebook of run {run.id} is gone", path=str(nb_path))
    nb = read_notebook(nb_path)
    if nb.sha256 != run.notebook_sha256:
        raise ConfigError(f"{nb_path.name} changed since run {run.id}: run it again "
                          "(`jupyter mlops run`) and register that run", path=str(nb_path))
    registry = Registry(store)
    sweep_abandoned(registry.root, STAGING)  # left by registrations that were killed
    staged = owned_dir(registry.root, STAGING)
    try:
        progress("productionizing the notebook the run executed")
        result = productionize(nb_path, staged / PACKAGE_DIR, progress=progress)
        if not result.ok:
            raise CheckFailed("the generated package fails its checks; see "
                              f"`jupyter mlops productionize {nb_path}`:\n{result.summary()}")
        package_dir = staged / PACKAGE_DIR
        train_py = package_dir / result.package / "train.py"
        if not train_py.exists():
            raise ConfigError("the notebook has no training cell, so there is no model to "
                              "register: tag one `mlops:training`", path=str(nb_path))
        progress("training the generated package with the run's parameters")
        out = package_python(package_dir, ["-m", f"{result.package}.train", "--model-dir",
                                           str(staged / MODEL_DIR),
                                           *_train_arguments(train_py, run.parameters)],
                             cwd=nb_path.parent)
        metrics = _last_json(out).get("metrics", {})
        _check_retrained(run, metrics)
        progress("scoring the recorded sample with the registered model")
        expected = _sample_predictions(package_dir, result.package, staged / MODEL_DIR,
                                       nb_path.parent)
        progress("profiling the training data")
        profile = None
        if (package_dir / result.package / "data.py").exists():
            profile = in_package(package_dir, {"action": "profile", "package": result.package,
                                               "parameters": run.parameters,
                                               "predictions": True}, nb_path.parent,
                                 model_dir=staged / MODEL_DIR)
        record = {
            "package": result.package, "notebook": str(nb_path),
            "notebook_sha256": run.notebook_sha256, "parameters": run.parameters,
            "metrics": {**run.metrics, **{k: v for k, v in metrics.items()
                                          if k not in run.metrics}},
            "inputs": run.record.get("inputs", []), "git": run.record.get("git"),
            "environment": {k: (run.record.get("environment") or {}).get(k)
                            for k in ("python", "platform")},
            "requirements": (package_dir / "requirements.txt").read_text(encoding="utf-8"),
            "lint_score": result.lint.score if result.lint else None,
            "tests": result.tests.to_dict() if result.tests else None,
            "profile": profile,
            "expected_predictions": expected,
        }
        (staged / "lineage.json").write_text(json.dumps(record, indent=2, sort_keys=True,
                                                        default=str), encoding="utf-8")
        version = registry.add(name, run.id, staged, record)
        _mirror_to_mlflow(store, run, version)
        return version
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)


def _sample_predictions(package_dir: Path, package: str, model_dir: Path,
                        cwd: Path) -> Optional[list]:
    """What the registered model's own ``score.py`` predicts for the recorded sample records
    (smoke compares the served answers with these), or None without a recorded sample."""
    fixture = package_dir / "tests" / "fixtures" / "recording.json"
    if not fixture.is_file():
        return None
    records = json.loads(fixture.read_text(encoding="utf-8")).get("records")
    if not records:
        return None
    answer = in_package(package_dir, {"action": "predict", "package": package,
                                      "records": records}, cwd, model_dir=model_dir)
    if "predictions" not in answer:
        raise CheckFailed("the registered model cannot score the recorded sample: "
                          + str(answer.get("error", answer))[:500])
    return answer["predictions"]


def _check_retrained(run: Run, metrics: dict) -> None:
    for key, value in run.metrics.items():
        if key in metrics and not math.isclose(metrics[key], value, rel_tol=RETRAIN_TOLERANCE,
                                               abs_tol=RETRAIN_TOLERANCE):
            raise CheckFailed(f"the generated package trains a different model than run "
                              f"{run.id}: {key} {value} in the run, {metrics[key]} retrained")


def _mirror_to_mlflow(store: RunStore, run: Run, version: ModelVersion) -> None:
    """With the MLflow backend, register there too (the run was mirrored by ``run``)."""
    mirrored = run.record.get("mlflow") or {}
    if not mirrored.get("run_id"):
        return
    from ..jobs.mlflow_tracker import register_model  # pylint: disable=import-outside-toplevel

    try:
        number = register_model(mirrored["uri"], mirrored["run_id"], version)
        note = {"uri": mirrored["uri"], "model_version": number}
    except Exception as exc:  # pylint: disable=broad-exception-caught  # local record is kept
        note = {"uri": mirrored["uri"], "error": f"{type(exc).__name__}: {exc}"[:500]}
    Registry(store).record_event(version.name, version.version, "mirrored", details=note)


def _mirror_stage(registry: Registry, version: ModelVersion, stage: str) -> None:
    """A version that was mirrored to MLflow gets the stage there too, as an alias."""
    mirrored = [e["details"] for e in registry.events(version.name)
                if e["action"] == "mirrored" and e["version"] == version.version
                and e["details"].get("model_version")]
    if not mirrored or stage not in ("staging", "production"):
        return
    from ..jobs.mlflow_tracker import set_stage_alias  # pylint: disable=import-outside-toplevel

    note = dict(mirrored[-1])
    try:
        set_stage_alias(note["uri"], version.name, note["model_version"], stage)
        note["alias"] = stage
    except Exception as exc:  # pylint: disable=broad-exception-caught  # local record is kept
        note["error"] = f"{type(exc).__name__}: {exc}"[:500]
    registry.record_event(version.name, version.version, "mirrored", details=note)


# --- validate ---------------------------------------------------------------------------


@dataclass
class Validation:
    """The gate's verdict: metric rows against production and input-profile problems."""

    candidate: ModelVersion
    production: Optional[ModelVersion]
    metrics: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no metric is outside its tolerance and the input checks found nothing."""
        return not self.problems and all(row["ok"] is not False for row in self.metrics)

    def to_dict(self) -> dict:
        """JSON form."""
        return {"model": self.candidate.name, "version": self.candidate.version,
                "production": self.production.version if self.production else None,
                "passed": self.passed, "metrics": self.metrics, "problems": self.problems,
                "notes": self.notes}

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


def _read_evaluation_data(version: ModelVersion, data: Path, out: Path, cwd: Path) -> None:
    """``data`` as a pickled frame at ``out``; ConfigError if it cannot be read or lacks the
    label columns the metrics need."""
    try:
        columns = in_package(version.path / PACKAGE_DIR,
                             {"action": "read", "package": version.record["package"],
                              "data": str(data.resolve()), "out": str(out)},
                             cwd).get("columns", [])
    except ExecutionError as exc:
        last = (str(exc).strip().splitlines() or ["?"])[-1]
        raise ConfigError(f"cannot read the evaluation data: {last}", path=str(data)) from None
    missing = [c for c in _labels(version) if c not in columns]
    if missing:
        raise ConfigError(f"no label column {', '.join(map(repr, missing))}: "
                          f"evaluation data needs the labels {version.ref} was trained on",
                          path=str(data))


def validate(store: RunStore, name: str, version: str, *, data: Optional[Path] = None,
             tolerances: Optional[dict[str, float]] = None,
             progress: Progress = _quiet) -> Validation:
    """Compare a candidate with the production version on the same evaluation data and check
    that data against the candidate's training profile. The verdict goes to the audit log."""
    registry = Registry(store)
    candidate = registry.get(name, version)
    production = next((v for v in registry.versions(name) if v.stage == "production"), None)
    verdict = Validation(candidate, production)
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
            in_package(candidate.path / PACKAGE_DIR,
                       {"action": "load", "package": candidate.record["package"],
                        "parameters": candidate.record.get("parameters", {}),
                        "out": str(frame_path)}, notebook_dir)
            verdict.notes.append("evaluation data: the candidate's training data (pass --data "
                                 "FILE for held-out data)")
        profile = candidate.record.get("profile")
        if profile:
            verdict.problems = in_package(
                candidate.path / PACKAGE_DIR,
                {"action": "check", "package": candidate.record["package"], "profile": profile,
                 "data": str(frame_path)}, notebook_dir)["problems"]
        else:
            verdict.notes.append("no training data profile recorded: input checks skipped")
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


# --- promote, history ---------------------------------------------------------------------


def promote(store: RunStore, name: str, version: str, stage: str, *, force: bool = False,
            reason: Optional[str] = None) -> tuple[ModelVersion, list[int]]:
    """Move a version to a stage; staging and production need a passed validation, or
    ``force`` with a ``reason`` (both recorded)."""
    registry = Registry(store)
    target = registry.get(name, version)
    details: dict = {}
    if stage in ("staging", "production"):
        last = registry.last_validation(name, target.version)
        passed = bool(last and last["details"].get("passed"))
        details["validation"] = last["seq"] if last else None
        if not passed:
            if not force:
                why = "its last validation failed" if last else "it was never validated"
                raise CheckFailed(f"{target.ref} cannot go to {stage}: {why}. Run `jupyter "
                                  f"mlops validate {name} {target.version}`, or pass --force "
                                  "--reason \"...\"")
            if not (reason or "").strip():
                raise ConfigError("--force needs --reason \"...\": the audit log records why")
            details["forced"] = True
    archived = registry.set_stage(name, target.version, stage, reason=reason, details=details)
    _mirror_stage(registry, target, stage)
    return registry.get(name, target.version), archived


def parse_when(text: str) -> float:
    """A date or ISO time (UTC unless it says otherwise) as seconds since the epoch."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--at wants a date like 2026-11-25 or 2026-11-25T14:30, "
                          f"got {text!r}") from None
    if len(text) == 10:  # a bare date means the end of that day
        when = when.replace(hour=23, minute=59, second=59, microsecond=999999)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def history_at(store: RunStore, name: str, text: str) -> dict:
    """Which version held each stage of ``name`` at the time ``text``."""
    when = parse_when(text)
    stages = Registry(store).stages_at(name, when)
    held = {stage: version for version, stage in sorted(stages.items())
            if stage in ("staging", "production")}
    return {"model": name, "at": datetime.fromtimestamp(when, timezone.utc).isoformat(),
            "production": held.get("production"), "staging": held.get("staging"),
            "stages": {str(k): v for k, v in stages.items()}}
