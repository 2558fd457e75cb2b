"""CLI adapter of Kubeflow Pipelines: ``pipeline NB --kfp FILE [--run-local]``.

Same contract as ``cli``: one core call, human text or ``--json``, exit 0/1/2.
"""

from __future__ import annotations

import argparse
import sys

from .cli_common import Outcome
from .cli_jobs import parameter_values
from .errors import ConfigError


def _say(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def _step_progress(event) -> None:
    """``train started``, then ``[3/5] train ok in 3.1 s`` (or ``FAILURE``) when it ends."""
    if event.status is None:
        _say(f"  {event.task} started")
    else:
        result = "ok" if event.status == "success" else event.status.upper()
        _say(f"  [{event.done}/{event.total}] {event.task} {result} in {event.seconds:.1f} s")


def pipeline(args: argparse.Namespace):
    """``pipeline NB --kfp FILE`` compiles; ``--run-local`` also runs and records it."""
    values = parameter_values(args)
    if not args.kfp and not args.run_local:
        raise ConfigError("say where the pipeline goes (--kfp PIPELINE.yaml) or run it "
                          "(--run-local)")
    options = {"out": args.out, "base_image": args.base_image, "parameters": values,
               "model": args.model}
    progress = None if args.json else _say
    if args.run_local:
        from .pipelines.local import run_pipeline_local  # pylint: disable=import-outside-toplevel

        outcome = run_pipeline_local(args.notebook, kfp_yaml=args.kfp, say=progress,
                                     progress=None if args.json else _step_progress, **options)
        return Outcome(outcome.to_dict(), outcome.summary(), outcome.exit_code)
    from .pipelines import compile_pipeline  # pylint: disable=import-outside-toplevel

    compiled = compile_pipeline(args.notebook, args.kfp, progress=progress, **options)
    return Outcome(compiled.to_dict(), compiled.summary())


def configure_pipeline(p: argparse.ArgumentParser) -> None:
    """Options of ``pipeline``."""
    p.add_argument("notebook")
    p.add_argument("--kfp", metavar="PIPELINE.yaml", help="write the compiled KFP v2 pipeline "
                   "here (upload it to a Kubeflow Pipelines cluster)")
    p.add_argument("--out", help="package folder (default: build/<notebook>; reused when "
                   "up to date)")
    p.add_argument("--base-image", help="image the components run on (default: python:X.Y-slim "
                   "of this Python); they pip install the package's pinned requirements")
    p.add_argument("--model", help="registry name the gate compares with (default: the "
                   "package's name)")
    p.add_argument("--run-local", action="store_true", help="run it here with kfp.local "
                   "(no cluster, no Docker) and record it as runs in the store")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a pipeline parameter (a comma list compiles into a ParallelFor sweep)")
    p.add_argument("-f", "--file", help="YAML file of parameters")
    p.add_argument("-y", "--yaml", help="YAML string of parameters")


def configure(commands: list) -> None:
    """Append ``pipeline`` to the CLI's command table."""
    commands.append(("pipeline", "compile the package into a Kubeflow pipeline (and run it "
                     "locally with --run-local)", configure_pipeline, pipeline))
