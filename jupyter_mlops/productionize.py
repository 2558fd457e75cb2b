"""Productionize: notebook -> linted, tested package. The pipeline of small steps, in order.

read + validate -> plan (dataflow) -> [recording run in a kernel] -> generate modules ->
environment -> stage files beside the output -> pylint + pytest in the staging tree ->
reports + manifest -> swap in. A second run on an unchanged notebook returns the cached result.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import shutil
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Callable, Optional, Union

import functools
import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ._version import __version__
from .errors import StaleOutputError
from .package.writer import (MANIFEST, OutputGuard, edited_files, missing_files, read_manifest,
                             recover_interrupted_swap, sha256_text, staging_dir, swap_in,
                             write_files)
from .quality.lint import LintReport, run_pylint
from .quality.testing import SuiteReport, read_junit, run_pytest

if TYPE_CHECKING:  # the analysis stack (nbformat, black) loads only when there is work to do
    from .extract.plan import Plan
    from .notebook import Notebook

Progress = Callable[[str], None]
PathLike = Union[str, "os.PathLike[str]"]
LINT_REPORT = "reports/lint.json"
TEST_REPORT = "reports/tests.xml"
EQUIVALENCE_LEFT_OUT = (
    "test_equivalence.py (features, metrics and predictions against the notebook) and the "
    "score tests that need a recorded sample: --no-execute skipped the recording run"
)


@dataclass(frozen=True)
class ProductionizeResult:
    """What productionize wrote and how the checks went."""

    notebook: str
    out_dir: str
    package: str
    files: tuple[str, ...]
    lint: Optional[LintReport]
    tests: Optional[SuiteReport]
    environment: str
    warnings: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    cached: bool = False
    recorded: bool = False
    not_proven: tuple[str, ...] = ()  # what the generated tests do not show, and why

    @property
    def ok(self) -> bool:
        """True when lint reaches its threshold and the generated tests pass (or were skipped)."""
        return (self.lint is None or self.lint.ok) and (self.tests is None or self.tests.ok)

    @property
    def proven(self) -> bool:
        """True when every equivalence with the notebook was checked and held."""
        return self.ok and not self.not_proven

    def to_dict(self) -> dict:
        """JSON form (CLI ``--json``, server API)."""
        return {
            "notebook": self.notebook, "out_dir": self.out_dir, "package": self.package,
            "files": list(self.files),
            "lint": self.lint.to_dict() if self.lint else None,
            "tests": self.tests.to_dict() if self.tests else None,
            "environment": self.environment,
            "warnings": [_warning_dict(w) for w in self.warnings],
            "left_out": list(self.left_out), "not_proven": list(self.not_proven),
            "proven": self.proven,
            "cached": self.cached, "recorded": self.recorded, "ok": self.ok,
        }

    def summary(self) -> str:
        """Human text for the terminal."""
        name = os.path.basename(self.notebook)
        lines = [f"wrote {self.out_dir} (package {self.package}, {len(self.files)} files)"
                 + (" [unchanged, cached]" if self.cached else "")]
        if self.lint is not None:
            lines.append(f"lint: {self.lint.score:.2f}/10 (threshold {self.lint.fail_under})"
                         f"{'' if self.lint.ok else ' FAILED'}")
            lines += [f"  {f.describe(name)}" for f in self.lint.findings]
        t = self.tests
        if t is not None:
            lines.append(f"tests: {t.passed} passed, {t.failed} failed, {t.errors} errors, "
                         f"{t.skipped} skipped{'' if t.ok else ' FAILED'}")
            lines += [f"  {c.outcome.upper()} {c.name}: {(c.message or '-').splitlines()[0][:200]}"
                      for c in t.cases if c.outcome in ("failed", "error")]
        lines += [f"left out: {item}" for item in self.left_out]
        lines += [f"not proven: {item}" for item in self.not_proven]
        return "\n".join(lines)


def _warning_dict(warning) -> dict:
    """A warning as JSON: CellWarning's own form, or plain text."""
    return warning.to_dict() if hasattr(warning, "to_dict") else {
        "text": str(warning), "message": str(warning), "cell": None, "line": None}


def _skipped(tests: Optional[SuiteReport]) -> tuple[str, ...]:
    """Generated tests that skipped: equivalence the run did not check."""
    if tests is None:
        return ()
    return tuple(f"{case.name} skipped: {(case.message or '').splitlines()[0][:200]}"
                 for case in tests.cases if case.outcome == "skipped")


@dataclass(frozen=True)
class CheckStatus:
    """Whether a generated directory still matches its notebook."""

    notebook: str
    out_dir: str
    stale: tuple[str, ...] = ()
    edited: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when up to date and untouched."""
        return not (self.stale or self.edited or self.missing)

    def to_dict(self) -> dict:
        """JSON form."""
        return {"notebook": self.notebook, "out_dir": self.out_dir, "ok": self.ok,
                "stale": list(self.stale), "edited": list(self.edited),
                "missing": list(self.missing)}

    def summary(self) -> str:
        """Human text."""
        if self.ok:
            return f"{self.out_dir} is up to date with {self.notebook}"
        lines = [f"{self.out_dir} does not match {self.notebook}:"]
        lines += [f"  stale: {s}" for s in self.stale]
        lines += [f"  edited by hand: {e}" for e in self.edited]
        lines += [f"  missing: {m}" for m in self.missing]
        lines.append(f"run `jupyter mlops productionize {self.notebook} --out {self.out_dir}`")
        return "\n".join(lines)


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
    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def default_out(notebook: PathLike) -> Path:
    """``build/<notebook stem>`` in the current directory."""
    return Path("build") / Path(notebook).stem


def _manifest(nb: "Notebook", plan: "Plan", package: str, modules, files: dict[str, str],
              notebook_dir: str, execute: bool, not_proven: tuple[str, ...]) -> str:
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
        "recorded": execute,
        "model": plan.model,
        "not_proven": list(not_proven),
        "cells": cells,
        "line_map": line_map,
        "files": {rel: sha256_text(text) for rel, text in sorted(files.items())},
    }
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
    return ProductionizeResult(
        notebook=os.fspath(notebook), out_dir=str(out), package=manifest["package"],
        files=tuple(sorted(list(manifest["files"]) + [MANIFEST, LINT_REPORT, TEST_REPORT])),
        lint=lint, tests=read_junit(out / TEST_REPORT),
        environment=(out / "requirements.txt").read_text(encoding="utf-8"),
        left_out=() if execute else (EQUIVALENCE_LEFT_OUT,), cached=True, recorded=execute,
        not_proven=tuple(manifest.get("not_proven", ())) + _skipped(read_junit(out / TEST_REPORT)),
    )


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
    from . import generate
    from .extract.plan import plan_package
    from .notebook import read_notebook
    from .package.envspec import environment, local_versions

    nb = read_notebook(notebook)
    guard = OutputGuard.check(out_dir, force)
    say("analysing cells")
    plan = plan_package(nb)
    package = package_name(nb.path)
    recording = None
    modules = generate.generate_modules(plan, package, None)
    import_names = generate.import_names(modules)
    if execute:
        say("running the notebook in a kernel to record a sample")
        from .recording import record  # pylint: disable=import-outside-toplevel

        recording = record(os.fspath(notebook), nb, plan, import_names, say)
        modules = generate.generate_modules(plan, package, generate.raw_kind(plan, recording))
        versions, python = recording.versions, recording.python
    else:
        versions, python = local_versions(import_names), None
    env = environment(versions, plan.requirements, python)
    files = {m.path: m.text for m in modules}
    files.update(generate.support_files(plan, package, modules, env, recording))
    notebook_dir = os.path.relpath(Path(notebook).resolve().parent, out_dir.resolve().parent
                                   / out_dir.name).replace(os.sep, "/")
    staged = staging_dir(out_dir)
    try:
        gaps = generate.not_proven(plan, recording)
        manifest = _manifest(nb, plan, package, modules, files, notebook_dir, execute, gaps)
        write_files(staged, {**files, MANIFEST: manifest})
        lint_report, tests = (_run_checks(staged, package, nb, modules, say, lint) if checks
                              else (None, None))
        swap_in(staged, guard, set(files) | {MANIFEST})
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    left_out = () if execute else (EQUIVALENCE_LEFT_OUT,)
    if not checks:
        left_out += ("pylint and the generated tests: --no-checks",)
    elif not lint:
        left_out += ("pylint: --no-lint",)
    reports = ([LINT_REPORT] if lint else []) + [TEST_REPORT] if checks else []
    return ProductionizeResult(
        notebook=nb.path, out_dir=str(out_dir), package=package,
        files=tuple(sorted(list(files) + [MANIFEST] + reports)),
        lint=lint_report, tests=tests, environment=files["requirements.txt"],
        warnings=plan.warnings, left_out=left_out, recorded=execute,
        not_proven=gaps + _skipped(tests),
    )


def _run_checks(staged: Path, package: str, nb: "Notebook", modules, say: Progress,
                lint: bool = True) -> tuple[Optional[LintReport], SuiteReport]:
    """pylint (unless ``lint`` is off) and pytest in the staging tree; reports under
    ``reports/``. ``say`` hears each phase: pylint's start and score, tests N/M."""
    (staged / "reports").mkdir(exist_ok=True)

    def tests_done(message: str) -> None:
        say(f"generated {message} done")

    if not lint:
        say("running the generated tests")
        return None, run_pytest(staged, staged / TEST_REPORT, progress=tests_done)
    say(f"running pylint on {len(modules)} generated modules and the generated tests")
    # Both are subprocesses: running them side by side halves the wait on two cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        linting = pool.submit(run_pylint, staged, package, nb,
                              {m.path: m.line_map for m in modules})
        linting.add_done_callback(lambda done: done.exception() is None and say(
            f"pylint done: {done.result().score:.2f}/10"))
        tests = run_pytest(staged, staged / TEST_REPORT, progress=tests_done)
        report = linting.result()
    (staged / LINT_REPORT).write_text(
        json.dumps(report.to_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return report, tests


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
