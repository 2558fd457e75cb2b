"""Shared fixtures: notebooks written the way people write them, built cell by cell."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Sequence, Union

import nbformat
import pytest

# pytest only honours pytest_plugins in the top-level conftest; the server tests use it.
pytest_plugins = ["pytest_jupyter.jupyter_server"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

CellSpec = Union[str, tuple]

#: Test files that share a session fixture too costly to build twice (the registered churn
#: project; the MLflow server) run on one xdist worker, the second after the first.
SAME_WORKER = {
    "tests/registry/test_lifecycle.py": "tests/registry/test_convert.py",
    "tests/registry/test_mlflow_registry.py": "tests/jobs/test_mlflow.py",
}

#: The files that take longest (kernels, servers, browsers, full productionize runs), measured
#: with --durations: they start first, so that no worker begins one of them while the others
#: run out of work.
LONGEST_FIRST = (
    "tests/ui/test_lab.py", "tests/test_productionize.py", "tests/registry/test_convert.py",
    "tests/registry/test_lifecycle.py", "tests/registry/test_serving.py",
    "tests/test_examples.py", "tests/ui/test_notebook7.py", "tests/ui/test_pipeline_ui.py",
    "tests/pipelines/test_local.py", "tests/jobs/test_sweep.py",
    "tests/corpus/test_native_models.py", "tests/corpus/test_trained_state.py",
    "tests/jobs/test_mlflow.py", "tests/registry/test_mlflow_registry.py",
    "tests/corpus/test_roles_interleave.py", "tests/jobs/test_run.py",
)


def pytest_collection_modifyitems(items):
    """Files in ``LONGEST_FIRST`` order, then the rest as collected (each file's tests keep
    their order)."""
    rank = {path: number for number, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


if importlib.util.find_spec("xdist") is not None:  # a hook pytest knows only with xdist

    def pytest_xdist_make_scheduler(config, log):
        """``--dist loadfile`` with the files of ``SAME_WORKER`` as one unit each, handed
        out in collection order (``LONGEST_FIRST``), not by their number of tests."""
        if config.getoption("dist") != "loadfile":
            return None
        from xdist.scheduler import LoadFileScheduling  # pylint: disable=C0415

        config.option.loadscopereorder = False

        class _Scheduler(LoadFileScheduling):
            def _split_scope(self, nodeid: str) -> str:
                scope = super()._split_scope(nodeid)
                return SAME_WORKER.get(scope, scope)

        return _Scheduler(config, log)


#: SIGINT and SIGTERM as this test process began with them (Python's defaults).
_STARTING_HANDLERS = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """Each test ends with SIGINT and SIGTERM handled as the process began: a Jupyter server
    or a kernel manager started in this process (by a fixture of any scope) takes them over,
    and a later test of Ctrl-C (the CLI installs its handler only over Python's default)
    would then depend on which file ran before it in the same worker."""
    yield
    for sig, handler in _STARTING_HANDLERS.items():
        if handler is not None and signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)


@pytest.fixture(scope="session", autouse=True)
def _lint_cache(tmp_path_factory):
    """One pylint cache for this test run, shared by its xdist workers and the processes
    they start (never the user's own, and never one left by an earlier run): the first
    lint of each package's code in the run is a real pylint run."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    kept = os.environ.get("JUPYTER_MLOPS_CACHE")
    os.environ["JUPYTER_MLOPS_CACHE"] = str(base / "mlops-cache")
    yield
    if kept is None:
        os.environ.pop("JUPYTER_MLOPS_CACHE", None)
    else:
        os.environ["JUPYTER_MLOPS_CACHE"] = kept


def write_notebook(path: Path, cells: Sequence[CellSpec], kernel: bool = True) -> Path:
    """Write a notebook; each cell is source or (role-or-tags, source) or ("md", text)."""
    nb = nbformat.v4.new_notebook()
    if kernel:
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
    for number, spec in enumerate(cells, start=1):
        tags, source = (None, spec) if isinstance(spec, str) else spec
        if tags == "md":
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
            if isinstance(tags, str):
                tags = [tags if tags == "parameters" else f"mlops:{tags}"]
            if tags:
                cell.metadata["tags"] = list(tags)
        cell.id = f"c{number}"
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebook(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``notebook(cells, name="nb.ipynb")`` writes a notebook in tmp_path."""

    def make(cells: Sequence[CellSpec], name: str = "analysis.ipynb", **kw) -> Path:
        return write_notebook(tmp_path / name, cells, **kw)

    return make


# A small but messy classification notebook: helpers in cells, df mutated in place, plots,
# magics, exploration left untagged. Used by the engine tests and the slow end-to-end ones.
MESSY = [
    ("setup", "%matplotlib inline\nimport pandas as pd\nimport numpy as np\n"
              "import matplotlib.pyplot as plt\nfrom sklearn.datasets import load_breast_cancer\n"
              "from sklearn.linear_model import LogisticRegression\n"
              "from sklearn.model_selection import train_test_split\n"
              "from sklearn.metrics import accuracy_score, f1_score\n\nSEED = 0\n\n\n"
              "def add_ratio(frame, num, den, name):\n"
              '    """Add num/den as a new column."""\n'
              "    frame[name] = frame[num] / frame[den]\n"),
    ("parameters", "test_size = 0.3\nC = 0.5\n"),
    ("md", "## Data"),
    ("data", "raw = load_breast_cancer(as_frame=True)\ndf = raw.frame\ndf.head()"),
    (None, "df.describe()"),
    ("skip", "fig, ax = plt.subplots()\nax.hist(df['mean radius'])\nplt.show()"),
    ("featurization", "add_ratio(df, 'mean area', 'mean perimeter', 'area_per_perimeter')\n"
                      "df['large'] = (df['mean radius'] > 15).astype(int)\n"
                      "FEATURES = [c for c in df.columns if c != 'target']\n"
                      "X = df[FEATURES]\ny = df['target']\nX.shape"),
    ("training", "X_train, X_test, y_train, y_test = train_test_split(\n"
                 "    X, y, test_size=test_size, random_state=SEED)\n"
                 "candidates = {}\nfor c in [C, C * 2]:\n"
                 "    candidates[c] = LogisticRegression(C=c, max_iter=5000).fit(X_train, y_train)\n"
                 "model = candidates[C]"),
    ("evaluation", "predictions = model.predict(X_test)\n"
                   "metrics = {'accuracy': accuracy_score(y_test, predictions),\n"
                   "           'f1': f1_score(y_test, predictions)}\nmetrics"),
    (None, "plt.bar(list(metrics), list(metrics.values()))"),
]


@pytest.fixture(scope="session")
def messy_unrecorded(tmp_path_factory):
    """MESSY productionized once per test session (per xdist worker): no recording run, with
    pylint and the generated tests. Tests take a private copy (``messy_copy``)."""
    from jupyter_mlops.productionize import productionize  # pylint: disable=C0415

    root = tmp_path_factory.mktemp("messy-unrecorded")
    nb = write_notebook(root / "analysis.ipynb", MESSY)
    return root, productionize(nb, root / "out", execute=False)


@pytest.fixture
def messy_copy(messy_unrecorded, tmp_path):
    """``tmp_path/analysis.ipynb`` and its package ``tmp_path/out``, copied byte for byte from
    the session's build (so productionize sees it as its own, cached, output)."""
    root, _ = messy_unrecorded
    shutil.copy2(root / "analysis.ipynb", tmp_path / "analysis.ipynb")
    shutil.copytree(root / "out", tmp_path / "out", symlinks=True)
    return tmp_path / "analysis.ipynb", tmp_path / "out"


@contextlib.contextmanager
def imported_from(folder: Path):
    """``folder`` on sys.path for the block; afterwards the modules imported from it are
    forgotten too, or a later test's ``find_spec`` (productionize's non-shadowing package name)
    would still see them."""
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", None) or "").startswith(str(folder)):
                del sys.modules[name]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server (SQLite store) on 127.0.0.1, one per test process (the
    files that use it run on one xdist worker: ``SAME_WORKER``); yields its port."""
    pytest.importorskip("mlflow")
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        # MLflow's job runner (eight more interpreters polling a queue) serves no route we use
        env=dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
        stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "wb"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("mlflow server did not start: "
                            + (root / "server.log").read_text()[-2000:])
            time.sleep(1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
