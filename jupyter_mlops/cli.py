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
from typing import Callable, Optional, Sequence

from ._version import __version__
from .cli_common import Handler, Interrupts, Outcome, cancel_kernel_runs
from .cli_jobs import configure as configure_jobs
from .cli_models import configure as configure_lifecycle
from .cli_pipeline import configure as configure_pipeline
from .cli_serving import configure as configure_serving
from .errors import MlopsError, os_error
from .startup import defer_unused_imports


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

    cancel_kernel_runs()
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
]


configure_jobs(COMMANDS)
configure_lifecycle(COMMANDS)
configure_pipeline(COMMANDS)
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
        hint = f" ({exc.hint})" if exc.hint else ""
        print(f"error: {exc}{hint}", file=sys.stderr)


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


def _cancelled() -> int:
    print("cancelled", file=sys.stderr)
    return 130


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; return the exit code."""
    defer_unused_imports()
    args = build_parser().parse_args(argv)
    interrupts = Interrupts()
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
