"""Run pylint on a generated package; map every finding to its notebook cell and line."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from ..errors import CheckFailed
from ..processes import bound_to_parent
from .lint_cache import cached_answer, keep_answer, lint_key

if TYPE_CHECKING:
    from ..notebook import Notebook


@dataclass(frozen=True)
class LintFinding:
    """One pylint message, located both in the generated file and in the notebook."""

    path: str
    line: int
    message_id: str
    symbol: str
    message: str
    cell_number: Optional[int]
    cell_id: Optional[str]
    cell_line: Optional[int]

    def describe(self, notebook_name: str) -> str:
        """``churn.ipynb cell 7 line 3: W0612 unused variable 'x'`` (or the file when no cell)."""
        if self.cell_number is not None:
            where = f"{notebook_name} cell {self.cell_number} line {self.cell_line}"
        else:
            where = f"{self.path}:{self.line}"
        return f"{where}: {self.message_id} {self.message} ({self.symbol})"


@dataclass(frozen=True)
class LintReport:
    """pylint's score, the rcfile's threshold and the findings."""

    score: float
    fail_under: float
    findings: tuple[LintFinding, ...]

    @property
    def ok(self) -> bool:
        """True when the score reaches the threshold."""
        return self.score >= self.fail_under

    def to_dict(self) -> dict:
        """JSON form, as written to ``reports/lint.json``."""
        return {"score": self.score, "fail_under": self.fail_under,
                "findings": [asdict(f) for f in self.findings]}

    @classmethod
    def from_dict(cls, data: dict) -> "LintReport":
        """Read back ``reports/lint.json``."""
        return cls(data["score"], data["fail_under"],
                   tuple(LintFinding(**f) for f in data["findings"]))


def _fail_under(rcfile: Path) -> float:
    for line in rcfile.read_text(encoding="utf-8").splitlines():
        if line.replace(" ", "").startswith("fail-under="):
            return float(line.split("=", 1)[1])
    return 10.0


class PylintRun:
    """pylint with the package's own ``.pylintrc`` on ``targets`` (files under
    ``root/package``; default: the whole package), started now in a subprocess (from the
    caller's thread, which must outlive it: see ``bound_to_parent``), unless the same files
    were linted before with the same tools and libraries (then the kept answer is the report,
    and :attr:`cached` is true); :meth:`report` waits for it."""

    def __init__(self, root: Path, package: str, nb: "Notebook",
                 line_maps: dict[str, dict[int, tuple[int, int]]],
                 targets: Optional[tuple[str, ...]] = None) -> None:
        self.root, self.nb, self.line_maps = root, nb, line_maps
        targets = targets or (package,)
        self._key = lint_key(root, package, targets)
        kept = cached_answer(self._key)
        self._proc: Optional[subprocess.Popen] = None
        if kept is None:
            command = bound_to_parent([sys.executable, "-m", "pylint", "--rcfile", ".pylintrc",
                                       "--output-format=json2", "--persistent=n", *targets])
            # pylint: disable-next=consider-using-with  # waited for by the reading thread
            self._proc = subprocess.Popen(command, cwd=root, text=True, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
        self.cached = kept is not None
        self._cancelled = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-pylint")
        self._future = self._pool.submit(self._read, kept)
        self._pool.shutdown(wait=False)

    def when_done(self, done: Callable[[LintReport], None]) -> None:
        """``done`` hears the report as soon as pylint ends (not if it was cancelled: that
        report is not wanted), at once if it has ended already."""
        self._future.add_done_callback(lambda future: not self._cancelled and (
            future.exception() is None and done(future.result())))

    def _read(self, kept: Optional[dict]) -> LintReport:
        if kept is not None:
            return lint_report(kept, self.root, self.nb, self.line_maps)
        assert self._proc is not None
        stdout, stderr = self._proc.communicate()
        try:
            data = json.loads(stdout)
        except json.JSONDecodeError:
            raise CheckFailed(f"pylint did not run: {stderr.strip()[-500:]}") from None
        if not self._cancelled:  # a cancelled run may have read files being rewritten
            keep_answer(self._key, data)
        return lint_report(data, self.root, self.nb, self.line_maps)

    def report(self) -> LintReport:
        """The findings and score, once pylint has ended."""
        return self._future.result()

    def cancel(self) -> None:
        """Stop pylint (its modules changed, or productionize failed) and reap it."""
        self._cancelled = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        try:
            self._future.result()
        except CheckFailed:
            pass  # killed before it printed its report: nothing to read


def lint_report(data: dict, root: Path, nb: "Notebook",
                line_maps: dict[str, dict[int, tuple[int, int]]]) -> LintReport:
    """pylint's ``json2`` output as a report, each finding mapped to its notebook cell."""
    findings = []
    for msg in data.get("messages", []):
        path = msg["path"].replace("\\", "/")
        origin = line_maps.get(path, {}).get(msg["line"])
        cell = nb.cells[origin[0]] if origin else None
        findings.append(LintFinding(
            path=path, line=msg["line"], message_id=msg["messageId"], symbol=msg["symbol"],
            message=msg["message"], cell_number=cell.number if cell else None,
            cell_id=cell.cell_id if cell else None, cell_line=origin[1] if origin else None,
        ))
    findings.sort(key=lambda f: (f.path, f.line, f.message_id, f.message))
    score = float(data.get("statistics", {}).get("score", 0.0))
    return LintReport(round(score, 2), _fail_under(root / ".pylintrc"), tuple(findings))
