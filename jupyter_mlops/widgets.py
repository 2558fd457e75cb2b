"""ipywidgets front end: start a job or a sweep from a notebook and watch it.

Standard ipywidgets 8 only, so it works in JupyterLab and in Notebook 7 with no lab extension:

    from jupyter_mlops.widgets import JobLauncher
    JobLauncher("train.ipynb")          # a form from the parameters cell, and a Run button
"""

from __future__ import annotations

import html
import os
import threading
import time
from typing import Optional

import ipywidgets as widgets

from .errors import MlopsError


class JobLauncher(widgets.VBox):
    """A form built from the parameters cell, a Run button, a progress bar per run and a
    metrics table when the runs are done. A comma list in a field makes a sweep."""

    def __init__(self, notebook: os.PathLike, *, workers: int = 2,
                 home: Optional[os.PathLike] = None, poll_seconds: float = 0.5) -> None:
        from .extract.plan import notebook_parameters  # pylint: disable=import-outside-toplevel
        from .notebook import read_notebook  # pylint: disable=import-outside-toplevel

        self.notebook, self.workers, self.home = notebook, workers, home
        self.poll_seconds = poll_seconds
        parameters = notebook_parameters(read_notebook(notebook))
        self.defaults = {p.name: p.default.strip("'\"") for p in parameters}
        # labels as wide as the longest name, so the inputs line up and no name is cut
        label_width = f"{max((len(p.name) for p in parameters), default=0) + 2}ch"
        self.fields = {
            p.name: widgets.Text(value=self.defaults[p.name], description=p.name,
                                 tooltip=f"default {p.default} ({p.type_name or 'value'})",
                                 style={"description_width": label_width})
            for p in parameters
        }
        self.button = widgets.Button(description="Run as training job", icon="play",
                                     button_style="primary",
                                     layout=widgets.Layout(width="max-content"))
        self.button.on_click(lambda _: self.start())
        self.runs_box = widgets.VBox()
        self.table = widgets.HTML()
        self.message = widgets.HTML()
        self.thread: Optional[threading.Thread] = None
        self.runs: list = []
        super().__init__([*self.fields.values(), self.button, self.message, self.runs_box,
                          self.table])

    def _values(self) -> dict:
        # Only what the user changed is passed, so the run records its overrides the way
        # `jupyter mlops run -p` and the lab dialog do; the rest are the notebook's defaults.
        return {name: field.value for name, field in self.fields.items()
                if field.value != self.defaults[name]}

    def _bar(self, values: dict):
        label = ", ".join(f"{k}={v}" for k, v in values.items()) or "defaults"
        progress = widgets.IntProgress(value=0, min=0, max=1, description="",
                                  layout=widgets.Layout(width="50%"))
        text = widgets.Label(f"{label}: starting", layout=widgets.Layout(width="auto"))
        self.runs_box.children = (*self.runs_box.children, widgets.HBox([progress, text]))

        def update(run) -> None:
            where = run.progress
            if where:
                progress.max = where["total"]
                progress.value = where["done"]
                cell = f"cell {where['cell_number']}" if where["cell_number"] else "parameters"
                text.value = f"{label}: {where['done']}/{where['total']} ({cell})"
            if run.status in ("failed", "cancelled"):
                text.value = f"{label}: {run.status}"
        return update

    def start(self, wait: bool = False) -> None:
        """Start the job (or sweep) in worker processes and follow it from the run store in
        a background thread; ``wait`` blocks until every run has ended."""
        self.button.disabled = True
        self.runs_box.children = ()
        self.table.value = ""
        self.message.value = ""
        self.thread = threading.Thread(target=self._work, args=(self._values(),), daemon=True)
        self.thread.start()
        if wait:
            self.thread.join()

    def _work(self, values: dict) -> None:
        # pylint: disable=import-outside-toplevel
        from .jobs.launch import reconcile, start_job
        from .store import RunStore

        try:
            # The core starts the runs (a sweep when a value is a comma list) in their own
            # processes; progress and results are read from the run store, like the server.
            launched = start_job(self.notebook, values, workers=self.workers, home=self.home)
            store = RunStore(launched.home)
            runs = [store.get(r) for r in launched.run_ids]
            bars = {run.id: self._bar(run.parameters) for run in runs}
            while True:
                runs = reconcile(store, [store.get(r) for r in launched.run_ids])
                for run in runs:
                    bars[run.id](run)
                if all(run.status not in ("queued", "running") for run in runs):
                    break
                time.sleep(self.poll_seconds)
            self.runs = runs
            self.table.value = metrics_table(self.runs)
        except MlopsError as exc:
            self.message.value = f"<b>Error:</b> {html.escape(str(exc))}"
        finally:
            self.button.disabled = False


def metrics_table(runs: list) -> str:
    """An HTML table: one row per run with status, parameters and metrics."""
    names = sorted({m for r in runs for m in r.metrics})
    head = "".join(f"<th>{html.escape(n)}</th>" for n in ["run", "status", "parameters", *names])
    rows = []
    for run in runs:
        params = ", ".join(f"{k}={v!r}" for k, v in run.parameters.items())
        cells = [run.id, run.status, params] + [
            f"{run.metrics[n]:.6g}" if n in run.metrics else "" for n in names]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
