"""CLI adapters of the model lifecycle: register, models, validate, promote, ci
(serving, smoke and monitoring: ``cli_serving``).

Same contract as ``cli``: one core call, human text or ``--json``, exit 0/1/2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from .cli_common import Outcome, cancel_kernel_runs, open_store
from .errors import ConfigError


def _say(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def _time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _version_text(item) -> str:
    record = item.record
    git = record.get("git") or {}
    lines = [f"{item.ref}  stage {item.stage}  registered {_time(item.created)}",
             f"  run: {item.run_id}", f"  notebook: {record.get('notebook')} "
             f"(sha256 {str(record.get('notebook_sha256'))[:12]})",
             f"  git: {git.get('commit')}{' (dirty)' if git.get('dirty') else ''}",
             f"  python: {(record.get('environment') or {}).get('python')}",
             f"  package: {item.path / 'package'} (lint {record.get('lint_score')})",
             "  metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in
                                       sorted((record.get("metrics") or {}).items()))]
    lines += [f"  input: {i['path']} sha256 {str(i.get('sha256'))[:12]}"
              for i in record.get("inputs", [])]
    # pylint: disable-next=import-outside-toplevel
    from .registry.lifecycle import MODEL_DIR
    from .registry.parity import read_parity, summary  # pylint: disable=import-outside-toplevel

    lines.append(f"  onnx: {summary(read_parity(item.path / MODEL_DIR))}")
    return "\n".join(lines)


def register(args: argparse.Namespace):
    """``register RUN --name M``."""
    from .registry.lifecycle import register as core  # pylint: disable=import-outside-toplevel

    cancel_kernel_runs()
    item = core(open_store(), args.run, args.name, progress=_say)
    return Outcome(item.to_dict(), f"registered {item.ref} from run {item.run_id}\n"
                    + _version_text(item))


def models(args: argparse.Namespace):
    """``models list|show|audit|history``."""
    from .registry import Registry  # pylint: disable=import-outside-toplevel
    from .registry.lifecycle import history_at  # pylint: disable=import-outside-toplevel

    store = open_store(read_only=args.action == "list")
    if store is None:
        return Outcome([], "no models registered yet")
    registry = Registry(store)
    if args.action == "list":
        rows = [v for name in registry.names() for v in registry.versions(name)]
        text = "\n".join(f"{v.ref:<24} {v.stage:<11} run {v.run_id}  " + ", ".join(
            f"{k}={x:.4g}" for k, x in sorted((v.record.get('metrics') or {}).items()))
            for v in rows)
        return Outcome([v.to_dict() for v in rows], text or "no models registered yet")
    if not args.model:
        raise ConfigError(f"models {args.action} needs a model name")
    name, _, version = args.model.partition(":")
    if args.action == "show":
        item = registry.get(name, version or None)
        return Outcome(item.to_dict(), _version_text(item))
    if args.action == "audit":
        events = registry.events(name)
        if not events:
            registry.get(name)  # a clear error naming the models that exist
        text = "\n".join(
            f"{e['seq']:>4} {_time(e['at'])} {e['actor']:<10} v{e['version']} {e['action']}"
            + (f" -> {e['stage']}" if e["stage"] else "")
            + (" FORCED" if e["details"].get("forced") else "")
            + (f" ({e['reason']})" if e["reason"] else "")
            + (" PASSED" if e["details"].get("passed") else " FAILED"
               if e["action"] == "validated" else "")
            for e in events)
        return Outcome({"model": name, "events": events}, text)
    if not args.at:
        raise ConfigError("models history needs --at DATE (e.g. 2026-11-25 or 2026-11-25T14:30)")
    registry.get(name)
    answer = history_at(store, name, args.at)
    text = (f"{name} at {answer['at']}: production "
            f"{'version ' + str(answer['production']) if answer['production'] else 'none'}, "
            f"staging {'version ' + str(answer['staging']) if answer['staging'] else 'none'}")
    return Outcome(answer, text)


def validate(args: argparse.Namespace):
    """``validate M VERSION``."""
    from .registry.validation import validate as core  # pylint: disable=import-outside-toplevel

    from .tolerances import parse_tolerances  # pylint: disable=import-outside-toplevel

    tolerances = parse_tolerances(args.tolerance, "METRIC=CHANGE (e.g. accuracy=-0.01)")
    verdict = core(open_store(), args.model, args.version, tolerances=tolerances,
                   data=Path(args.data) if args.data else None, progress=_say)
    return Outcome(verdict.to_dict(), verdict.table(), 0 if verdict.passed else 1)


def convert(args: argparse.Namespace):
    """``convert M:V --to onnx [--quantize]``: exit 1 when the parity check fails."""
    from .registry.convert import convert as core  # pylint: disable=import-outside-toplevel
    from .tolerances import parse_tolerances  # pylint: disable=import-outside-toplevel

    tolerances = parse_tolerances(args.tolerance, "NAME=VALUE (e.g. max_metric_change=0.01)")
    result = core(None, args.target, to=args.to, quantize=args.quantize,
                  data=Path(args.data) if args.data else None, tolerances=tolerances,
                  progress=_say)
    return Outcome(result.to_dict(), result.table(), 0 if result.passed else 1)


def promote(args: argparse.Namespace):
    """``promote M VERSION STAGE [--runtime onnx]``."""
    from .registry.lifecycle import promote as core  # pylint: disable=import-outside-toplevel

    item, archived = core(open_store(), args.model, args.version, args.stage, force=args.force,
                          reason=args.reason, runtime=args.runtime)
    text = f"{item.ref} is now at stage {item.stage}" + (
        " (served with onnxruntime)" if args.runtime == "onnx" else "") + "".join(
        f"\n  version {v} archived" for v in archived)
    return Outcome({**item.to_dict(), "archived": archived, "runtime": args.runtime}, text)


def _find_notebook(project: Path) -> str:
    from .notebook import read_notebook  # pylint: disable=import-outside-toplevel

    skip = {".mlops", "build", ".ipynb_checkpoints", "node_modules", ".git"}
    found = []
    for path in sorted(project.rglob("*.ipynb")):
        if skip & set(path.relative_to(project).parts):
            continue
        try:
            if any(c.role for c in read_notebook(path).cells):
                found.append(path.relative_to(project).as_posix())
        except Exception:  # pylint: disable=broad-exception-caught  # not ours to judge here
            continue
    if len(found) != 1:
        raise ConfigError("name the notebook with --notebook: "
                          + (f"found {', '.join(found)}" if found else "no tagged notebook here"))
    return found[0]


def ci_init(args: argparse.Namespace):
    """``ci init --provider github|azure``."""
    from .registry import ci  # pylint: disable=import-outside-toplevel

    project = Path(args.project).resolve()
    notebook = args.notebook or _find_notebook(project)
    path, items = ci.init(project, notebook, args.provider, out=args.out, model=args.model,
                          sample_fraction=args.sample_fraction, force=args.force)
    return Outcome({"path": str(path), "provider": args.provider,
                     "steps": ci.to_json(items)},
                    f"wrote {path}:\n{ci.describe(items)}")


def _configure_convert(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="M:VERSION|DIR",
                   help="a registered model version, or a package folder with a trained "
                        "model in outputs/")
    p.add_argument("--to", choices=["onnx"], required=True, help="the target format")
    p.add_argument("--quantize", action="store_true",
                   help="onnxruntime's dynamic quantization, where the model has an "
                        "operator it applies to (says so when not)")
    p.add_argument("--tolerance", action="append", metavar="NAME=VALUE",
                   help="min_label_agreement, max_probability_difference, "
                        "max_relative_difference, max_metric_change (also "
                        "[tool.jupyter-mlops.convert] in pyproject.toml)")
    p.add_argument("--data", help="evaluation data file with the label column; default: "
                   "the training data")


def configure(commands: list) -> None:
    """Append the lifecycle subcommands to the CLI's command table."""
    def reg(p):
        p.add_argument("run", help="run id, or 'latest' for the newest succeeded run")
        p.add_argument("--name", required=True, help="model name")

    def mod(p):
        p.add_argument("action", choices=["list", "show", "audit", "history"])
        p.add_argument("model", nargs="?", help="NAME or NAME:VERSION")
        p.add_argument("--at", help="history: the date or time to ask about (UTC)")

    def val(p):
        p.add_argument("model")
        p.add_argument("version", help="a number, 'latest' or 'staging'")
        p.add_argument("--tolerance", action="append", metavar="METRIC=CHANGE",
                       help="accuracy=-0.01: may drop by at most 0.01; rmse=0.5: may rise by "
                            "at most 0.5 (also [tool.jupyter-mlops.validate] in pyproject.toml)")
        p.add_argument("--data", help="evaluation data file with the label column (.csv, "
                       ".parquet, .json); default: the candidate's training data")

    def pro(p):
        p.add_argument("model")
        p.add_argument("version")
        p.add_argument("stage", choices=["staging", "production", "archived", "none"])
        p.add_argument("--force", action="store_true", help="promote without a passed "
                       "validation (needs --reason; recorded in the audit log)")
        p.add_argument("--reason", help="why, for the audit log")
        p.add_argument("--runtime", choices=["sklearn", "onnx"], default="sklearn",
                       help="onnx: to be served with onnxruntime, which needs a passed "
                            "`convert --to onnx` (never forced)")

    def cii(p):
        p.add_argument("action", choices=["init"])
        p.add_argument("--provider", choices=["github", "azure"], default="github")
        p.add_argument("--notebook", help="the notebook (default: the one tagged notebook)")
        p.add_argument("--model", help="model name (default: the notebook's name)")
        p.add_argument("--out", help="package folder (default: build/<notebook>)")
        p.add_argument("--sample-fraction", type=float, default=0.3,
                       help="sample_fraction for pull-request training jobs")
        p.add_argument("--project", default=".", help="repository root (default: .)")
        p.add_argument("--force", action="store_true", help="replace an existing workflow")

    commands += [
        ("register", "register a run's model as a new version with its lineage", reg,
         register),
        ("models", "list, show, audit and history of registered models", mod, models),
        ("validate", "compare a version with production and check its input; exit 1 on fail",
         val, validate),
        ("promote", "move a version to a stage (needs a passed validation)", pro, promote),
        ("convert", "convert a version's model to ONNX with a parity report; exit 1 when "
         "parity fails, 2 when a step cannot be converted", _configure_convert, convert),
        ("ci", "write a CI workflow running these commands", cii, ci_init),
    ]
