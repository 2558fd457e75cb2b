"""pylint's answer is kept by what it depends on: the same code linted again is answered from
the cache with the report a real run gives; any change to the code, the rcfile or the
installed libraries is a real run again; a damaged cache is a miss, never an error."""

import json

import pytest

from jupyter_mlops.quality import lint_cache
from jupyter_mlops.quality.lint import PylintRun

pytestmark = pytest.mark.slow  # real pylint processes

RCFILE = "[MAIN]\nfail-under=9.0\n[MESSAGES CONTROL]\ndisable=missing-module-docstring\n"
MODULE = "def total(values):\n    \"\"\"Sum.\"\"\"\n    unused = 3\n    return sum(values)\n"


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A tiny package with one finding, and a cache of this test's own."""
    monkeypatch.setenv("JUPYTER_MLOPS_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "staged"
    (root / "pkg").mkdir(parents=True)
    (root / ".pylintrc").write_text(RCFILE)
    (root / "pkg" / "__init__.py").write_text('"""Package."""\n')
    (root / "pkg" / "mod.py").write_text(MODULE)
    return root


def _lint(root):
    run = PylintRun(root, "pkg", None, {})
    return run.cached, run.report()


def test_the_same_code_is_answered_from_the_cache_with_a_real_runs_report(package):
    cached, first = _lint(package)
    assert not cached
    assert [f.symbol for f in first.findings] == ["unused-variable"]
    cached, again = _lint(package)
    assert cached and again == first
    kept = json.loads(next(lint_cache.cache_dir().glob("*.json")).read_text())
    assert str(package) not in json.dumps(kept)  # relative paths only: no machine's folders


@pytest.mark.parametrize("change", ["module", "new module", "rcfile", "libraries"])
def test_a_change_to_what_pylint_reads_is_a_real_run(package, monkeypatch, change):
    _lint(package)
    if change == "module":
        (package / "pkg" / "mod.py").write_text(MODULE.replace("    unused = 3\n", ""))
    elif change == "new module":
        (package / "pkg" / "extra.py").write_text("import os\n")
    elif change == "rcfile":
        (package / ".pylintrc").write_text(RCFILE.replace("9.0", "8.0"))
    else:  # a library installed or upgraded changes its folder's mtime
        key = lint_cache.installed_key()
        monkeypatch.setattr(lint_cache, "installed_key", lambda: [*key, ["site", 1]])
    cached, report = _lint(package)
    assert not cached
    if change == "module":
        assert report.findings == ()
    if change == "new module":
        assert "unused-import" in {f.symbol for f in report.findings}


def test_a_damaged_cache_is_a_miss_and_is_replaced(package):
    _lint(package)
    entry = next(lint_cache.cache_dir().glob("*.json"))
    entry.write_text("{not json")
    cached, report = _lint(package)
    assert not cached and [f.symbol for f in report.findings] == ["unused-variable"]
    assert json.loads(entry.read_text())["messages"]


def test_only_the_most_recently_used_answers_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_CACHE", str(tmp_path))
    monkeypatch.setattr(lint_cache, "KEEP", 3)
    for number in range(5):
        lint_cache.keep_answer(f"{number:064x}", {"messages": [], "statistics": {"score": 10}})
    kept = sorted(p.stem for p in lint_cache.cache_dir().glob("*.json"))
    assert len(kept) == 3 and f"{4:064x}" in kept
