"""A churn project (git repo, notebook, data) with two recorded runs and registered versions,
built once per module: registering productionizes and trains, which takes a while."""

import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.store import RunStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn"


def git(root: Path, *argv: str) -> None:
    """Run git quietly in ``root``."""
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *argv],
                   cwd=root, check=True, capture_output=True)


def trained_package(root: Path, model_dir: Optional[Path] = None) -> Path:
    """The committed churn package copied to ``root/package``, its data beside it, with a
    model trained into ``model_dir`` (default: the package's ``outputs/``)."""
    from jupyter_mlops.registry import serving  # pylint: disable=import-outside-toplevel

    shutil.copy(EXAMPLE / "customers.csv", root / "customers.csv")
    shutil.copytree(EXAMPLE / "package", root / "package")
    serving.ensure_model(serving.resolve(None, str(root / "package")),
                         model_dir or root / "package" / "outputs")
    return root / "package"


def cli(*argv: str) -> int:
    """``jupyter mlops ARGV`` in this process; its exit code."""
    return main(list(argv))


def _project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("churn") / "project"
    root.mkdir()
    for name in ("churn.ipynb", "customers.csv"):
        shutil.copy(EXAMPLE / name, root / name)
    (root / ".gitignore").write_text(".mlops/\nbuild/\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "churn")
    return root


@pytest.fixture(scope="module")
def churn_project(tmp_path_factory) -> Path:
    """A copy of the churn example as its own git repository (no runs yet)."""
    return _project(tmp_path_factory)


@pytest.fixture(scope="session")
def registered_project(tmp_path_factory) -> Path:
    """The churn project of ``registered``, productionized into ``build/churn`` as README's
    first command leaves it (the committed package: test_examples keeps it up to date), so
    that registering lends it."""
    root = _project(tmp_path_factory)
    shutil.copytree(EXAMPLE / "package", root / "build" / "churn", ignore=shutil.ignore_patterns(
        "__pycache__", ".pytest_cache", "outputs"))
    return root


@pytest.fixture(scope="session")
def registered(registered_project):
    """churn:1 (C=1.0, in production) and churn:2 (C=0.05), each from its own run; built
    once per test process (test_convert and then test_lifecycle use it, on one xdist
    worker: see ``SAME_WORKER``)."""
    mp = pytest.MonkeyPatch()
    mp.chdir(registered_project)
    mp.delenv("JUPYTER_MLOPS_HOME", raising=False)
    mp.setenv("JUPYTER_MLOPS_ACTOR", "tester")
    try:
        assert cli("run", "churn.ipynb") == 0
        assert cli("register", "latest", "--name", "churn") == 0
        assert cli("validate", "churn", "1") == 0
        assert cli("promote", "churn", "1", "production") == 0
        assert cli("run", "churn.ipynb", "-p", "C", "0.05") == 0
        assert cli("register", "latest", "--name", "churn") == 0
        yield RunStore(registered_project / ".mlops")
    finally:
        mp.undo()
