"""A pytest process started before its tests exist (see ``testing.PytestStandby``).

``python -m jupyter_mlops.quality.standby MODULE...`` imports pytest and the modules named
(the libraries a generated package imports: pandas, scikit-learn, ... take seconds), then
waits for one line on stdin, pytest's arguments as a JSON list, and runs pytest with them. The
tests themselves, the package and its conftest are imported by pytest as usual, only then.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> int:
    """Preload, wait for the arguments, run pytest; 0 without arguments (nothing to run)."""
    import pytest  # pylint: disable=import-outside-toplevel  # the point: import it early

    for name in sys.argv[1:] if argv is None else argv:
        try:
            importlib.import_module(name)
        except Exception:  # pylint: disable=broad-exception-caught
            continue  # the test that imports it reports the error, with its traceback
    line = sys.stdin.readline()
    if not line:  # the caller closed stdin: it stopped before the tests (a failure)
        return 0
    return int(pytest.main(json.loads(line)))


if __name__ == "__main__":
    sys.exit(main())
