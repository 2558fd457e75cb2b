"""Register a run's model and promote it behind the gate (the gate itself: ``validation.py``).

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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import CheckFailed, ConfigError, ExecutionError, NotebookNotFound
from ..package.writer import read_manifest
from ..processes import bound_to_parent, owned_dir, sweep_abandoned
from ..store import Run, RunStore
from .parity import check_runtime, require_parity
from .store import ModelVersion, Registry, check_name

Progress = Callable[[str], None]
PACKAGE_DIR = "package"
MODEL_DIR = "model"
#: A retrained metric may differ from the run's by this much (absolute) before we refuse.
RETRAIN_TOLERANCE = 1e-6
STAGING = ".staging-"


def quiet(_: str) -> None:
    """A progress callback that says nothing."""


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


def in_package(package_dir: Path, job: dict, cwd: Path, model_dir: Optional[Path] = None,
               module: str = "jupyter_mlops.registry.inpackage") -> dict:
    """Run one job of ``module`` (default: ``inpackage``) in the package's interpreter; its
    JSON answer."""
    return _last_json(package_python(package_dir, ["-m", module, json.dumps(job)], cwd=cwd,
                                     model_dir=model_dir))


def in_package_jobs(package_dir: Path, jobs: list[dict], cwd: Path,
                    model_dir: Optional[Path] = None) -> list[dict]:
    """``inpackage`` jobs done in order in one interpreter of the package (its libraries
    imported once, not once per job); their answers."""
    if not jobs:
        return []
    answers = _last_json(package_python(package_dir, ["-m", "jupyter_mlops.registry.inpackage",
                                                      json.dumps(jobs)], cwd=cwd,
                                        model_dir=model_dir))
    if not isinstance(answers, list) or len(answers) != len(jobs):
        raise CheckFailed(f"the package's interpreter gave no answer to {len(jobs)} jobs")
    return answers


def _last_json(stdout: str) -> Any:
    """The last line of ``stdout`` that is a JSON document (a job's answer or answers)."""
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
             progress: Progress = quiet) -> ModelVersion:
    """Register the model of a succeeded run as the next version of ``name``."""
    from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

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
        package_dir = staged / PACKAGE_DIR
        result = _productionized(registry, run, nb_path, package_dir, progress)
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
        progress("scoring the recorded sample with the registered model and profiling the "
                 "training data")
        expected, profile = _predicted_and_profiled(package_dir, result.package, run,
                                                    staged / MODEL_DIR, nb_path.parent)
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


def _productionized(registry: Registry, run: Run, nb_path: Path, package_dir: Path,
                    progress: Progress):
    """The checked package of the run's notebook in ``package_dir``.

    A package made from the same notebook (same sha256) on the same data files (same hashes)
    is lent: an earlier registered version's, or the notebook's own productionize output
    (``build/<stem>``) when it is up to date. Productionize then finds it up to date and
    answers from its reports instead of recording, linting and testing the same code again."""
    from ..productionize import productionize  # pylint: disable=import-outside-toplevel

    inputs = run.record.get("inputs")
    earlier = _same_notebook_package(registry, run.notebook_sha256, inputs)
    built = None if earlier is not None else _built_package(nb_path, inputs)
    if earlier is not None or built is not None:
        shutil.copytree(earlier or built, package_dir, ignore=shutil.ignore_patterns(
            "__pycache__", ".pytest_cache", "outputs"))
    if built is not None:
        progress(f"using {built}: productionized from this notebook on the same data")
    else:
        progress("productionizing the notebook the run executed")
    result = productionize(nb_path, package_dir, progress=progress)
    if not result.ok:
        raise CheckFailed("the generated package fails its checks; see "
                          f"`jupyter mlops productionize {nb_path}`:\n{result.summary()}")
    return result


def _same_notebook_package(registry: Registry, sha256: str,
                           inputs: Optional[list]) -> Optional[Path]:
    """The package folder of the newest registered version made from this notebook on
    these data files."""
    for name in registry.names():
        for version in reversed(registry.versions(name)):
            package = version.path / PACKAGE_DIR
            if (version.record.get("notebook_sha256") == sha256 and package.is_dir()
                    and _hashes(version.record.get("inputs")) == _hashes(inputs)):
                return package
    return None


def _built_package(nb_path: Path, inputs: Optional[list]) -> Optional[Path]:
    """``build/<stem>`` (beside the notebook, or in the working folder) when it is an up to
    date package of the notebook recorded on the data files the run read."""
    # pylint: disable-next=import-outside-toplevel
    from ..productionize import default_out, up_to_date

    folder = os.path.realpath(nb_path.parent)
    for out in dict.fromkeys(Path(os.path.realpath(p)) for p in (
            nb_path.parent / default_out(nb_path), default_out(nb_path))):
        manifest = read_manifest(out)
        if manifest is None or not isinstance(manifest.get("inputs"), list):
            continue
        recorded = [{**item, "path": os.path.realpath(os.path.join(folder, item["path"]))}
                    for item in manifest["inputs"] if isinstance(item, dict) and "path" in item]
        if _hashes(recorded) == _hashes(inputs) and up_to_date(nb_path, out):
            return out
    return None


def _hashes(inputs: Optional[list]) -> set:
    return {(item.get("path"), item.get("sha256")) for item in inputs or ()}


def _predicted_and_profiled(package_dir: Path, package: str, run: Run, model_dir: Path,
                            cwd: Path) -> tuple[Optional[list], Optional[dict]]:
    """What the registered model's own ``score.py`` predicts for the recorded sample records
    (smoke compares the served answers with these; None without a recorded sample), and the
    profile of the training data (None without a data module), in one interpreter."""
    fixture = package_dir / "tests" / "fixtures" / "recording.json"
    records = (json.loads(fixture.read_text(encoding="utf-8")).get("records")
               if fixture.is_file() else None)
    jobs = [{"action": "predict", "package": package, "records": records}] if records else []
    profiled = (package_dir / package / "data.py").exists()
    if profiled:
        jobs.append({"action": "profile", "package": package, "parameters": run.parameters,
                     "predictions": True})
    answers = in_package_jobs(package_dir, jobs, cwd, model_dir=model_dir)
    expected = None
    if records:
        answer = answers.pop(0)
        if "predictions" not in answer:
            raise CheckFailed("the registered model cannot score the recorded sample: "
                              + str(answer.get("error", answer))[:500])
        expected = answer["predictions"]
    return expected, answers[0] if profiled else None


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


# --- promote, history ---------------------------------------------------------------------


def promote(store: RunStore, name: str, version: str, stage: str, *, force: bool = False,
            reason: Optional[str] = None,
            runtime: str = "sklearn") -> tuple[ModelVersion, list[int]]:
    """Move a version to a stage; staging and production need a passed validation, or
    ``force`` with a ``reason`` (both recorded). ``runtime`` ``onnx`` also needs the version's
    model.onnx with a passed parity check (never forced: it is what would be served)."""
    registry = Registry(store)
    target = registry.get(name, version)
    details: dict = {"runtime": check_runtime(runtime)}
    if runtime == "onnx":
        parity = require_parity(target.path / MODEL_DIR, target.ref)
        details["parity"] = {"sha256": parity["sha256"], "passed": parity["passed"]}
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
