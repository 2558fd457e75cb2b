"""Run pylint on a generated package; map every finding to its notebook cell and line."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ..errors import CheckFailed
from ..processes import bound_to_parent

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


def run_pylint(root: Path, package: str, nb: "Notebook",
               line_maps: dict[str, dict[int, tuple[int, int]]]) -> LintReport:
    """pylint with the package's own ``.pylintrc``, run from ``root``."""
    command = bound_to_parent([sys.executable, "-m", "pylint", "--rcfile", ".pylintrc",
                               "--output-format=json2", "--persistent=n", package])
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise CheckFailed(f"pylint did not run: {result.stderr.strip()[-500:]}") from None
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
