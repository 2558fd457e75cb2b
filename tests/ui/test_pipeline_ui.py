"""Export Kubeflow Pipeline in a real JupyterLab (Debian's chromium): from the command
palette it writes the YAML beside the notebook and opens it; an error takes the notebook to
the cell it is in."""

import json
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ..conftest import write_notebook
from .conftest import chromium_page, jupyter_app
from .test_lab import CHROMIUM, FLAGS, SHOTS, _need

pytestmark = [pytest.mark.slow, pytest.mark.ui]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``jupyter lab`` over a copy of the churn example with its committed package (so the
    export reuses it), and a notebook with a syntax error in its data cell."""
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("kfp-lab")
    shutil.copytree(EXAMPLE, root / "churn", ignore=shutil.ignore_patterns(".mlops", "package"))
    # the committed package where the UI's export looks for it (build/<notebook>), up to date
    shutil.copytree(EXAMPLE / "package", root / "churn" / "build" / "churn")
    write_notebook(root / "broken.ipynb", [
        ("parameters", "C = 1.0"), ("setup", "import pandas as pd"),
        ("data", "df = pd.DataFrame({'a': [1, 2]}"), ("training", "model = df.a.sum() * C")])
    settings = tmp_path_factory.mktemp("settings")
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTER_MLOPS_HOME=str(root / ".mlops"))
    with jupyter_app("lab", root, env, "--LabApp.news_url=None",
                     log=root.parent / "lab.log") as (url, token):
        yield {"url": url, "token": token, "root": root}


def _open(page, lab, path: str) -> None:
    stem = Path(path).stem
    page.goto(f"{lab['url']}lab/workspaces/kfp-{stem}/tree/{path}?reset&token={lab['token']}")
    page.wait_for_selector("#jupyterlab-splash", state="detached")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")


def _palette(page, label: str) -> None:
    """Run LABEL from the command palette, as a user would: open it, type, click the item.

    The palette is re-rendered while the lab is still adding commands, so a click can land on a
    detached item or on the page behind a palette that just closed: open it again and retry.
    """
    for _ in range(3):
        page.keyboard.press("Control+Shift+C")
        page.locator("#command-palette .lm-CommandPalette-input").fill(label)
        item = page.locator("#command-palette .lm-CommandPalette-item", has_text=label).first
        try:
            item.click(timeout=15_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"the command palette never let us click {label!r}")


def test_export_from_the_palette_writes_and_opens_the_yaml(lab):
    with chromium_page(CHROMIUM, FLAGS, {"width": 1400, "height": 900}) as page:
        _open(page, lab, "churn/churn.ipynb")
        page.locator(".jp-NotebookPanel .jp-mlops-pipelineButton").first.wait_for()
        _palette(page, "Export Kubeflow Pipeline")
        page.locator(".lm-TabBar-tab", has_text="churn.pipeline.yaml").first.wait_for(
            timeout=120_000)
        written = lab["root"] / "churn" / "churn.pipeline.yaml"
        assert written.is_file() and "comp-gate" in written.read_text()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "8-kubeflow-pipeline.png"))


def test_an_export_error_goes_to_its_cell(lab):
    with chromium_page(CHROMIUM, FLAGS, {"width": 1400, "height": 900}) as page:
        _open(page, lab, "broken.ipynb")
        page.locator(".jp-NotebookPanel .jp-mlops-pipelineButton").first.click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=120_000)
        assert "was never closed" in dialog.inner_text()
        page.wait_for_function(
            "() => { const c = document.querySelector('.jp-NotebookPanel .jp-Cell.jp-mod-active');"
            " return c && c.textContent.includes('pd.DataFrame'); }")
        assert not (lab["root"] / "broken.pipeline.yaml").exists()
