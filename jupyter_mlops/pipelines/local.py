"""``pipeline NB --run-local``: the compiled pipeline run with ``kfp.local``, recorded as runs.

compile (the cluster YAML, and a variant without pip installs for this environment) -> one
queued run per member (a sweep: one per ParallelFor member) -> kfp.local's SubprocessRunner on
the YAML itself, its output to the run's log, each task's start and end as progress -> the
members' models, metrics and gate verdicts into their runs; a failed step fails the runs with
the step and the notebook cell it came from.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..store import Run, RunStore, find_home
from .compiler import CompiledPipeline, compile_pipeline
from .runtime import FAILURE_MARK

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STARTED = re.compile(r"Executing task '([^']+)'")
ENDED = re.compile(r"Task '([^']+)' finished with status (\w+)")
LOG_FILE = "pipeline.log"


@dataclass(frozen=True)
class StepEvent:
    """A task started or ended (``status`` None while it runs)."""

    task: str
    status: Optional[str]
    done: int
    total: int
    seconds: Optional[float] = None


StepProgress = Callable[[StepEvent], None]


class _Log(io.TextIOBase):
    """kfp.local's output: to the log file, with task starts and ends as events."""

    def __init__(self, stream, total: int, progress: Optional[StepProgress]) -> None:
        super().__init__()
        self.stream, self.total, self.progress = stream, total, progress
        self.done, self.started, self.failures = 0, {}, []
        self.lock, self.partial = threading.Lock(), ""

    def write(self, text: str) -> int:
        with self.lock:
            self.stream.write(ANSI.sub("", text))
            self.partial += text
            *lines, self.partial = self.partial.split("\n")
            events = [e for e in (self._line(ANSI.sub("", line)) for line in lines) if e]
        # outside the lock: a callback that prints comes back here (stdout is redirected)
        for event in events:
            if self.progress is not None:
                self.progress(event)
        return len(text)

    def _line(self, line: str) -> Optional[StepEvent]:
        if FAILURE_MARK in line:
            self.failures.append(json.loads(line.split(FAILURE_MARK, 1)[1]))
        ended, started = ENDED.search(line), STARTED.search(line)
        if started:
            self.started[started.group(1)] = time.monotonic()
            return StepEvent(started.group(1), None, self.done, self.total)
        if ended:
            name = ended.group(1)
            self.done += 1
            seconds = time.monotonic() - self.started.get(name, time.monotonic())
            return StepEvent(name, ended.group(2).lower(), self.done, self.total, seconds)
        return None


@dataclass(frozen=True)
class PipelineOutcome:
    """The compiled pipeline and the runs recording its local execution."""

    compiled: CompiledPipeline
    runs: tuple[Run, ...]
    sweep_id: Optional[str] = None

    @property
    def exit_code(self) -> int:
        """0 when every run succeeded and passed its gate, else 1."""
        ok = all(r.status == "succeeded" and (r.record.get("gate") or {}).get("passed", True)
                 for r in self.runs)
        return 0 if ok else 1

    def to_dict(self) -> dict:
        """JSON form."""
        return {**self.compiled.to_dict(), "sweep_id": self.sweep_id,
                "runs": [r.to_dict() for r in self.runs], "ok": self.exit_code == 0}

    def summary(self) -> str:
        """Human text: one line per run, with its metrics, gate or failure."""
        lines = [self.compiled.summary()]
        if self.sweep_id:
            lines.append(f"sweep {self.sweep_id}: {len(self.runs)} runs")
        for run in self.runs:
            metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(run.metrics.items()))
            error = (run.record.get("error") or {}).get("message")
            gate = run.record.get("gate") or {}
            verdict = "" if not gate else (" gate " + ("passed" if gate.get("passed")
                                                       else "FAILED"))
            lines.append(f"run {run.id} {run.status} {run.parameters} "
                         + (error or metrics) + verdict)
        return "\n".join(lines)


def _member_of(parameters: dict, members: list[dict]) -> Optional[int]:
    """Which member's values the candidate model was trained with."""
    for index, member in enumerate(members):
        if all(_same(parameters.get(k), v) for k, v in member.items()):
            return index
    return None


def _same(left, right) -> bool:
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return abs(float(left) - float(right)) <= 1e-12 * max(1.0, abs(float(right)))
    return left == right


def _results(root: Path, members: list[dict]) -> dict[int, Path]:
    """Member index -> its gate's candidate model folder, from kfp.local's output tree."""
    found = {}
    for parameters in sorted(root.rglob("gate/candidate/parameters.json")):
        values = json.loads(parameters.read_text(encoding="utf-8"))
        index = _member_of(values, members)
        if index is not None:
            found[index] = parameters.parent
    return found


def _start_runs(store: RunStore, notebook: tuple, values: list[dict], sweep_id, compiled,
                yaml_copy: Path) -> list[str]:
    """One running run per member, with the lineage a notebook job records."""
    # pylint: disable=import-outside-toplevel
    from ..jobs.lineage import cell_hashes, environment, git_state
    from ..jobs.run import shown_path

    nb, nb_path = notebook
    git, env, started = git_state(nb_path.parent), environment(), time.time()
    ids = []
    for member in values:
        run_id = store.create_run(shown_path(nb_path, store), nb.sha256, member, sweep_id)
        store.update(run_id, status="running", started=started, record={
            "kind": "kfp-local", "notebook_path": str(nb_path), "cells": cell_hashes(nb),
            "pipeline": {"yaml": str(yaml_copy), "steps": list(compiled.steps),
                         "cells": compiled.cells, "production": compiled.production},
            "git": git, "environment": env,
            "files": {"stdout": str(yaml_copy.parent / LOG_FILE)}})
        ids.append(run_id)
    return ids


def _failure_record(failures: list[dict], error: Optional[BaseException]) -> dict:
    """The run's error: the failing step and the notebook cell its code came from."""
    if failures:
        where = failures[0]
        cell = f"notebook cell {where['cell_number']} (id {where['cell_id']})" \
            if where.get("cell_id") else "the package"
        if where.get("cell_id") and where.get("line"):
            cell += f" line {where['line']}"
        return {"step": where["step"], "cell_number": where.get("cell_number"),
                "cell_id": where.get("cell_id"), "line": where.get("line"),
                "message": f"step {where['step']} failed in {cell}: {where['error']}"}
    text = ANSI.sub("", str(error)) if error else "the pipeline did not finish"
    return {"step": None, "cell_number": None, "cell_id": None, "message": text}


def _finish(store: RunStore, run_id: str, model_dir: Optional[Path], yaml_copy: Path,
            failure: dict, named: dict) -> None:
    """Metrics, model, YAML and gate verdict of one member into its run."""
    from ..jobs.lineage import recorded_inputs  # pylint: disable=import-outside-toplevel

    run_dir = store.run_dir(run_id)
    artifacts = run_dir / "artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copyfile(yaml_copy, artifacts / "pipeline.yaml")
    listed = [{"name": "pipeline.yaml", "source": str(yaml_copy)}]
    record: dict = {"inputs": recorded_inputs(run_dir, named)}
    if model_dir is None:
        store.update(run_id, status="failed", ended=time.time(),
                     record={**record, "ending": "cell_error", "error": failure,
                             "artifacts": listed})
        return
    shutil.copytree(model_dir, artifacts / "model")
    listed.append({"name": "model", "source": str(model_dir)})
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    store.add_metrics(run_id, [{"name": k, "value": v} for k, v in metrics.items()])
    verdict = model_dir.parent / "verdict"
    gate = json.loads(verdict.read_text(encoding="utf-8")) if verdict.is_file() else None
    store.update(run_id, status="succeeded", ended=time.time(), record={
        **record, "ending": "succeeded", "error": None, "gate": gate, "artifacts": listed,
        "model_dir": str(artifacts / "model")})


def _execute(local_yaml: Path, root: Path, working_dir: Path, log: _Log) -> Optional[Exception]:
    """Run the pipeline YAML with kfp.local in this environment; the error, if it failed."""
    # pylint: disable=import-outside-toplevel
    from kfp import components, local

    pipeline = components.load_component_from_file(str(local_yaml))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root),
               workspace_root=str(root / "workspace"))
    # kfp.local indents a task's output by replacing builtins.print while the task runs and
    # putting back what it found; ParallelFor members run in threads, so one of them can put
    # back another's replacement, and every later print in this process (a Jupyter server's,
    # a CLI's) would start with spaces written to stdout. The one this process had comes back.
    kept_print = builtins.print
    try:
        with contextlib.redirect_stdout(log):
            pipeline(mlops_working_dir=str(working_dir))
    except RuntimeError as exc:  # kfp.local: "Pipeline ... finished with status FAILURE"
        return exc
    finally:
        builtins.print = kept_print
    return None


def _members(compiled: CompiledPipeline, given: dict) -> tuple[list[dict], list[dict]]:
    """(the sweep's members, or one empty one; each run's parameters: what was given, typed)."""
    members = [dict(m) for m in compiled.sweep] or [{}]
    values = [{**{k: compiled.parameters.get(k) for k in given if k not in m}, **m}
              for m in members]
    return members, values


def _recorded(store: RunStore, run_ids: list[str], compiled: CompiledPipeline,
              progress: Optional[StepProgress]) -> StepProgress:
    """Each step's start and end into the runs' progress (the jobs panel shows it), then to
    ``progress``."""
    def record(event: StepEvent) -> None:
        cell = compiled.cells.get(event.task.replace("-", "_")) or [None, None]
        for run_id in run_ids:
            store.set_progress(run_id, {"done": event.done, "total": event.total,
                                        "cell_id": cell[0], "cell_number": cell[1],
                                        "step": event.task, "finished": event.status})
        if progress is not None:
            progress(event)
    return record


def _logged_run(folder: Path, working_dir: Path, total: int,
                progress: Optional[StepProgress]) -> tuple[_Log, Optional[Exception]]:
    """The local run of ``folder``'s pipeline, its output in ``folder``'s log."""
    with open(folder / LOG_FILE, "w", encoding="utf-8") as stream:
        log = _Log(stream, total, progress)
        error = _execute(folder / "pipeline-local.yaml", folder / "outputs", working_dir, log)
    return log, error


def _compiled(nb_path: Path, folder: Path, kfp_yaml: Optional[os.PathLike],
              say: Optional[Callable[[str], None]], options: dict) -> CompiledPipeline:
    """The cluster YAML (at ``kfp_yaml`` and in ``folder``) and the local variant beside it."""
    yaml_copy = folder / "pipeline.yaml"
    try:
        compiled = compile_pipeline(nb_path, kfp_yaml or yaml_copy, progress=say, **options)
        if kfp_yaml is not None:
            shutil.copyfile(kfp_yaml, yaml_copy)
        compile_pipeline(nb_path, folder / "pipeline-local.yaml", local=True,
                         **{**options, "out": compiled.package_dir})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # nothing ran: leave nothing behind
        raise
    return compiled


def _finish_all(store: RunStore, run_ids: list, found: dict, yaml_path: Path, failure,
                named) -> None:
    """Each member's run record, finished from the outputs its steps left."""
    for index, run_id in enumerate(run_ids):
        _finish(store, run_id, found.get(index), yaml_path, failure, named)


def run_pipeline_local(notebook: os.PathLike, *, kfp_yaml: Optional[os.PathLike] = None,
                       home: Optional[os.PathLike] = None,
                       progress: Optional[StepProgress] = None,
                       say: Optional[Callable[[str], None]] = None,
                       **options) -> PipelineOutcome:
    """Compile ``notebook``'s pipeline, run it with kfp.local and record it in the store.

    ``options`` go to :func:`compile_pipeline`: ``out``, ``base_image``, ``parameters``,
    ``model``.
    """
    # pylint: disable=import-outside-toplevel
    from ..jobs.lineage import named_files
    from ..notebook import read_notebook
    from ..store.db import new_id
    from ..tracking import excluded_roots

    nb_path = Path(notebook).resolve()
    store = RunStore(home or find_home(nb_path.parent))
    folder = store.home / "pipelines" / new_id()
    folder.mkdir(parents=True)
    compiled = _compiled(nb_path, folder, kfp_yaml, say, options)
    nb = read_notebook(nb_path)
    members, values = _members(compiled, options.get("parameters") or {})
    sweep_id = store.create_sweep(nb.path, {k: [m[k] for m in members] for k in members[0]}) \
        if compiled.sweep else None
    run_ids = _start_runs(store, (nb, nb_path), values, sweep_id, compiled,
                          folder / "pipeline.yaml")
    named = named_files(nb, nb_path, values[0], excluded_roots() + (str(store.home),))
    log, error = _logged_run(folder, nb_path.parent, len(compiled.steps) * len(members),
                             _recorded(store, run_ids, compiled, progress))
    _finish_all(store, run_ids, _results(folder / "outputs", members), folder / "pipeline.yaml",
                _failure_record(log.failures, error), named)
    return PipelineOutcome(compiled, tuple(store.get(r) for r in run_ids), sweep_id)
