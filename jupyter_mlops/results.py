"""What productionize and check return: the package written and how its checks went, and
whether a generated directory still matches its notebook."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from .quality.lint import LintReport
from .quality.testing import SuiteReport


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


def skipped_tests(tests: Optional[SuiteReport]) -> tuple[str, ...]:
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
