"""pylint and the generated tests of a staged package, each started as soon as what it reads
exists.

The generated modules do not depend on the recording (see ``generate``), so pylint runs on
them while the notebook records. The tests do need the recording, but a standby pytest
process imports pytest and the libraries the package imports meanwhile, and runs the whole
generated suite once every file is written (the import test imports the package's modules
afresh in it, without paying for a new interpreter's library imports). Nothing is
skipped or cut short: pylint reports on every module the notebook's code went into (run
again if the recording changed one), and every generated test runs, into one JUnit report.
The modules written from templates alone (the server, the ONNX runner, the state loader) are
jupyter-mlops' own code, the same for every notebook: its test suite lints them, with the
generated ``.pylintrc``, on the bundled examples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from ..package.writer import write_files
from .lint import LintReport, PylintRun
from .testing import PytestStandby, SuiteReport, Tally

if TYPE_CHECKING:
    from ..generate import Module
    from ..notebook import Notebook

LINT_REPORT = "reports/lint.json"
TEST_REPORT = "reports/tests.xml"
PYLINTRC = ".pylintrc"


class PackageChecks:
    """The checks of one staged package: :meth:`start` when the modules exist, :meth:`finish`
    when every file does; :meth:`close` stops whatever still runs (on any failure)."""

    def __init__(self, staged: Path, package: str, nb: "Notebook",
                 say: Callable[[str], None], lint: bool = True) -> None:
        self.staged, self.package, self.nb, self.say, self.lint = staged, package, nb, say, lint
        self._written: dict[str, str] = {}
        self._pylint: Optional[PylintRun] = None
        self._linted: dict[str, str] = {}
        self._tests: Optional[PytestStandby] = None

    def __enter__(self) -> "PackageChecks":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self, modules: list["Module"], pylintrc: str, preload: tuple[str, ...]) -> None:
        """Write the modules and start pylint on them, and the standby pytest process."""
        self._write({PYLINTRC: pylintrc, **{m.path: m.text for m in modules}})
        if self.lint:
            self._start_pylint(modules)
        self._tests = PytestStandby(self.staged, preload)

    def _start_pylint(self, modules: list["Module"]) -> None:
        self._linted = {m.path: m.text for m in modules}
        # The modules the notebook gave; the templates (the server, the ONNX runner) are the
        # same for every notebook and linted by jupyter-mlops' own CI.
        mine = [m for m in modules if not m.from_template]
        run = PylintRun(self.staged, self.package, self.nb,
                        {m.path: m.line_map for m in mine}, tuple(m.path for m in mine))
        self.say(f"pylint: these {len(mine)} generated modules were linted before with the "
                 "same tools and libraries; reusing that report" if run.cached
                 else f"running pylint on the {len(mine)} modules generated from the notebook")
        self._pylint = run
        run.when_done(lambda report: self.say(f"pylint done: {report.score:.2f}/10"))

    def _write(self, files: dict[str, str]) -> None:
        """Write what is new or changed; a file pylint may be reading is never rewritten
        with the same text (a reader would see it truncated)."""
        changed = {rel: text for rel, text in files.items() if self._written.get(rel) != text}
        write_files(self.staged, changed)
        self._written.update(changed)

    def finish(self, modules: list["Module"], files: dict[str, str]
               ) -> tuple[Optional[LintReport], SuiteReport]:
        """Write ``files`` (the modules among them), run the tests, and report both checks
        into ``reports/``: pylint again first if the final modules are not what it read."""
        final = {m.path: m.text for m in modules}
        relint = self.lint and final != self._linted
        if relint and self._pylint is not None:
            self._pylint.cancel()
        self._write(files)
        (self.staged / "reports").mkdir(exist_ok=True)
        if relint:
            self._start_pylint(modules)
        tests = self._run_tests()
        if self._pylint is None:
            return None, tests
        report = self._pylint.report()
        (self.staged / LINT_REPORT).write_text(
            json.dumps(report.to_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return report, tests

    def _run_tests(self) -> SuiteReport:
        """The generated tests, in the standby process that has their libraries loaded."""
        assert self._tests is not None, "start() comes first"
        self.say("running the generated tests")
        self._tests.go(self.staged / TEST_REPORT, ("tests",))
        return self._tests.wait(Tally(lambda message: self.say(f"generated {message} done")))

    def close(self) -> None:
        """Stop pylint and the standby processes if they still run, and reap them."""
        if self._pylint is not None:
            self._pylint.cancel()
        if self._tests is not None:
            self._tests.close()
