"""Copies of the bundled examples (notebook, data and the committed, up-to-date package), so
``pipeline`` reuses the package as productionize cached it instead of generating it again."""

import shutil
from pathlib import Path
from typing import Callable

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy_example(name: str, root: Path) -> Path:
    """``root/NAME`` with the example's files; the notebook's path."""
    shutil.copytree(EXAMPLES / name, root / name,
                    ignore=shutil.ignore_patterns("__pycache__", ".mlops", "build"))
    return root / name / f"{name}.ipynb"


@pytest.fixture
def example(tmp_path: Path, monkeypatch) -> Callable[[str], Path]:
    """Factory: ``example("churn")`` copies it into tmp_path, with its own run store."""
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)

    def make(name: str) -> Path:
        return copy_example(name, tmp_path)

    return make
