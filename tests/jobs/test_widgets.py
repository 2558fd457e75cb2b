"""The ipywidgets launcher: a form from the parameters cell, progress bars, metrics table."""

import pytest

from jupyter_mlops.widgets import JobLauncher

pytestmark = pytest.mark.slow


def test_launcher_runs_a_sweep_with_a_bar_per_run(project):
    launcher = JobLauncher(project / "job.ipynb", workers=2)
    assert list(launcher.fields) == ["epochs", "lr", "label"]
    assert launcher.fields["epochs"].value == "3" and launcher.fields["label"].value == "base"
    launcher.fields["epochs"].value = "2,4"
    launcher.start(wait=True)
    assert launcher.message.value == ""
    bars = [box.children[0] for box in launcher.runs_box.children]
    assert len(bars) == 2 and all(b.value == b.max > 0 for b in bars)
    assert {r.status for r in launcher.runs} == {"succeeded"}
    # only the changed field is passed: the runs record their overrides, not the defaults
    assert sorted(r.parameters["epochs"] for r in launcher.runs) == [2, 4]
    assert all(list(r.parameters) == ["epochs"] for r in launcher.runs)
    assert "<th>loss</th>" in launcher.table.value and launcher.table.value.count("<tr>") == 3
    assert not launcher.button.disabled


def test_launcher_shows_bad_values_as_an_error(project):
    launcher = JobLauncher(project / "job.ipynb")
    launcher.fields["epochs"].value = "ten"
    launcher.start(wait=True)
    assert "expects an int" in launcher.message.value and not launcher.runs
