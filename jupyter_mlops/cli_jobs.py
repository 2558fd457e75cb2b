"""CLI adapters of training jobs: run (and sweeps), runs list/show/compare, reproduce.

Same contract as ``cli``: one core call, human text or ``--json``, exit 0/1/2.
Core modules are imported inside the handlers so ``--help`` stays instant.
"""
# pylint: disable=import-outside-toplevel  # lazy on purpose, see above

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from .cli_common import (Outcome, at_least_one, cancel_on_sigterm, open_store,
                         positive_seconds, say)
from .errors import ConfigError


def _progress(args: argparse.Namespace):
    if args.json:
        return None

    def show(where) -> None:
        if not where.finished_cell:
            label = (f"cell {where.cell_number} (id {where.cell_id})" if where.cell_number
                     else "injected parameters")
            say(f"  [{where.done + 1}/{where.total}] {label}")
    return show


def _run_text(run) -> str:
    data = run.to_dict()
    seconds = f" in {run.duration:.1f} s" if run.duration is not None else ""
    lines = [f"run {run.id} {run.status}{seconds}"]
    error = data.get("error")
    if error:
        lines.append(f"  error: {error.get('message')}")
    if run.parameters:
        lines.append("  parameters: " + ", ".join(f"{k}={v!r}" for k, v in run.parameters.items()))
    if run.metrics:
        lines.append("  metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in run.metrics.items()))
    for item in data.get("inputs", []):
        lines.append(f"  input: {item['path']} (sha256 {str(item.get('sha256'))[:12]})")
    git = data.get("git") or {}
    if git.get("commit"):
        lines.append(f"  git: {git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}")
    if (data.get("files") or {}).get("executed"):  # a pipeline run has no notebook run
        lines.append(f"  executed notebook: {data['files']['executed']}")
    if data.get("pipeline"):  # a Kubeflow pipeline run locally (`pipeline --run-local`)
        lines.append(f"  pipeline: {data['pipeline']['yaml']} (steps: "
                     f"{', '.join(data['pipeline']['steps'])})")
    return "\n".join(lines)


#: (key in the run's timings, what it covers), in the order a run goes through them.
PHASES = (("kernel_start", "kernel start (launch to first cell; parameters injected alongside)"),
          ("execution", "execution of the cells"),
          ("lineage", "lineage the run waited for (named files, git, packages, data hashes)"),
          ("saving", "saving metrics, artifacts and the record"))


def timings_text(run_id: str, timings: Optional[dict]) -> str:
    """The per-phase table of ``runs show RUN --timings``."""
    if not timings:
        return (f"run {run_id} has no timings (it was recorded before jupyter-mlops kept "
                "them, or it never started)")
    total = timings.get("total") or 0.0
    lines = [f"run {run_id}: {total:.2f} s"]
    for key, label in PHASES:
        seconds = float(timings.get(key) or 0.0)
        share = f"{100 * seconds / total:5.1f}%" if total else "     -"
        lines.append(f"  {seconds:7.3f} s {share}  {label}")
    wait = float(timings.get("kernel_wait") or 0.0)
    lines.append(f"  the kernel was pre-started; the run waited {wait:.2f} s for it to be ready"
                 if timings.get("kernel_pre_started") else "  the kernel was started for this run")
    return "\n".join(lines)


def parameter_values(args: argparse.Namespace) -> dict:
    """The values of ``-f FILE``, ``-y YAML`` and ``-p NAME VALUE``, later ones winning."""
    from .jobs.params import load_parameter_file

    values: dict = {}
    if args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read parameters file {args.file}: {exc.strerror}") from None
        values.update(load_parameter_file(text, args.file))
    if args.yaml:
        values.update(load_parameter_file(args.yaml, "-y"))
    for name, value in args.parameter or []:
        values[name] = value
    return values


def _run(args: argparse.Namespace) -> Outcome:
    from .jobs.params import is_sweep
    from .jobs.run import run_job
    from .jobs.sweep import run_sweep

    values = parameter_values(args)
    cancel_on_sigterm()
    if is_sweep(values):
        outcome = run_sweep(args.notebook, values, workers=args.workers, dask=args.dask,
                            announce=lambda s: say(f"sweep {s}"), tracking=args.tracking)
        ranked = sorted(outcome.runs, key=lambda r: r.id)
        text = "\n".join([f"sweep {outcome.sweep_id}: {len(ranked)} runs"]
                         + [_run_text(r) for r in ranked])
        payload = {"sweep_id": outcome.sweep_id, "runs": [r.to_dict() for r in ranked]}
        return Outcome(payload, text, outcome.exit_code, list(outcome.warnings))
    outcome = run_job(args.notebook, values, progress=_progress(args), timeout=args.timeout,
                      sweep_id=args.sweep_id, announce=lambda r: say(f"run {r}"),
                      tracking=args.tracking)
    return Outcome(outcome.run.to_dict(), _run_text(outcome.run), outcome.exit_code,
                   list(outcome.warnings))


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a parameter value (a comma list makes a sweep)")
    p.add_argument("-f", "--file", help="YAML file of parameters")
    p.add_argument("-y", "--yaml", help="YAML string of parameters")
    p.add_argument("--workers", type=at_least_one, default=1,
                   help="parallel runs of a local sweep (1 or more)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the sweep on this Dask scheduler")
    p.add_argument("--timeout", type=positive_seconds, default=None,
                   help="seconds allowed per cell (more than 0)")
    p.add_argument("--tracking", metavar="URI",
                   help="mirror runs to MLflow: mlflow://HOST:PORT (or $JUPYTER_MLOPS_TRACKING)")
    p.add_argument("--sweep-id", help=argparse.SUPPRESS)


def _runs(args: argparse.Namespace) -> Outcome:
    from .jobs.reproduce import compare
    from .jobs.sweep import rank

    store = open_store(read_only=args.action == "list")
    if store is None:
        return Outcome([], "no runs yet")
    if args.action == "list":
        runs = store.list(limit=args.limit)
        lines = [f"{r.id}  {r.status:<9} {r.notebook:<30} "
                 + " ".join(f"{k}={v:.4g}" for k, v in r.metrics.items()) for r in runs]
        return Outcome([r.to_dict() for r in runs], "\n".join(lines) or "no runs yet")
    if args.action == "show":
        if len(args.run) != 1:
            raise ConfigError("runs show takes one run id")
        run = store.get(args.run[0])
        if args.timings:
            timings = run.record.get("timings")
            return Outcome({"id": run.id, "timings": timings}, timings_text(run.id, timings))
        return Outcome(run.to_dict(), _run_text(run))
    if len(args.run) == 1 and store.sweep(args.run[0]) is not None:
        metric, runs = rank(store, args.run[0], args.metric, not args.ascending)
        lines = [f"sweep {args.run[0]} ranked by {metric or '(no metric)'}:"]
        for place, run in enumerate(runs, start=1):
            params = ", ".join(f"{k}={v!r}" for k, v in run.parameters.items())
            score = run.metrics.get(metric) if metric else None
            lines.append(f"  {place}. {run.id} {run.status} {metric}={score} ({params})")
        return Outcome({"sweep_id": args.run[0], "metric": metric,
                        "runs": [r.to_dict() for r in runs]}, "\n".join(lines))
    if len(args.run) < 2:
        raise ConfigError("compare needs two or more run ids, or one sweep id")
    table = compare([store.get(r) for r in args.run])
    lines = ["".ljust(24) + "".join(r.ljust(26) for r in table["runs"])]
    for section in ("parameters", "inputs", "metrics"):
        lines.append(f"{section}:")
        for row in table[section]:
            mark = "*" if row["differs"] else " "
            lines.append(f" {mark}{row['name'][:22]:<23}"
                         + "".join(str(v)[:24].ljust(26) for v in row["values"]))
    return Outcome(table, "\n".join(lines))


def _configure_runs(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["list", "show", "compare"])
    p.add_argument("run", nargs="*", help="run ids (or one sweep id for compare)")
    p.add_argument("--limit", type=at_least_one, default=50)
    p.add_argument("--metric", help="compare a sweep by this metric")
    p.add_argument("--ascending", action="store_true", help="lower metric is better")
    p.add_argument("--timings", action="store_true",
                   help="show: where the run's time went (kernel start, execution, ...)")


def _reproduce(args: argparse.Namespace) -> Outcome:
    from .jobs.reproduce import reproduce

    from .tolerances import parse_tolerances

    tolerances = parse_tolerances(args.tolerance, "METRIC=ABS")
    cancel_on_sigterm()
    result = reproduce(open_store(), args.run, tolerances, progress=_progress(args),
                       announce=lambda r: say(f"run {r}"))
    lines = [f"reproduce {result.original.id} -> {result.rerun.id}: "
             + ("reproduced" if result.ok else "NOT reproduced")]
    if result.notebook_changed:
        lines.append("  the notebook changed since the original run")
    lines += [f"  input {c['change']}: {c['path']}" for c in result.changed_inputs]
    for row in result.metrics:
        lines.append(f"  {'ok ' if row['match'] else 'BAD'} {row['name']}: {row['original']} -> "
                     f"{row['rerun']} (tolerance {row['tolerance']})")
    if result.rerun.status != "succeeded":
        lines.append(f"  the re-run {result.rerun.status}")
    return Outcome(result.to_dict(), "\n".join(lines), 0 if result.ok else 1)


def _configure_reproduce(p: argparse.ArgumentParser) -> None:
    p.add_argument("run")
    p.add_argument("--tolerance", action="append", metavar="METRIC=ABS",
                   help="allowed absolute difference for a metric (default 1e-9)")


def configure(commands: list) -> None:
    """Add the job commands to the CLI's command table."""
    commands += [
        ("run", "run the notebook as a recorded training job (or a sweep)", _configure_run,
         _run),
        ("runs", "list, show and compare recorded runs", _configure_runs, _runs),
        ("reproduce", "re-run a run with its recorded inputs; exit 1 on any mismatch",
         _configure_reproduce, _reproduce),
    ]
