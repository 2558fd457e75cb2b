"""The extension in a real JupyterLab, driven through the UI only with Debian's chromium:
set a role, Productionize, click a lint finding to land on its cell, run a training job from
the dialog and see it finish in the Jobs panel with its metric. Screenshots of each step go
to tests/ui/screenshots/."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from ..conftest import write_notebook
from .conftest import chromium_page, jupyter_app, recorded_runs

pytestmark = [pytest.mark.slow, pytest.mark.ui]

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "examples" / "churn"
SHOTS = HERE / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("JUPYTER_MLOPS_REQUIRE_UI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``jupyter lab`` on 127.0.0.1 over a root holding the churn example, whose training cell
    has a variable nothing uses (a lint finding to click)."""
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        import playwright  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        _need(False, "playwright is not installed (pip install playwright)")
    listed = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                            capture_output=True, text=True, check=False)
    _need("jupyter-mlops" in listed.stdout + listed.stderr,
          "the lab extension is not built/installed (see README)")
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(EXAMPLE / "customers.csv", root / "customers.csv")
    nb = nbformat.read(EXAMPLE / "churn.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.get("id") == "train":
            cell.source += "\nn_rows = len(X_train)"
    nbformat.write(nb, root / "churn.ipynb")
    (root / ".gitignore").write_text(".mlops/\nbuild/\n")
    for argv in (["init", "-q"], ["add", "."], ["commit", "-qm", "churn"]):
        subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *argv],
                       cwd=root, check=True, capture_output=True)
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


@pytest.fixture(scope="module")
def page(lab):
    SHOTS.mkdir(exist_ok=True)
    with chromium_page(CHROMIUM, FLAGS, {"width": 1500, "height": 950}) as tab:
        tab.goto(f"{lab['url']}lab/tree/churn.ipynb?token={lab['token']}")
        tab.wait_for_selector("#jupyterlab-splash", state="detached")
        tab.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        yield tab


def _cell(page, cell_id: str):
    return page.locator(f".jp-NotebookPanel .jp-Cell[data-cell-id='{cell_id}'], "
                        f".jp-NotebookPanel .jp-Cell:has(#cell-{cell_id})").first


def _cell_by_text(page, text: str):
    return page.locator(".jp-NotebookPanel .jp-CodeCell", has_text=text).first


def _click_run_as_job(page) -> None:
    run = page.locator(".jp-NotebookPanel .jp-mlops-runButton").first
    if not run.is_visible():
        # the Productionize panel beside the notebook narrows it: JupyterLab's toolbar then
        # moves the last buttons into its "..." overflow menu, where a user finds them
        page.locator(".jp-NotebookPanel .jp-Toolbar-responsive-opener").first.click()
        run = page.locator(".jp-Toolbar-responsive-popup .jp-mlops-runButton").first
    run.click()


def _open_alone(page, lab, cells: list, name: str) -> None:
    """Write a notebook into the lab root and open it alone, in a fresh workspace."""
    write_notebook(lab["root"] / name, cells)
    stem = name.removesuffix(".ipynb")
    page.goto(f"{lab['url']}lab/workspaces/{stem}/tree/{name}?reset&token={lab['token']}")
    page.wait_for_selector("#jupyterlab-splash", state="detached")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")


def test_1_role_markers_and_setting_a_role(page):
    training = _cell_by_text(page, "X_train, X_test, y_train, y_test")
    assert training.get_attribute("data-mlops-role") == "training"
    head = _cell_by_text(page, "df.head()")
    assert head.get_attribute("data-mlops-role") is None
    head.locator(".jp-InputArea-editor").click(button="right")
    page.locator(".lm-Menu-item", has_text="Cell Role").hover()
    page.locator(".lm-Menu-item", has_text="Mark Cell as Skip").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')]"
        ".some(c => c.textContent.includes('df.head()') && c.dataset.mlopsRole === 'skip')")
    head.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "1-roles.png"))
    # Suggest Cell Roles proposes (the tagged example has little left to propose) and writes
    # nothing until the user applies
    tagged = page.locator(".jp-NotebookPanel .jp-CodeCell[data-mlops-role]").count()
    head.locator(".jp-InputArea-editor").click(button="right")
    page.locator(".lm-Menu-item", has_text="Cell Role").hover()
    page.locator(".lm-Menu-item", has_text="Suggest Cell Roles").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    rows = dialog.locator(".jp-mlops-suggestion").all_inner_texts()
    assert any("Skip" in r and "only displays" in r for r in rows), rows
    # each row shows the cell's code, and its link takes the notebook there
    row = dialog.locator(".jp-mlops-suggestion", has_text="only displays").first
    code = row.locator(".jp-mlops-suggestionCode").inner_text()
    assert code.strip(), row.inner_text()
    row.locator(".jp-mlops-cellLink").click()
    active = page.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active")
    assert code.splitlines()[0] in active.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    # cancelled: no cell got a role it did not have
    assert page.locator(".jp-NotebookPanel .jp-CodeCell[data-mlops-role]").count() == tagged


def test_2_productionize_shows_files_and_findings(page):
    page.locator(".jp-mlops-productionizeButton").first.click()
    page.wait_for_selector(".jp-mlops-finding", timeout=300_000)
    files = page.locator(".jp-mlops-file").all_inner_texts()
    assert "churn/train.py" in files and "requirements.txt" in files
    finding = page.locator(".jp-mlops-findingRow").first.inner_text()
    assert "W0612" in finding and "Cell 17" in finding, finding
    page.screenshot(path=str(SHOTS / "2-productionize.png"))


def test_3_clicking_a_finding_lands_on_its_cell(page):
    # move away first, so landing on the cell is the click's doing
    _cell_by_text(page, "data_path = ").locator(".jp-InputArea-editor").click()
    page.locator(".jp-mlops-finding").first.click()
    page.wait_for_function(
        "() => { const c = document.querySelector('.jp-NotebookPanel .jp-Cell.jp-mod-active');"
        " return c && c.textContent.includes('n_rows = len(X_train)'); }")
    page.screenshot(path=str(SHOTS / "3-finding-to-cell.png"))


def test_4_training_job_from_the_dialog(page, lab):
    _cell_by_text(page, "data_path = ").locator(".jp-InputArea-editor").click()
    _click_run_as_job(page)
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    names = dialog.locator("input.jp-mlops-input").evaluate_all("els => els.map(e => e.name)")
    assert names == ["data_path", "test_size", "C", "sample_fraction"]
    dialog.locator("input[name='C']").fill("0.5")
    page.screenshot(path=str(SHOTS / "4-run-dialog.png"))
    dialog.get_by_role("button", name="Run").click()
    done = page.locator("#jp-mlops-jobs .jp-mlops-run-succeeded")
    done.wait_for(timeout=300_000)
    assert "accuracy" in done.inner_text() and "C=" in done.inner_text()
    # a notification says so, with the result one click away
    toast = page.locator(".Toastify__toast", has_text="succeeded").first
    toast.wait_for(timeout=10_000)
    assert "accuracy" in toast.inner_text() and toast.get_by_text("Open executed notebook")
    runs = recorded_runs(lab["root"])
    assert runs[0]["parameters"] == {"C": 0.5} and runs[0]["status"] == "succeeded"
    page.screenshot(path=str(SHOTS / "5-jobs-panel.png"))


def test_5_a_productionize_error_names_its_cell_and_goes_there(page, lab):
    _open_alone(page, lab, [("setup", "import pandas as pd"), ("md", "## Data"),
                            ("data", "df = pd.DataFrame({'a': [1, 2]}"),
                            ("training", "model = df.a.sum()")], "broken.ipynb")
    _cell_by_text(page, "import pandas").locator(".jp-InputArea-editor").click()
    page.locator(".jp-mlops-productionizeButton").first.click()
    page.wait_for_selector(".jp-mlops-status-failed", timeout=120_000)
    message = page.locator(".jp-mlops-errorMessage").first.inner_text()
    assert message.startswith("broken.ipynb cell 3") and "was never closed" in message, message
    page.locator(".jp-mlops-cellLink", has_text="Go to cell 3").first.click()
    page.wait_for_function(
        "() => { const c = document.querySelector('.jp-NotebookPanel .jp-Cell.jp-mod-active');"
        " return c && c.textContent.includes('pd.DataFrame'); }")
    page.screenshot(path=str(SHOTS / "6-productionize-error.png"))


def test_6_cancel_a_running_job_from_the_jobs_panel(page, lab):
    _open_alone(page, lab, [("parameters", "seconds = 300"),
                            ("training", "import time\ntime.sleep(seconds)\nmodel = seconds")],
                "slow.ipynb")
    _cell_by_text(page, "seconds = 300").locator(".jp-InputArea-editor").click()
    _click_run_as_job(page)
    page.locator(".jp-Dialog").get_by_role("button", name="Run").click()
    running = page.locator("#jp-mlops-jobs .jp-mlops-run-running", has_text="slow.ipynb")
    running.locator(".jp-mlops-cancel").click(timeout=120_000)
    page.locator("#jp-mlops-jobs .jp-mlops-run-cancelled", has_text="slow.ipynb").wait_for(
        timeout=60_000)
    runs = recorded_runs(lab["root"])
    slow = [r for r in runs if r["notebook"].endswith("slow.ipynb")]
    assert [r["status"] for r in slow] == ["cancelled"], slow


def test_6b_what_is_not_proven_is_shown_and_warnings_link_to_their_cell(page, lab):
    """An evaluation that computes no metric: the package is written, and the panel says the
    metrics are not proven; a warning's cell link lands on that cell."""
    _open_alone(page, lab, [
        ("setup", "%matplotlib inline\nimport pandas as pd\n"
                  "from sklearn.linear_model import LinearRegression"),
        ("data", "df = pd.DataFrame({'a': [1.0, 2.0, 3.0, 4.0], 'y': [2.0, 4.1, 5.9, 8.2]})"),
        ("featurization", "X = df[['a']]\ny = df['y']"),
        ("training", "model = LinearRegression().fit(X, y)"),
        ("evaluation", "print(model.coef_)")], "unproven.ipynb")
    _cell_by_text(page, "LinearRegression().fit").locator(".jp-InputArea-editor").click()
    page.locator(".jp-mlops-productionizeButton").first.click()
    section = page.locator(".jp-mlops-notProven")
    section.wait_for(timeout=300_000)
    assert "metrics: none found in the evaluation cells" in section.inner_text()
    page.locator(".jp-mlops-warning .jp-mlops-cellLink", has_text="cell 1").first.click()
    page.wait_for_function(
        "() => { const c = document.querySelector('.jp-NotebookPanel .jp-Cell.jp-mod-active');"
        " return c && c.textContent.includes('%matplotlib inline'); }")
    page.screenshot(path=str(SHOTS / "9-not-proven.png"))


def _toast(page, text: str):
    """The notification toast that says ``text``."""
    return page.locator(".Toastify__toast", has_text=text).first


def _dismiss_toasts(page) -> None:
    """Close the notification toasts (before a screenshot of what is under them)."""
    close = page.locator(".Toastify__toast [title='Dismiss notification']")
    while close.count():
        close.first.click()
        page.wait_for_timeout(300)


def _show(page, item: str) -> None:
    """Open a panel from the View menu (``Show Training Jobs``, ``Show Models``)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
    page.locator(".lm-Menu-item", has_text=item).click()


def test_4b_open_executed_notebook_opens_the_recorded_notebook(page, lab):
    """The run store is in the hidden .mlops folder: the button still opens the notebook."""
    _show(page, "Show Training Jobs")
    page.locator("#jp-mlops-jobs .jp-mlops-run-succeeded .jp-mlops-openExecuted").first.click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-active[title*='MlopsRun:']"
                 ).wait_for()
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").last
    panel.locator(".jp-Cell").first.wait_for()
    # papermill's injected cell, with the value the job used (JupyterLab renders the cells
    # in view only: scroll until it is there)
    injected = panel.locator(".jp-CodeCell", has_text="C = 0.5")
    for _ in range(30):
        if injected.count():
            break
        panel.locator(".jp-Notebook").hover()
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(200)
    assert injected.count() == 1 and "# Parameters" in injected.inner_text()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-active")
    assert tab.inner_text() == "churn.ipynb" and "MlopsRun:" in tab.get_attribute("title")
    assert page.locator(".jp-Dialog", has_text="Not Found").count() == 0
    page.screenshot(path=str(SHOTS / "10-executed-notebook.png"))
    page.goto(f"{lab['url']}lab/tree/churn.ipynb?token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")


def test_4c_a_sweep_from_the_dialog_ranks_and_plots_its_runs(page, lab):
    _show(page, "Show Training Jobs")
    _cell_by_text(page, "data_path = ").locator(".jp-InputArea-editor").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Alt+j")  # the shortcut of Run as Training Job
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    field = dialog.locator("input[name='C']")
    field.fill("")
    field.type("0.1,1")
    assert field.input_value() == "0.1,1"  # a number input made this 0.11
    dialog.locator("input[name='jp-mlops-sweep']").check()
    assert dialog.locator("input[name='C']").input_value() == "0.1,1"
    dialog.get_by_role("button", name="Run").click()
    sweep = page.locator("#jp-mlops-jobs .jp-mlops-sweep").first
    sweep.wait_for(timeout=5_000)  # at once, not after a slow poll
    page.locator(".jp-mlops-JobsStatus", has_text="running").wait_for(timeout=10_000)
    page.locator("#jp-mlops-jobs .jp-mlops-sweep.jp-mlops-run-succeeded").wait_for(
        timeout=300_000)
    _toast(page, "Sweep").wait_for(timeout=10_000)
    sweep = page.locator("#jp-mlops-jobs .jp-mlops-sweep").first
    rows = sweep.locator(".jp-mlops-sweepRow")
    assert rows.count() == 2
    assert sweep.locator(".jp-mlops-sweepPlot[data-parameter='C'] circle").count() == 2
    options = sweep.locator("select.jp-mlops-sweepMetric option").all_inner_texts()
    assert "accuracy" in options
    sweep.locator("select.jp-mlops-sweepMetric").select_option("accuracy")
    values = [float(v) for v in page.locator(
        "#jp-mlops-jobs .jp-mlops-sweep .jp-mlops-sweepRow td:nth-child(3)").all_inner_texts()]
    assert values == sorted(values, reverse=True), values
    members = [r for r in recorded_runs(lab["root"]) if r.get("sweep_id")]
    assert len({r["sweep_id"] for r in members}) == 1 and len(members) == 2
    # started from the UI, the members ran at the same time (one worker per core), as the
    # command line runs them with --workers
    assert max(r["started"] for r in members) < min(r["ended"] for r in members), members
    page.screenshot(path=str(SHOTS / "11-sweep.png"))


def test_4d_a_second_parameters_cell_is_refused_naming_both(page, lab):
    _open_alone(page, lab, [("parameters", "alpha = 1.0"), "x = alpha",
                            ("parameters", "alpha = 0.5")], "twoparams.ipynb")
    _cell_by_text(page, "x = alpha").locator(".jp-InputArea-editor").click()
    _click_run_as_job(page)
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    text = dialog.inner_text()
    assert "two cells are tagged `parameters`" in text and "cell 1" in text, text
    dialog.get_by_role("button", name="Close").click()


def test_1b_set_role_dialog_shows_the_choice_and_a_role_change_can_be_undone(page, lab):
    _open_alone(page, lab, [("setup", "import math"), "value = math.pi"], "undo.ipynb")
    cell = _cell_by_text(page, "value = math.pi")
    cell.locator(".jp-InputArea-editor").click(button="right")
    page.locator(".lm-Menu-item", has_text="Cell Role").hover()
    page.locator(".lm-Menu-item", has_text="Set Cell Role").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    choice = dialog.locator("label[data-mlops-role='evaluation'] input")
    choice.check()
    look = choice.evaluate("e => getComputedStyle(e).backgroundImage")
    assert "radial-gradient" in look, look  # drawn selected, in every theme
    page.screenshot(path=str(SHOTS / "12-set-role.png"))
    dialog.get_by_role("button", name="Set Role").click()
    assert cell.get_attribute("data-mlops-role") == "evaluation"
    _toast(page, "Cell role set to Evaluation").get_by_role("button", name="Undo").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')]"
        ".some(c => c.textContent.includes('value = math.pi') && !c.dataset.mlopsRole)")


def test_5b_errors_offer_their_fix_as_a_button(page, lab):
    """A runtime error in the recording run: no ANSI codes, no command line, a button."""
    _open_alone(page, lab, [
        ("setup", "import pandas as pd\nfrom sklearn.linear_model import LinearRegression"),
        ("data", "df = pd.DataFrame({'a': [1.0, 2.0, 3.0], 'y': [1.0, 2.0, 3.0]})"),
        ("featurization", "X = df[['a', 'missing']]"),
        ("training", "model = LinearRegression().fit(X, df.y)")], "keyerror.ipynb")
    _cell_by_text(page, "import pandas").locator(".jp-InputArea-editor").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Alt+p")  # the shortcut of Productionize
    page.wait_for_selector(".jp-mlops-status-failed", timeout=120_000)
    message = page.locator(".jp-mlops-errorMessage").first.inner_text()
    assert "KeyError" in message and "\x1b" not in message and "[31m" not in message
    assert "--no-execute" not in message and "(id " not in message, message
    page.screenshot(path=str(SHOTS / "13-fix-button.png"))
    page.locator(".jp-mlops-fixNoExecute").click()
    page.wait_for_selector(".jp-mlops-ProductionizeView .jp-mlops-filesSection",
                           timeout=300_000)
    _toast(page, "Package").wait_for(timeout=10_000)
    # one Productionize panel per notebook, reused
    assert page.locator(".jp-mlops-ProductionizePanel:has-text('keyerror')").count() <= 1


def test_5c_hand_edits_are_overwritten_only_after_a_confirm(page, lab):
    """A generated file edited by hand: Productionize stops, and offers to overwrite."""
    train = lab["root"] / "build" / "unproven" / "unproven" / "train.py"
    assert train.exists()
    train.write_text(train.read_text() + "# my hand edit\n")
    page.goto(f"{lab['url']}lab/workspaces/unproven/tree/unproven.ipynb?token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    _cell_by_text(page, "LinearRegression().fit").locator(".jp-InputArea-editor").click()
    page.locator(".jp-mlops-productionizeButton").first.click()
    page.wait_for_selector(".jp-mlops-fixForce", timeout=60_000)
    message = page.locator(".jp-mlops-errorMessage").first.inner_text()
    assert "edited by hand" in message and "--force" not in message, message
    page.locator(".jp-mlops-fixForce").click()
    confirm = page.locator(".jp-Dialog", has_text="Overwrite your edits?")
    confirm.get_by_role("button", name="Cancel").click()  # nothing happens without a yes
    assert "# my hand edit" in train.read_text()
    page.locator(".jp-mlops-fixForce").click()
    confirm.get_by_role("button", name="Overwrite").click()
    page.wait_for_selector(".jp-mlops-ProductionizeView .jp-mlops-filesSection",
                           timeout=300_000)
    assert "# my hand edit" not in train.read_text()


def test_5d_a_hidden_state_error_names_cells_by_number_with_separate_links(page, lab):
    bad = HERE.parent / "notebooks" / "bad"
    shutil.copy(bad / "hidden_state_tagged_cell_reads_threshold_set_in_skip_cell.ipynb",
                lab["root"] / "hidden.ipynb")
    page.goto(f"{lab['url']}lab/workspaces/hidden/tree/hidden.ipynb?reset&token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    page.locator(".jp-mlops-productionizeButton").first.click()
    page.wait_for_selector(".jp-mlops-status-failed", timeout=120_000)
    message = page.locator(".jp-mlops-errorMessage").first.inner_text()
    assert "cell 5 line 3" in message and "cell 4 (mlops:skip)" in message, message
    assert "(id " not in message, message
    links = page.locator(".jp-mlops-errorLinks .jp-mlops-cellLink")
    assert links.all_inner_texts() == ["Go to cell 5", "Go to cell 4"]
    first, second = links.nth(0).bounding_box(), links.nth(1).bounding_box()
    assert second["x"] - (first["x"] + first["width"]) >= 8  # apart, not run together
    links.nth(1).click()
    page.wait_for_function(
        "() => { const c = document.querySelector('.jp-NotebookPanel .jp-Cell.jp-mod-active');"
        " return c && c.textContent.includes('cutoff = df'); }")


def _parity_report(model_dir: Path) -> None:
    """A parity report as ``convert`` writes it, for the model.onnx beside it (the panel shows
    the report; what converting measures is tested in tests/registry/test_convert.py)."""
    model_dir.mkdir()
    (model_dir / "model.onnx").write_bytes(b"an ONNX graph")
    (model_dir / "parity.json").write_text(json.dumps({
        "passed": True, "sha256": hashlib.sha256(b"an ONNX graph").hexdigest(), "at": time.time(),
        "scope": "the model score.py calls after featurize", "checks": [
            {"check": "label agreement", "data": "evaluation", "value": 1.0, "bound": "min",
             "tolerance": 0.999, "ok": True}],
        "quantization": {"applied": False, "reason": "not applicable"},
        "latency_ms": {"sklearn": 3.7, "onnx": 0.05},
        "bytes": {"sklearn": 2178, "onnx": 1291, "onnx_unquantized": 1291}}))


def _settled_version(page, number: str):
    """The Models panel's entry for version ``number`` once no refresh is pending (a refresh
    replaces the entries, and with them a stage already chosen in the old one's menu)."""
    version = page.locator("#jp-mlops-models .jp-mlops-modelsBody[data-state='ready'] "
                           f".jp-mlops-version[data-version='{number}']:not([data-stale])")
    version.wait_for()
    return version


def test_8_models_panel_lineage_promote_and_history(page, lab):
    """A version registered from the run of test 4 (its real record), shown with its
    lineage; Promote asks first and the registry's gate answers."""
    from jupyter_mlops.registry.store import Registry  # pylint: disable=import-outside-toplevel
    from jupyter_mlops.store import RunStore  # pylint: disable=import-outside-toplevel

    store = RunStore(lab["root"] / ".mlops")
    run = next(r for r in store.list() if r.status == "succeeded" and not r.sweep_id)
    registry = Registry(store)
    staged = lab["root"] / ".mlops" / "staged"
    staged.mkdir()
    registry.add("churn", run.id, staged, {
        "package": "churn", "notebook": str(lab["root"] / "churn.ipynb"),
        "notebook_sha256": run.notebook_sha256, "parameters": run.parameters,
        "metrics": run.metrics, "inputs": run.record.get("inputs", []),
        "git": run.record.get("git")})
    _parity_report(registry.get("churn", 1).path / "model")
    _show(page, "Show Models")
    version = _settled_version(page, "1")
    text = version.inner_text()
    assert run.id.split("-")[-1] in text and "customers.csv" in text and "Never validated" in text, text
    assert "ONNX parity passed" in text and "label agreement (evaluation)" in text, text
    assert "onnxruntime 0.050 ms" in text, text
    version.locator(".jp-mlops-promoteStage").select_option("production")
    version.locator(".jp-mlops-promote").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Promote").click()
    refused = page.locator(".jp-Dialog", has_text="never validated")
    refused.wait_for()
    # closing the message refreshes the panel: act on the version it renders, not the old one
    version.evaluate("node => { node.dataset.stale = '1'; }")
    refused.get_by_role("button", name="Close").click()
    registry.record_event("churn", 1, "validated", details={
        "passed": True, "production": None, "metrics": [], "problems": [], "notes": []})
    version = _settled_version(page, "1")
    version.locator(".jp-mlops-promoteStage").select_option("production")
    version.locator(".jp-mlops-promote").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Promote").click()
    page.locator("#jp-mlops-models .jp-mlops-stage-production").wait_for()
    page.locator("#jp-mlops-models .jp-mlops-historySection summary").click()
    history = page.locator("#jp-mlops-models .jp-mlops-history").inner_text()
    assert "promoted → production" in history and "validated" in history, history
    _dismiss_toasts(page)
    page.screenshot(path=str(SHOTS / "14-models-panel.png"))


def test_7_dark_theme(page, lab):
    """Our markers and panels use JupyterLab's theme variables: switch to the dark theme from
    the Settings menu and look (the screenshot) at the roles, the Productionize panel and jobs."""
    page.goto(f"{lab['url']}lab/tree/churn.ipynb?token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme$")).hover()
    page.get_by_role("menuitem", name="JupyterLab Dark", exact=True).click()
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
    _cell_by_text(page, "X_train, X_test").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    badge = _cell_by_text(page, "X_train, X_test").locator(".jp-mlops-roleBadge")
    assert badge.inner_text() == "Training"
    page.screenshot(path=str(SHOTS / "8-dark-theme.png"))
    _show(page, "Show Training Jobs")
    page.locator("#jp-mlops-jobs .jp-mlops-sweep").first.wait_for()
    page.locator("#jp-mlops-jobs .jp-mlops-sweepMembers summary").first.click()
    page.screenshot(path=str(SHOTS / "15-dark-sweep.png"))
    _show(page, "Show Models")
    page.locator("#jp-mlops-models .jp-mlops-version").first.wait_for()
    page.locator("#jp-mlops-models .jp-mlops-historySection summary").click()
    page.screenshot(path=str(SHOTS / "16-dark-models.png"))
