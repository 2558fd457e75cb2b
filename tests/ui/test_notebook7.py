"""The ipywidgets JobLauncher in Notebook 7 (``jupyter notebook``), with our lab and server
extensions switched off so nothing but standard ipywidgets is at work: run the cell from the
UI, see one field per parameter, change one, run, watch the progress bar, read the metrics
table, and find the run recorded in the store."""

import importlib.metadata
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ..conftest import write_notebook
from .conftest import chromium_page, jupyter_app, recorded_runs
from .test_lab import CHROMIUM, EXAMPLE, FLAGS, SHOTS, _need

pytestmark = [pytest.mark.slow, pytest.mark.ui]

LAUNCHER = 'from jupyter_mlops.widgets import JobLauncher\nJobLauncher("churn.ipynb")'


def _notebook_major() -> int:
    try:
        return int(importlib.metadata.version("notebook").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return 0


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    """``jupyter notebook`` over a root holding the churn example and a one-cell notebook that
    shows the launcher; a config dir of its own disables the jupyter-mlops extensions."""
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        import playwright  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        _need(False, "playwright is not installed (pip install playwright)")
    _need(_notebook_major() >= 7, "Notebook 7 is not installed (pip install 'notebook>=7')")
    root = tmp_path_factory.mktemp("nb7")
    for name in ("churn.ipynb", "customers.csv"):
        shutil.copy(EXAMPLE / name, root / name)
    write_notebook(root / "launcher.ipynb", [LAUNCHER])  # kernelspec python3
    config = tmp_path_factory.mktemp("config")
    (config / "labconfig").mkdir()
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"jupyter-mlops": True}}))
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_mlops": False}}}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config),
               JUPYTER_MLOPS_HOME=str(root / ".mlops"))
    with jupyter_app("notebook", root, env, log=config / "notebook.log") as (url, token):
        yield {"url": url, "token": token, "root": root}


def _run_first_cell(page) -> None:
    """Shift+Enter in the first cell, again if the page was not ready to take it (the prompt
    still reads ``[ ]:``), as a user would."""
    editor = page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-editor").first
    prompt = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").first
    for _ in range(5):
        editor.click()
        page.keyboard.press("Shift+Enter")
        deadline = time.time() + 10
        while time.time() < deadline:
            if re.search(r"\[(\*|\d+)\]", prompt.inner_text()):
                return
            page.wait_for_timeout(250)
    pytest.fail("the cell never started running: " + prompt.inner_text())


def test_job_launcher_widget_in_notebook7(notebook7):
    url, token, root = notebook7["url"], notebook7["token"], notebook7["root"]
    # the jupyter-mlops server extension is off too: its API is not there
    with pytest.raises(urllib.error.HTTPError, match="404"):
        with urllib.request.urlopen(f"{url}mlops/api/runs?token={token}", timeout=10):
            pass
    SHOTS.mkdir(exist_ok=True)
    with chromium_page(CHROMIUM, FLAGS, {"width": 1500, "height": 800}) as page:
        page.goto(f"{url}notebooks/launcher.ipynb?token={token}")
        _run_first_cell(page)
        fields = page.locator(".jp-OutputArea .widget-text")
        fields.first.wait_for(timeout=120_000)
        assert fields.locator("label").all_inner_texts() == [
            "data_path", "test_size", "C", "sample_fraction"]
        assert fields.locator("input").evaluate_all("els => els.map(e => e.value)") == [
            "customers.csv", "0.25", "1.0", "1.0"]
        # Notebook 7 with the jupyter-mlops lab extension off: none of its UI is on the page
        assert page.locator("[class*='jp-mlops']").count() == 0
        page.get_by_label("sample_fraction").fill("0.3")
        page.get_by_role("button", name="Run as training job").click()
        # ipywidgets 8 renders IntProgress as .widget-hprogress: one bar per run, with its label
        bars = page.locator(".jp-OutputArea .widget-hbox:has(.widget-hprogress)")
        bars.first.wait_for()
        table = page.locator(".jp-OutputArea .widget-html table")
        table.wait_for(timeout=300_000)
        assert bars.count() == 1
        label = bars.locator(".widget-label").last.inner_text()
        assert re.fullmatch(r"sample_fraction=0\.3: (\d+)/\1 \(cell \d+\)", label), label
        assert "width: 100%" in bars.locator(".progress-bar").get_attribute("style")
        head = table.locator("th").all_inner_texts()
        assert head[:3] == ["run", "status", "parameters"] and "accuracy" in head, head
        row = dict(zip(head, table.locator("tbody tr td").all_inner_texts()))
        assert row["status"] == "succeeded" and 0.5 < float(row["accuracy"]) <= 1, row
        assert page.get_by_role("button", name="Run as training job").is_enabled()
        page.screenshot(path=str(SHOTS / "7-notebook7-widget.png"))
    runs = recorded_runs(root)
    assert [r["id"] for r in runs] == [row["run"]]
    # the form passes what the user changed, typed as in the parameters cell
    assert runs[0]["parameters"] == {"sample_fraction": 0.3}
    assert runs[0]["status"] == "succeeded"
    assert runs[0]["metrics"]["accuracy"] == pytest.approx(float(row["accuracy"]), rel=1e-5)
