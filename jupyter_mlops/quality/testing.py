"""Run the generated pytest suite; keep a JUnit XML without timings so output stays stable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Callable, Optional

from ..processes import bound_to_parent

VOLATILE = ("time", "timestamp", "hostname")
#: pytest -v lines: "collected 19 items" and "tests/test_x.py::test_y PASSED   [ 5%]".
COLLECTED = re.compile(r"\bcollected (\d+) items?")
OUTCOME = re.compile(r"::\S+ (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")
#: pytest plugins the generated tests never use, which other tools install and pytest loads
#: at every start: hypothesis's alone imports for ~1.5 s of CPU. A plugin not installed is
#: simply not there to block.
UNUSED_PLUGINS = ("no:cacheprovider", "no:benchmark", "no:hypothesispytest", "no:xdist",
                  "no:anyio")


@dataclass(frozen=True)
class CaseResult:
    """One generated test's outcome."""

    name: str
    outcome: str  # passed, failed, error, skipped
    message: str


@dataclass(frozen=True)
class SuiteReport:
    """Counts and cases of one pytest run."""

    passed: int
    failed: int
    errors: int
    skipped: int
    cases: tuple[CaseResult, ...]

    @property
    def ok(self) -> bool:
        """True when nothing failed and something ran."""
        return self.failed == 0 and self.errors == 0 and self.passed > 0

    def to_dict(self) -> dict:
        """JSON form."""
        return {"passed": self.passed, "failed": self.failed, "errors": self.errors,
                "skipped": self.skipped, "cases": [asdict(c) for c in self.cases]}


def _normalise(junit: Path) -> None:
    tree = ET.parse(junit)
    for element in tree.iter():
        for key in VOLATILE:
            element.attrib.pop(key, None)
    tree.write(junit, encoding="utf-8", xml_declaration=True)


def read_junit(junit: Path) -> SuiteReport:
    """Parse a JUnit XML file into a report."""
    cases = []
    for case in ET.parse(junit).iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            child = case.find(kind)
            if child is not None:
                outcome = {"failure": "failed", "error": "error"}.get(kind, kind)
                message = child.get("message", "") or (child.text or "")[:500]
                break
        name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        cases.append(CaseResult(name, outcome, message))
    count = {o: sum(c.outcome == o for c in cases) for o in ("passed", "failed", "error",
                                                               "skipped")}
    return SuiteReport(count["passed"], count["failed"], count["error"], count["skipped"],
                      tuple(cases))


def _environment() -> dict:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _arguments(junit: Path, paths: tuple[str, ...]) -> list[str]:
    plugins = [arg for plugin in UNUSED_PLUGINS for arg in ("-p", plugin)]
    # -v: one line per test as it ends, which is what progress counts
    return ["-v", *plugins, f"--junitxml={junit}", "-o", "junit_family=xunit2", *paths]


class Tally:
    """Tests ended out of those collected in one pytest run: ``progress`` hears ``tests
    3/19`` as each test ends."""

    def __init__(self, progress: Optional[Callable[[str], None]]) -> None:
        self._progress = progress
        self._total: Optional[int] = None
        self._ended = 0

    def collected(self, count: int) -> None:
        """The run collected ``count`` tests."""
        self._total = count

    def ended(self) -> None:
        """One test ended."""
        self._ended += 1
        if self._progress is not None and self._total is not None:
            self._progress(f"tests {self._ended}/{self._total}")


class PytestStandby:
    """A pytest process started before its tests exist (``python -m
    jupyter_mlops.quality.standby``): it imports pytest and ``preload`` (the libraries the
    package imports) while the caller still writes the tests, and runs them on :meth:`go`.
    Started from the caller's thread, which must outlive it (see ``bound_to_parent``)."""

    def __init__(self, root: Path, preload: tuple[str, ...] = ()) -> None:
        self.root = root
        self.junit: Optional[Path] = None
        command = [sys.executable, "-m", "jupyter_mlops.quality.standby", *preload]
        # pylint: disable-next=consider-using-with  # ended by wait() or close()
        self._proc = subprocess.Popen(bound_to_parent(command), cwd=root, env=_environment(),
                                      text=True, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def go(self, junit: Path, paths: tuple[str, ...] = ("tests",)) -> None:
        """Run pytest on ``paths`` (under ``root``) now, JUnit XML to ``junit``."""
        self.junit = junit
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(_arguments(junit, paths)) + "\n")
            self._proc.stdin.close()
        except BrokenPipeError:
            pass  # it died while importing: there is no JUnit file, reported by wait()

    def wait(self, tally: Tally, timeout: int = 1800) -> SuiteReport:
        """Follow its output to the end (killed after ``timeout`` seconds); its report."""
        timer = threading.Timer(timeout, self._proc.kill)
        timer.start()
        try:
            _follow(self._proc.stdout, tally)
        finally:
            timer.cancel()
            self._proc.wait()
        if self.junit is None or not self.junit.exists():
            return SuiteReport(0, 0, 1, 0, (CaseResult("pytest", "error", "pytest did not run"),))
        _normalise(self.junit)
        return read_junit(self.junit)

    def close(self) -> None:
        """Stop it if its tests never ran (productionize failed first) and reap it."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()


def run_pytest(root: Path, junit: Path, timeout: int = 1800,
               paths: tuple[str, ...] = ("tests",),
               progress: Optional[Callable[[str], None]] = None) -> SuiteReport:
    """pytest on ``root/tests`` (or ``paths`` in it) in a subprocess, JUnit XML to ``junit``;
    ``progress`` hears ``tests 3/19`` as each test ends."""
    standby = PytestStandby(root)
    try:
        standby.go(junit, paths)
        return standby.wait(Tally(progress), timeout)
    finally:
        standby.close()


def _follow(lines: IO[str], tally: Tally) -> None:
    """Read pytest's verbose output to its end, telling ``tally`` of the collection and of
    each test as it ends."""
    for line in lines:
        collected = COLLECTED.search(line)
        if collected:
            tally.collected(int(collected.group(1)))
        elif OUTCOME.search(line):
            tally.ended()
