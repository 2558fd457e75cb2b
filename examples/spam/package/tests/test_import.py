"""Importing the generated modules has no side effects: no output, no files."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ['common', 'data', 'featurize', 'evaluate', 'state', 'train', 'score', 'serve', 'onnx_model']


def test_import_has_no_side_effects(tmp_path):
    code = "; ".join(f"import spam.{name}" for name in MODULES)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert not list(tmp_path.iterdir())
