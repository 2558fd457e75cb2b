"""Run the generated pytest suite; keep a JUnit XML without timings so output stays stable."""

from __future__ import annotations

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


def run_pytest(root: Path, junit: Path, timeout: int = 1800,
               paths: tuple[str, ...] = ("tests",),
               progress: Optional[Callable[[str], None]] = None) -> SuiteReport:
    """pytest on ``root/tests`` (or ``paths`` in it) in a subprocess, JUnit XML to ``junit``;
    ``progress`` hears ``tests 3/19`` as each test ends."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    env.pop("PYTEST_ADDOPTS", None)
    plugins = [arg for plugin in UNUSED_PLUGINS for arg in ("-p", plugin)]
    # -v: one line per test as it ends, which is what progress counts
    command = [sys.executable, "-m", "pytest", "-v", *plugins,
               f"--junitxml={junit}", "-o", "junit_family=xunit2", *paths]
    with subprocess.Popen(bound_to_parent(command), cwd=root, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _follow(proc.stdout, progress)
        finally:
            timer.cancel()
            proc.wait()
    if not junit.exists():
        return SuiteReport(0, 0, 1, 0, (CaseResult("pytest", "error", "pytest did not run"),))
    _normalise(junit)
    return read_junit(junit)


def _follow(lines: IO[str], progress: Optional[Callable[[str], None]]) -> None:
    """Read pytest's verbose output to its end, reporting each finished test."""
    total, done = None, 0
    for line in lines:
        collected = COLLECTED.search(line)
        if collected:
            total = int(collected.group(1))
        elif OUTCOME.search(line):
            done += 1
            if progress is not None:
                progress(f"tests {done}/{total or '?'}")
