"""``ci init``: a CI workflow running the release pipeline with jupyter-mlops commands.

Lint and generated tests (productionize), the committed package is current (check), the
Kubeflow pipeline compiled and kept as a build artifact, a training job on a sample for pull
requests (the ``sample_fraction`` parameter convention) and on the full data on main,
register, validate against production, smoke-deploy. Every step is one shell command, so the
same list runs locally (``workflow_steps``) and in tests.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from ..errors import ConfigError, OutputError
from .store import check_name

PROVIDERS = {"github": ".github/workflows/mlops.yml", "azure": "azure-pipelines.yml"}
#: Parameter a notebook reads to train on a fraction of its data (pull requests).
SAMPLE_PARAMETER = "sample_fraction"


@dataclass(frozen=True)
class Step:
    """One workflow step: a name, a shell command, and when it runs."""

    name: str
    command: str
    when: str = "always"  # "always", "pull_request" or "main"
    setup: bool = False  # installs the tool itself (a local run already has it)
    keeps: Optional[str] = None  # a file the workflow keeps as a build artifact afterwards


@dataclass(frozen=True)
class Project:
    """What the workflow can rely on in the repository: decides steps and header notes."""

    sampled: bool  # the parameters cell has SAMPLE_PARAMETER
    package_committed: bool  # OUT (with its requirements.txt) is in the repository
    root_requirements: bool  # a requirements.txt at the repository root


def model_name(stem: str) -> str:
    """A model name ``register`` accepts, derived from a notebook's file name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).lstrip("-_.")[:100].rstrip("-_.")
    return check_name(name or "model")


def steps(notebook: str, out: str, model: str, sample_fraction: float,
          project: Project = Project(True, True, False)) -> list[Step]:
    """The pipeline, in order (paths shell-quoted)."""
    nb, pkg = shlex.quote(notebook), shlex.quote(out)
    items = [Step("Install jupyter-mlops", "python -m pip install 'jupyter-mlops[kfp]'",
                  setup=True)]
    if project.package_committed:
        items += [
            Step("Install the notebook's pinned requirements",
                 f"python -m pip install -r {shlex.quote(out + '/requirements.txt')}"),
            Step("Generated package is current (not stale, not hand-edited)",
                 f"jupyter mlops check {nb} --out {pkg}"),
        ]
    elif project.root_requirements:
        items.append(Step("Install the notebook's requirements",
                          "python -m pip install -r requirements.txt"))
    items.append(Step("Productionize: lint and the generated tests",
                      f"jupyter mlops productionize {nb} --out {pkg}"))
    pipeline = f"{out}.pipeline.yaml"
    items.append(Step("Compile the Kubeflow pipeline (upload the YAML to a KFP cluster)",
                      f"jupyter mlops pipeline {nb} --out {pkg} --kfp {shlex.quote(pipeline)}",
                      keeps=pipeline))
    if project.sampled:
        items += [
            Step("Training job on a sample (pull requests)",
                 f"jupyter mlops run {nb} -p {SAMPLE_PARAMETER} {sample_fraction}",
                 when="pull_request"),
            Step("Training job on the full data (main)", f"jupyter mlops run {nb}",
                 when="main"),
        ]
    else:
        items.append(Step("Training job on the full data", f"jupyter mlops run {nb}"))
    return items + [
        Step("Register the model with its lineage",
             f"jupyter mlops register latest --name {model}"),
        Step("Validate against the production model", f"jupyter mlops validate {model} latest"),
        Step("Smoke deployment: serve, query, compare, stop",
             f"jupyter mlops smoke {model}:latest"),
    ]


def _notes(project: Project, out: str, sample_fraction: float) -> list[str]:
    """The header comments saying what the workflow assumes."""
    notes = [f"Pull requests train on a sample (-p {SAMPLE_PARAMETER} {sample_fraction}); "
             "main trains on all data." if project.sampled else
             f"The notebook has no `{SAMPLE_PARAMETER}` parameter: pull requests train on the "
             "full data too (add `sample_fraction = 1.0` to the parameters cell and use it in "
             "the data cell to sample them)."]
    if not project.package_committed:
        notes.append(f"{out} is not committed: no staleness check (commit it and run `ci init "
                     "--force` again to add one); productionize writes it here.")
        if not project.root_requirements:
            notes.append("No requirements.txt at the root and no committed package: add a step "
                         "installing the notebook's dependencies before productionize.")
    return notes


def _head(provider: str, notebook: str, notes: list[str]) -> str:
    lines = [f"Generated by `jupyter mlops ci init --provider {provider}` for {notebook}.",
             *notes]
    return "".join(f"# {part}\n" for line in lines for part in textwrap.wrap(line, 96))


def _github(items: list[Step], notebook: str, notes: list[str]) -> str:
    condition = {"pull_request": "github.event_name == 'pull_request'",
                 "main": "github.event_name != 'pull_request'"}
    job_steps: list[dict] = [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
    ]
    for step in items:
        entry: dict = {"name": step.name}
        if step.when in condition:
            entry["if"] = condition[step.when]
        entry["run"] = step.command
        job_steps.append(entry)
        if step.keeps:
            job_steps.append({"name": f"Keep {step.keeps}", "uses": "actions/upload-artifact@v4",
                              "with": {"name": "kfp-pipeline", "path": step.keeps}})
    workflow = {
        "name": "mlops",
        "on": {"pull_request": None, "push": {"branches": ["main"]}},
        "env": {"JUPYTER_MLOPS_ACTOR": "ci", "PYTHONUNBUFFERED": "1"},
        "jobs": {"mlops": {"runs-on": "ubuntu-latest", "steps": job_steps}},
    }
    text = yaml.safe_dump(workflow, sort_keys=False, width=100)
    return _head("github", notebook, notes) + text.replace("pull_request: null", "pull_request:")


def _azure(items: list[Step], notebook: str, notes: list[str]) -> str:
    condition = {"pull_request": "eq(variables['Build.Reason'], 'PullRequest')",
                 "main": "ne(variables['Build.Reason'], 'PullRequest')"}
    pipeline_steps: list[dict] = [
        {"task": "UsePythonVersion@0", "inputs": {"versionSpec": "3.11"}},
    ]
    for step in items:
        entry: dict = {"script": step.command, "displayName": step.name}
        if step.when in condition:
            entry["condition"] = f"and(succeeded(), {condition[step.when]})"
        pipeline_steps.append(entry)
        if step.keeps:
            pipeline_steps.append({"task": "PublishPipelineArtifact@1",
                                   "displayName": f"Keep {step.keeps}",
                                   "inputs": {"targetPath": step.keeps,
                                              "artifact": "kfp-pipeline"}})
    pipeline = {
        "trigger": {"branches": {"include": ["main"]}},
        "pr": {"branches": {"include": ["*"]}},
        "pool": {"vmImage": "ubuntu-latest"},
        "variables": {"JUPYTER_MLOPS_ACTOR": "ci"},
        "steps": pipeline_steps,
    }
    return _head("azure", notebook, notes) + yaml.safe_dump(pipeline, sort_keys=False, width=100)


def init(project: Path, notebook: str, provider: str = "github", *, out: Optional[str] = None,
         model: Optional[str] = None, sample_fraction: float = 0.3,
         force: bool = False) -> tuple[Path, list[Step]]:
    """Write the workflow file for ``notebook`` (relative to ``project``); return its path."""
    if provider not in PROVIDERS:
        raise ConfigError(f"--provider {provider!r}: choose from {', '.join(PROVIDERS)}")
    if not (project / notebook).is_file():
        raise ConfigError(f"no notebook {notebook} in {project}")
    model = check_name(model) if model else model_name(Path(notebook).stem)
    out = out or f"build/{model}"
    facts = _project(project, notebook, out)
    items = steps(notebook, out, model, sample_fraction, facts)
    text = (_github if provider == "github" else _azure)(
        items, notebook, _notes(facts, out, sample_fraction))
    target = project / PROVIDERS[provider]
    if target.exists() and not force and target.read_text(encoding="utf-8") != text:
        raise OutputError(f"{target} exists and differs: pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target, items


def _project(project: Path, notebook: str, out: str) -> Project:
    from ..extract.plan import notebook_parameters  # pylint: disable=import-outside-toplevel
    from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

    names = {p.name for p in notebook_parameters(read_notebook(project / notebook))}
    return Project(SAMPLE_PARAMETER in names,
                   _committed(project, f"{out}/requirements.txt")
                   and _committed(project, f"{out}/mlops-manifest.json"),
                   _committed(project, "requirements.txt"))


def _committed(project: Path, path: str) -> bool:
    """``path`` is tracked by git in ``project`` (exists, outside a git repository)."""
    try:
        done = subprocess.run(["git", "ls-files", "--error-unmatch", "--", path], cwd=project,
                              capture_output=True, text=True, check=False)
    except OSError:  # no git here
        return (project / path).is_file()
    if done.returncode != 0 and "not a git repository" in done.stderr.lower():
        return (project / path).is_file()
    return done.returncode == 0


def workflow_steps(path: Path) -> list[dict]:
    """The shell steps of a generated workflow file, in order: name, command, condition."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "jobs" in data:
        raw = [s for job in data["jobs"].values() for s in job["steps"] if "run" in s]
        return [{"name": s["name"], "command": s["run"], "if": s.get("if")} for s in raw]
    return [{"name": s["displayName"], "command": s["script"], "if": s.get("condition")}
            for s in data["steps"] if "script" in s]


def describe(items: list[Step]) -> str:
    """The steps as text."""
    return "\n".join(f"  {n}. {s.name}{'' if s.when == 'always' else f' [{s.when}]'}: "
                     f"{s.command}" for n, s in enumerate(items, start=1))


def to_json(items: list[Step]) -> list[dict]:
    """The steps as JSON."""
    return json.loads(json.dumps([s.__dict__ for s in items]))
