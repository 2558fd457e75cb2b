"""pytest runs forked from one warm process: the corpus proves ~45 packages, and a fresh
interpreter for each would import pytest, pandas and scikit-learn again (about 3 s of CPU
every time). ``python -m tests.corpus.forked_pytest`` imports them once, then reads one JSON
request per line (``{"root", "args", "env"}``), runs ``pytest.main(args)`` in a forked child
in ``root`` with ``env``, and answers with its exit code. A child begins from this process as
it was after the imports, so no test sees another's package, modules or state.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

#: What the generated packages of the corpus import, loaded before the first fork.
PRELOAD = ("pytest", "numpy", "pandas", "scipy.sparse", "sklearn.base", "sklearn.pipeline",
           "sklearn.linear_model", "sklearn.ensemble", "sklearn.preprocessing",
           "sklearn.model_selection", "sklearn.metrics", "sklearn.feature_extraction.text",
           "sklearn.impute", "sklearn.neighbors", "sklearn.svm", "sklearn.naive_bayes",
           "sklearn.decomposition", "lightgbm", "xgboost", "statsmodels.api")


def _child(request: dict) -> None:
    """In the forked child: run pytest as asked, output to ``log``, and exit with its code."""
    import pytest  # pylint: disable=import-outside-toplevel  # loaded already: a lookup

    code = 3
    try:
        os.chdir(request["root"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path.insert(0, request["root"])
        with open(request["log"], "wb") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        code = int(pytest.main(request["args"]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # no atexit handlers or finalizers of the parent's state


def main() -> int:
    """Preload, then serve requests from stdin until it closes."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # a test that needs it reports that, with its traceback
    out = sys.stdout
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
