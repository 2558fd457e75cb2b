"""``jupyter mlops SUBCOMMAND``: argument parsing -> one core call -> printing.

Exit codes (the contract CI relies on): 0 success, 1 the check failed, 2 bad usage or input.
``MlopsError`` subclasses carry their exit code; this module maps them in ``main`` only.
Core modules are imported inside the handlers so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from ._version import __version__
from .errors import MlopsError


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
    lines = [
        f"{r['number']:>4}  {r['id']:<12} {r['role'] or ('-' if r['type'] == 'code' else r['type']):<14}"
        f" {r['first_line'][:60]}"
        for r in rows
    ]
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

    result = productionize(
        args.notebook, args.out, force=args.force, execute=not args.no_execute,
        checks=not args.no_checks, progress=progress,
    )
    return Outcome(result.to_dict(), result.summary(), 0 if result.ok else 1,
                   list(result.warnings))


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


def _emit(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        print(json.dumps(outcome.payload, indent=2, sort_keys=True, default=str))
        return
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if outcome.text:
        print(outcome.text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        outcome = args.handler(args)
    except MlopsError as exc:
        if args.json:
            print(json.dumps(exc.to_dict(), indent=2, sort_keys=True))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    _emit(outcome, args.json)
    return outcome.code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
