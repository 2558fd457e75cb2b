"""Productionize: notebook -> linted, tested package. The pipeline of small steps, in order.

read + validate -> [launch the recording kernel] -> plan (dataflow) -> generate modules ->
stage them beside the output, start pylint on them and a standby pytest -> [recording run in
the kernel] -> environment, tests, manifest -> the generated tests in the staging tree ->
reports -> swap in. The steps in brackets overlap the ones after them: the kernel starts up
while the cells are analysed, pylint runs while the notebook records (the modules do not
depend on the recording). A second run on an unchanged notebook returns the cached result.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import keyword
import os
import re
import shutil
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Union

from ._version import __version__
from .errors import StaleOutputError
from .package.writer import (MANIFEST, OutputGuard, edited_files, missing_files, read_manifest,
                             recover_interrupted_swap, sha256_text, staging_dir, swap_in,
                             write_files)
from .quality.checks import LINT_REPORT, TEST_REPORT, PackageChecks
from .quality.lint import LintReport
from .quality.testing import read_junit
from .results import CheckStatus, ProductionizeResult, skipped_tests

if TYPE_CHECKING:  # the analysis stack (nbformat, black) loads only when there is work to do
    from .extract.plan import Plan
    from .notebook import Notebook
    from .recording import Recording, RecordingKernel

Progress = Callable[[str], None]
PathLike = Union[str, "os.PathLike[str]"]
EQUIVALENCE_LEFT_OUT = (
    "test_equivalence.py (features, metrics and predictions against the notebook) and the "
    "score tests that need a recorded sample: --no-execute skipped the recording run"
)


def package_name(notebook_path: str) -> str:
    """A valid, non-shadowing import name from the notebook's file name."""
    stem = Path(notebook_path).stem.lower()
    name = re.sub(r"\W+", "_", stem).strip("_") or "notebook"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"nb_{name}"
    if name in sys.stdlib_module_names or _importable(name):
        name = f"{name}_model"
    return name


def _importable(name: str) -> bool:
    """A module or regular package of that name exists; a plain folder (a namespace package,
    such as the notebook's own ``churn/`` beside the working directory) shadows nothing."""
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin not in (None, "namespace")


def default_out(notebook: PathLike) -> Path:
    """``build/<notebook stem>`` in the current directory."""
    return Path("build") / Path(notebook).stem


def _manifest(nb: "Notebook", plan: "Plan", package: str, modules, files: dict[str, str], *,
              notebook_dir: str, recording: Optional["Recording"],
              not_proven: tuple[str, ...]) -> str:
    spans: dict[int, dict[str, list[int]]] = {}
    for module in modules:
        for line, (index, _) in module.line_map.items():
            span = spans.setdefault(index, {}).setdefault(module.path, [line, line])
            span[0], span[1] = min(span[0], line), max(span[1], line)
    cells = [{"number": cell.number, "id": cell.cell_id, "role": cell.role,
              "exported_to": dict(sorted(spans.get(cell.index, {}).items()))}
             for cell in nb.code_cells]
    line_map = {
        module.path: {str(n): [nb.cells[i].cell_id, line]
                      for n, (i, line) in sorted(module.line_map.items())}
        for module in modules
    }
    data = {
        "generated_by": "jupyter-mlops",
        "tool_version": __version__,
        "generator_sha256": generator_sha256(),
        "notebook": os.path.basename(nb.path),
        "notebook_dir": notebook_dir,
        "notebook_sha256": nb.sha256,
        "package": package,
        "recorded": recording is not None,
        "model": plan.model,
        "not_proven": list(not_proven),
        "cells": cells,
        "line_map": line_map,
        "files": {rel: sha256_text(text) for rel, text in sorted(files.items())},
    }
    if recording is not None:  # what the sample came from: register lends the package on it
        data["inputs"] = list(recording.inputs)
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


@functools.lru_cache(maxsize=1)
def generator_sha256() -> str:
    """A digest of the code and templates that write packages: a cached result is reused only
    when they are unchanged, even between two builds of the same version."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("templates/**/*"), *root.glob("extract/*.py"),
                        *root.glob("generate/*.py"), *root.glob("package/*.py"),
                        root / "productionize.py", root / "recording.py"]):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _notebook_sha256(notebook: PathLike) -> Optional[str]:
    try:
        return hashlib.sha256(Path(notebook).read_bytes()).hexdigest()
    except OSError:
        return None


def _cached(notebook: PathLike, out: Path, execute: bool) -> Optional[ProductionizeResult]:
    """The previous result when neither the notebook nor the output changed (no parsing)."""
    manifest = read_manifest(out)
    if (
        manifest is None
        or manifest.get("notebook_sha256") != _notebook_sha256(notebook)
        or manifest.get("tool_version") != __version__
        or manifest.get("generator_sha256") != generator_sha256()
        or manifest.get("recorded") != execute
        or edited_files(out, manifest)
        or missing_files(out, manifest)
        or not (out / LINT_REPORT).is_file()
        or not (out / TEST_REPORT).is_file()
    ):
        return None
    lint = LintReport.from_dict(json.loads((out / LINT_REPORT).read_text(encoding="utf-8")))
    tests = read_junit(out / TEST_REPORT)
    if not (lint.ok and tests.ok):
        # A failed check can pass once the user installs what was missing (an import error,
        # a library's version), and nothing above sees the environment: check again.
        return None
    return ProductionizeResult(
        notebook=os.fspath(notebook), out_dir=str(out), package=manifest["package"],
        files=tuple(sorted(list(manifest["files"]) + [MANIFEST, LINT_REPORT, TEST_REPORT])),
        lint=lint, tests=tests,
        environment=(out / "requirements.txt").read_text(encoding="utf-8"),
        left_out=() if execute else (EQUIVALENCE_LEFT_OUT,), cached=True, recorded=execute,
        not_proven=tuple(manifest.get("not_proven", ())) + skipped_tests(tests),
    )


def up_to_date(notebook: PathLike, out: PathLike) -> bool:
    """``out`` holds a recorded, checked and passing package of ``notebook`` as it is now, made
    by this generator and not edited since: productionize would answer from its reports."""
    return _cached(notebook, Path(out), True) is not None


def productionize(
    notebook: PathLike,
    out: Optional[PathLike] = None,
    *,
    force: bool = False,
    execute: bool = True,
    checks: bool = True,
    lint: bool = True,
    progress: Optional[Progress] = None,
) -> ProductionizeResult:
    """Write the production package for ``notebook`` into ``out``; lint and test it there.

    ``execute=False`` skips the recording run (no equivalence tests); ``checks=False`` skips
    pylint and pytest (no reports), for fast iteration or pipelines that run them later;
    ``lint=False`` skips pylint only (the generated tests still run).
    """
    say = progress or (lambda message: None)
    out_dir = Path(out) if out is not None else default_out(notebook)
    if not force:
        cached = _cached(notebook, out_dir, execute)
        if cached is not None:
            say("notebook unchanged since the last productionize: using the cached result")
            return cached
    # pylint: disable=import-outside-toplevel
    from .notebook import read_notebook
    from .recording import RecordingKernel

    nb = read_notebook(notebook)
    guard = OutputGuard.check(out_dir, force)
    # Launched before the analysis, so that the kernel's start-up runs alongside it.
    kernel = RecordingKernel(nb) if execute else None
    try:
        return _build(notebook, nb, guard, kernel, _Checked(checks, lint and checks), say)
    finally:
        if kernel is not None:
            kernel.close()


@dataclass(frozen=True)
class _Checked:
    """Which checks productionize runs: pylint and the generated tests, or only the tests."""

    tests: bool
    lint: bool


def _build(notebook: PathLike, nb: "Notebook", guard: OutputGuard,
           kernel: Optional["RecordingKernel"], checked: _Checked,
           say: Progress) -> ProductionizeResult:
    """Plan, record, write and check the package in a staging folder beside ``guard.out``,
    then swap it in. The checks start as soon as what they read exists: pylint (on the
    modules, which do not depend on the recording) and the standby pytest processes while
    the notebook records."""
    # pylint: disable=import-outside-toplevel
    from . import generate
    from .extract.plan import plan_package
    from .recording import record

    say("analysing cells")
    plan = plan_package(nb)
    package = package_name(nb.path)
    modules = generate.generate_modules(plan, package)
    out_dir = guard.out
    notebook_dir = os.path.relpath(Path(notebook).resolve().parent, out_dir.resolve().parent
                                   / out_dir.name).replace(os.sep, "/")
    staged = staging_dir(out_dir)
    try:
        with (PackageChecks(staged, package, nb, say, checked.lint) if checked.tests
              else contextlib.nullcontext()) as running:
            if running is not None:
                running.start(modules, generate.pylintrc(plan),
                              tuple(generate.imported_modules(modules)))
            recording = None
            if kernel is not None:
                say("running the notebook in a kernel to record a sample")
                recording = record(os.fspath(notebook), nb, plan, generate.import_names(modules),
                                   progress=say, kernel=kernel)
                modules = _recorded_modules(plan, package, modules, recording)
            files, gaps = _package_files(nb, plan, package, modules, recording, notebook_dir)
            if running is None:
                write_files(staged, files)
                lint_report, tests = None, None
            else:
                lint_report, tests = running.finish(modules, files)
        swap_in(staged, guard, set(files))
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    left_out = () if kernel is not None else (EQUIVALENCE_LEFT_OUT,)
    if not checked.tests:
        left_out += ("pylint and the generated tests: --no-checks",)
    elif not checked.lint:
        left_out += ("pylint: --no-lint",)
    reports = [LINT_REPORT] * checked.lint + [TEST_REPORT] * checked.tests
    return ProductionizeResult(
        notebook=nb.path, out_dir=str(out_dir), package=package,
        files=tuple(sorted(list(files) + reports)),
        lint=lint_report, tests=tests, environment=files["requirements.txt"],
        warnings=plan.warnings, left_out=left_out, recorded=kernel is not None,
        not_proven=gaps + skipped_tests(tests),
    )


def _recorded_modules(plan: "Plan", package: str, modules: list, recording: "Recording") -> list:
    """The modules for what the recording saw: the same ones unless the raw records are not
    of the kind the plan suggested (rows, say, where it guessed a table)."""
    # pylint: disable-next=import-outside-toplevel
    from .generate import code_shape, generate_modules, raw_kind

    kind = raw_kind(plan, recording)
    if code_shape(kind) == code_shape(raw_kind(plan, None)):
        return modules
    return generate_modules(plan, package, kind)


def _package_files(nb: "Notebook", plan: "Plan", package: str, modules: list,
                   recording: Optional["Recording"], notebook_dir: str
                   ) -> tuple[dict[str, str], tuple[str, ...]]:
    """Every file of the package (the manifest included) and what it cannot prove;
    ``notebook_dir``: the notebook's folder relative to the output (the tests' data)."""
    # pylint: disable=import-outside-toplevel
    from . import generate
    from .package.envspec import environment, local_versions

    if recording is not None:
        versions, python = recording.versions, recording.python
    else:
        versions, python = local_versions(generate.import_names(modules)), None
    env = environment(versions, plan.requirements, python)
    files = {m.path: m.text for m in modules}
    files.update(generate.support_files(plan, package, modules, env, recording))
    gaps = generate.not_proven(plan, recording)
    files[MANIFEST] = _manifest(nb, plan, package, modules, files, notebook_dir=notebook_dir,
                                recording=recording, not_proven=gaps)
    return files, gaps


def check(notebook: PathLike, out: Optional[PathLike] = None) -> CheckStatus:
    """Compare a generated directory with its notebook (for CI and pre-commit)."""
    from .notebook import read_notebook  # pylint: disable=import-outside-toplevel

    nb = read_notebook(notebook)
    out_dir = Path(out) if out is not None else default_out(notebook)
    recover_interrupted_swap(out_dir)  # a swap killed half done: the old tree comes back
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise StaleOutputError(
            f"{out_dir} has no {MANIFEST}: it was never productionized from {nb.path}"
        )
    stale = []
    if manifest.get("notebook_sha256") != nb.sha256:
        stale.append("the notebook changed since the package was generated")
    if manifest.get("tool_version") != __version__:
        stale.append(f"generated by jupyter-mlops {manifest.get('tool_version')}, "
                     f"this is {__version__}")
    return CheckStatus(nb.path, str(out_dir), tuple(stale),
                       tuple(edited_files(out_dir, manifest)),
                       tuple(missing_files(out_dir, manifest)))
