"""One warm pytest process per test process for the corpus's proof runs (see
``forked_pytest``)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlops.quality import testing

ROOT = Path(__file__).resolve().parents[2]


class ForkedPytest:
    """``run(root, junit, paths)``: the generated tests in ``root`` run by a child forked from
    the warm process, as :func:`jupyter_mlops.quality.testing.run_pytest` would run them."""

    def __init__(self) -> None:
        # pylint: disable-next=consider-using-with  # closed by close()
        self._proc = subprocess.Popen([sys.executable, "-m", "tests.corpus.forked_pytest"],
                                      cwd=ROOT, text=True, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE)
        assert json.loads(self._proc.stdout.readline()) == {"ready": True}

    def run(self, root: Path, junit: Path, paths: tuple) -> testing.SuiteReport:
        """pytest on ``paths`` in ``root``; the JUnit report (an error case if none)."""
        junit.parent.mkdir(parents=True, exist_ok=True)
        log = junit.with_suffix(".log")
        request = {"root": str(root), "log": str(log), "env": testing._environment(),  # pylint: disable=protected-access
                   "args": testing._arguments(junit, paths)}  # pylint: disable=protected-access
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        json.loads(self._proc.stdout.readline())
        if not junit.exists():
            return testing.SuiteReport(0, 0, 1, 0, (testing.CaseResult(
                "pytest", "error", log.read_text(errors="replace")[-2000:]),))
        return testing.read_junit(junit)

    def close(self) -> None:
        """End the warm process."""
        self._proc.stdin.close()
        self._proc.wait(timeout=60)
        self._proc.stdout.close()


@pytest.fixture(scope="session")
def forked_pytest():
    """The warm pytest process of this test process."""
    runner = ForkedPytest()
    yield runner
    runner.close()
