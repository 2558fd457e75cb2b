"""``jupyter mlops SUBCOMMAND``: argument parsing -> one core call -> printing.

Exit codes (the contract CI relies on): 0 success, 1 the check failed, 2 bad usage or input,
130 cancelled (Ctrl-C, or SIGTERM where a command handles it), 141 (128 + SIGPIPE, as a shell
reports ``cat`` killed by it) when the reader closed stdout early (``| head``), which ends
quietly. ``MlopsError`` subclasses carry their exit
code; this module maps them in ``main`` only.
Core modules are imported inside the handlers so ``--help`` stays instant.
"""
# pylint: disable=import-outside-toplevel  # lazy on purpose, see above

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from ._version import __version__
from .cli_models import configure as configure_lifecycle
from .cli_serving import configure as configure_serving
from .errors import ConfigError, MlopsError, os_error


@dataclass
class Outcome:
    """What a handler hands back: exit code, the ``--json`` document and the human text."""

    payload: Any
    text: str
    code: int = 0
    warnings: list[str] = field(default_factory=list)


Handler = Callable[[argparse.Namespace], Outcome]


def _common() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print one JSON document")
    return parent


# --- roles, tag, suggest ------------------------------------------------------------------


def _roles(args: argparse.Namespace) -> Outcome:
    from .notebook import read_notebook

    nb = read_notebook(args.notebook)
    rows = [
        {"number": c.number, "id": c.cell_id, "type": c.cell_type, "role": c.role,
         "first_line": c.source.strip().splitlines()[0] if c.source.strip() else ""}
        for c in nb.cells
    ]
    shown = [r["role"] or ("-" if r["type"] == "code" else r["type"]) for r in rows]
    lines = [f"{r['number']:>4}  {r['id']:<12} {role:<14} {r['first_line'][:60]}"
             for r, role in zip(rows, shown)]
    return Outcome({"notebook": nb.path, "cells": rows}, "\n".join(lines))


def _tag(args: argparse.Namespace) -> Outcome:
    from .notebook import with_role

    role = None if args.role in ("none", "-") else args.role.removeprefix("mlops:")
    cell = with_role(args.notebook, args.cell, role)
    shown = cell.role or "no role"
    return Outcome(
        {"notebook": args.notebook, "number": cell.number, "id": cell.cell_id, "role": cell.role},
        f"{args.notebook} cell {cell.number} (id {cell.cell_id}): {shown}",
    )


def _suggest(args: argparse.Namespace) -> Outcome:
    from .extract.suggest import apply_suggestions, suggest_roles
    from .notebook import read_notebook

    nb = read_notebook(args.notebook)
    suggestions = suggest_roles(nb)
    if args.apply:
        apply_suggestions(args.notebook, suggestions)
    lines = [
        f"cell {s.number} (id {s.cell_id}): {s.current or '-'} -> {s.role}   ({s.reason})"
        for s in suggestions
    ] or ["no suggestions: every code cell already has the role its code suggests"]
    if suggestions and not args.apply:
        lines.append("(proposals only; run again with --apply to write the tags)")
    return Outcome(
        {"notebook": nb.path, "applied": bool(args.apply),
         "suggestions": [s.to_dict() for s in suggestions]},
        "\n".join(lines),
    )


# --- productionize, check -----------------------------------------------------------------


def _productionize(args: argparse.Namespace) -> Outcome:
    from .productionize import productionize

    def progress(message: str) -> None:
        if not args.json:
            print(f"... {message}", file=sys.stderr, flush=True)

    _cancel_kernel_runs()
    result = productionize(
        args.notebook, args.out, force=args.force, execute=not args.no_execute,
        checks=not args.no_checks, lint=not args.no_lint, progress=progress,
    )
    failed = not result.ok or (args.require_proof and not result.proven)
    return Outcome(result.to_dict(), result.summary(), 1 if failed else 0,
                   [str(w) for w in result.warnings])


def _check(args: argparse.Namespace) -> Outcome:
    from .productionize import check

    status = check(args.notebook, args.out)
    return Outcome(status.to_dict(), status.summary(), 0 if status.ok else 1)


def _add_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=None,
                   help="output directory (default: build/<notebook name> beside the notebook)")


def _configure_productionize(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook")
    _add_out(p)
    p.add_argument("--force", action="store_true", help="overwrite hand-edited generated files")
    p.add_argument("--no-execute", action="store_true",
                   help="skip the recording run (the equivalence tests are then left out)")
    p.add_argument("--no-checks", action="store_true",
                   help="write the package without running pylint and its tests")
    p.add_argument("--no-lint", action="store_true",
                   help="run the generated tests but not pylint")
    p.add_argument("--require-proof", action="store_true",
                   help="exit 1 unless every equivalence with the notebook was checked and held "
                        "(for CI): anything 'not proven' fails")


def _configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook")
    _add_out(p)


def _configure_roles(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook")


def _configure_tag(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook")
    p.add_argument("cell", help="1-based cell number or cell id")
    p.add_argument("role", help="setup, data, featurization, training, evaluation, scoring, "
                                "skip, parameters, or none to clear")


def _configure_suggest(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook")
    p.add_argument("--apply", action="store_true", help="write the suggested tags")


# --- training jobs ------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cancel_on_sigterm() -> None:
    """SIGTERM cancels like Ctrl-C (and is remembered like it, see ``_Interrupts``)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    current = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGTERM, current if isinstance(current, _Interrupts) else handler)


def _cancel_kernel_runs() -> None:
    """Ctrl-C or SIGTERM while a notebook runs in a kernel cancels the command: nbclient takes
    both signals over through the event loop (it shuts the kernel down, and the caller only
    sees a dead kernel), so its handlers are wrapped to remember them (``_Interrupts``)."""
    from jupyter_core.utils import ensure_event_loop

    _cancel_on_sigterm()
    interrupts = signal.getsignal(signal.SIGINT)
    if not isinstance(interrupts, _Interrupts):
        return
    loop = ensure_event_loop()  # the loop nbclient's run_sync will run on in this thread
    original = loop.add_signal_handler

    def add_signal_handler(sig, callback, *args):
        def remembered(*given):
            interrupts.seen = True
            callback(*given)
        original(sig, remembered, *args)

    loop.add_signal_handler = add_signal_handler


def _progress(args: argparse.Namespace):
    if args.json:
        return None

    def show(where) -> None:
        if not where.finished_cell:
            label = (f"cell {where.cell_number} (id {where.cell_id})" if where.cell_number
                     else "injected parameters")
            _say(f"  [{where.done + 1}/{where.total}] {label}")
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
    if data.get("files"):
        lines.append(f"  executed notebook: {data['files']['executed']}")
    return "\n".join(lines)


def _parameters(args: argparse.Namespace) -> dict:
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

    values = _parameters(args)
    _cancel_on_sigterm()
    if is_sweep(values):
        outcome = run_sweep(args.notebook, values, workers=args.workers, dask=args.dask,
                            announce=lambda s: _say(f"sweep {s}"), tracking=args.tracking)
        ranked = sorted(outcome.runs, key=lambda r: r.id)
        text = "\n".join([f"sweep {outcome.sweep_id}: {len(ranked)} runs"]
                         + [_run_text(r) for r in ranked])
        payload = {"sweep_id": outcome.sweep_id, "runs": [r.to_dict() for r in ranked]}
        return Outcome(payload, text, outcome.exit_code, list(outcome.warnings))
    outcome = run_job(args.notebook, values, progress=_progress(args), timeout=args.timeout,
                      sweep_id=args.sweep_id, announce=lambda r: _say(f"run {r}"),
                      tracking=args.tracking)
    return Outcome(outcome.run.to_dict(), _run_text(outcome.run), outcome.exit_code,
                   list(outcome.warnings))


def _at_least_one(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: give 1 or more")
    return value


def _positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds > 0 (finite)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a parameter value (a comma list makes a sweep)")
    p.add_argument("-f", "--file", help="YAML file of parameters")
    p.add_argument("-y", "--yaml", help="YAML string of parameters")
    p.add_argument("--workers", type=_at_least_one, default=1,
                   help="parallel runs of a local sweep (1 or more)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the sweep on this Dask scheduler")
    p.add_argument("--timeout", type=_positive_seconds, default=None,
                   help="seconds allowed per cell (more than 0)")
    p.add_argument("--tracking", metavar="URI",
                   help="mirror runs to MLflow: mlflow://HOST:PORT (or $JUPYTER_MLOPS_TRACKING)")
    p.add_argument("--sweep-id", help=argparse.SUPPRESS)


def _store():
    from .store import RunStore, find_home

    return RunStore(find_home())


def _runs(args: argparse.Namespace) -> Outcome:
    from .jobs.reproduce import compare
    from .jobs.sweep import rank

    store = _store()
    if args.action == "list":
        runs = store.list(limit=args.limit)
        lines = [f"{r.id}  {r.status:<9} {r.notebook:<30} "
                 + " ".join(f"{k}={v:.4g}" for k, v in r.metrics.items()) for r in runs]
        return Outcome([r.to_dict() for r in runs], "\n".join(lines) or "no runs yet")
    if args.action == "show":
        run = store.get(args.run[0])
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
    p.add_argument("--limit", type=_at_least_one, default=50)
    p.add_argument("--metric", help="compare a sweep by this metric")
    p.add_argument("--ascending", action="store_true", help="lower metric is better")


def _reproduce(args: argparse.Namespace) -> Outcome:
    from .jobs.reproduce import reproduce

    from .tolerances import parse_tolerances

    tolerances = parse_tolerances(args.tolerance, "METRIC=ABS")
    _cancel_on_sigterm()
    result = reproduce(_store(), args.run, tolerances, progress=_progress(args),
                       announce=lambda r: _say(f"run {r}"))
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


#: (name, help, configure, handler). Adapters for later features append here.
COMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], Handler]] = [
    ("roles", "list cells with their role, number and id", _configure_roles, _roles),
    ("tag", "set the role of one cell", _configure_tag, _tag),
    ("suggest", "propose roles from the code (--apply writes them)", _configure_suggest,
     _suggest),
    ("productionize", "write the production package for a notebook", _configure_productionize,
     _productionize),
    ("check", "exit 1 if the generated package is stale or hand-edited", _configure_check,
     _check),
    ("run", "run the notebook as a recorded training job (or a sweep)", _configure_run, _run),
    ("runs", "list, show and compare recorded runs", _configure_runs, _runs),
    ("reproduce", "re-run a run with its recorded inputs; exit 1 on any mismatch",
     _configure_reproduce, _reproduce),
]


configure_lifecycle(COMMANDS)
configure_serving(COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jupyter mlops``."""
    parser = argparse.ArgumentParser(
        prog="jupyter mlops",
        description="Take a tagged notebook to production: package, jobs, models.",
    )
    parser.add_argument("--version", action="version", version=f"jupyter-mlops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    parent = _common()
    for name, help_text, configure, handler in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[parent])
        configure(p)
        p.set_defaults(handler=handler)
    return parser


#: Exit code when the reader closed stdout early: what a shell shows for a SIGPIPE death.
CLOSED_STDOUT = 141


def _emit(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        print(json.dumps(outcome.payload, indent=2, sort_keys=True, default=str))
        return
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if outcome.text:
        print(outcome.text)


def _emit_error(exc: MlopsError, as_json: bool) -> None:
    if as_json:
        print(json.dumps(exc.to_dict(), indent=2, sort_keys=True))
    else:
        print(f"error: {exc}", file=sys.stderr)


def _printed(write: Callable[[], None], code: int) -> int:
    """Run ``write``; ``code``, or CLOSED_STDOUT without a traceback if stdout was closed."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader is gone (`| head`). Python flushes stdout again at exit, which would raise
        # once more: point it at devnull first (the signal module docs' "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return CLOSED_STDOUT
    return code


class _Interrupts:
    """Remembers a Ctrl-C (SIGINT) while a command runs: a kernel that dies of the same
    Ctrl-C makes nbclient raise DeadKernelError or worse, which is a cancel, not a crash."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def install(self) -> None:
        """Take over SIGINT if Python's default handler has it (not when it is ignored)."""
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self)


def _cancelled() -> int:
    print("cancelled", file=sys.stderr)
    return 130


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; return the exit code."""
    args = build_parser().parse_args(argv)
    interrupts = _Interrupts()
    interrupts.install()
    error: Optional[MlopsError] = None
    try:
        outcome = args.handler(args)
    except KeyboardInterrupt:
        return _cancelled()
    except MlopsError as exc:
        error = exc
    except OSError as exc:  # a file the user named cannot be used: one line, bad input
        if isinstance(exc, BrokenPipeError) and not interrupts.seen:
            raise
        error = os_error(exc)
    except Exception:  # pylint: disable=broad-exception-caught  # re-raised unless cancelled
        if interrupts.seen:
            return _cancelled()
        raise
    finally:
        if signal.getsignal(signal.SIGINT) is interrupts:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    if error is not None:
        if interrupts.seen:  # the error is what the Ctrl-C or SIGTERM did
            return _cancelled()
        return _printed(lambda: _emit_error(error, args.json), error.exit_code)
    return _printed(lambda: _emit(outcome, args.json), outcome.code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
