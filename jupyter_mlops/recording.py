"""Productionize's recording run: execute the notebook (minus mlops:skip cells) in a real kernel
and record a small sample of raw records, the model's input for them, the notebook's predictions
and its metrics, for the generated equivalence tests.

Three probes go into the notebook's own cells: one right after the statement that loads the raw
records (a copy of them), one right before the model's fit or the scoring cell (the model's
input as the notebook computed it, with the row labels linking it to the raw records), and one
cell at the end that samples, predicts and writes the recording.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import nbformat

from .errors import RecordingError
from .extract.plan import Plan
from .generate.builder import template
from .jobs.lineage import named_files, recorded_inputs
from .notebook import Notebook
from .tracking import excluded_roots

SAMPLE_SIZE = 20
MAX_FIXTURE_BYTES = 500_000


@dataclass(frozen=True)
class Recording:
    """What the kernel reported after running the notebook."""

    records: Optional[list] = None
    features: Optional[dict] = None
    predictions: Optional[list] = None
    metrics: dict = field(default_factory=dict)
    dtypes: dict = field(default_factory=dict)
    #: per raw column: numeric min/max, or the categories seen in training (the contract's)
    columns: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)  # what the raw records are: frame, rows or values
    versions: dict = field(default_factory=dict)
    python: Optional[str] = None
    notes: tuple[str, ...] = ()
    #: the data files the run read: path relative to the notebook's folder, sha256
    inputs: tuple[dict, ...] = ()

    def fixture(self) -> dict:
        """The JSON the generated tests read (``tests/fixtures/recording.json``)."""
        data = {"records": self.records, "metrics": self.metrics, "notes": list(self.notes)}
        if self.features is not None:
            data["features"] = self.features
        if self.predictions is not None:
            data["predictions"] = self.predictions
        return _shrunk(data)

    def fixture_text(self) -> str:
        """Stable JSON text of the fixture."""
        return json.dumps(self.fixture(), indent=1, sort_keys=True) + "\n"


def _shrunk(data: dict) -> dict:
    """Drop sample rows until the fixture is small enough to commit."""
    while len(json.dumps(data)) > MAX_FIXTURE_BYTES and data.get("records") and len(
            data["records"]) > 1:
        keep = len(data["records"]) // 2
        data["records"] = data["records"][:keep]
        if data.get("features"):
            data["features"]["data"] = data["features"]["data"][:keep]
        if data.get("predictions") is not None:
            data["predictions"] = data["predictions"][:keep]
    return data


def _insert(source: str, line: int, text: str) -> str:
    """``source`` with ``text`` inserted as a line before its 1-based ``line``."""
    lines = source.split("\n")
    lines.insert(line - 1, text)
    return "\n".join(lines)


def _probe_lines(plan: Plan) -> dict[int, list[tuple[int, str]]]:
    """Cell index -> (line, text) of the probe lines to insert into it."""
    path = plan.path
    assert path is not None
    inline = plan.program.inline
    raw_piece = inline[path.raw_position]
    probes: dict[int, list[tuple[int, str]]] = {}
    probes.setdefault(raw_piece.cell.index, []).append(
        (raw_piece.statement.end + 1,
         template("probe_raw.py.tmpl").substitute(raw=path.raw).rstrip("\n")))
    if plan.scoring is not None:
        origin = plan.scoring.pieces[0]
        output = path.output
    else:
        origin = inline[plan.fit_position]
        output = path.output
    probes.setdefault(origin.cell.index, []).append(
        (origin.statement.node.lineno, template("probe_fit.py.tmpl").substitute(
            output=output, chain=repr(list(path.chain)),
            aliases=repr(list(path.aliases))).rstrip("\n")))
    return probes


def _end_probe(plan: Plan, import_names: list[str], out_path: str) -> str:
    scoring = plan.scoring
    given = None
    if scoring is not None and plan.path is not None:
        given = plan.path.output
    return template("probe_end.py.tmpl").substitute(
        import_names=repr(sorted(import_names)),
        model=repr(plan.model),
        predict_wrapper=repr(plan.predict_wrapper),
        metrics_expr=repr(plan.recorded_metrics_expr or "{}"),
        size=SAMPLE_SIZE,
        scoring_source=repr("\n".join(p.source for p in scoring.pieces) if scoring else ""),
        scoring_input=repr(given),
        raw_name=repr(plan.path.raw if plan.path else None),
        scoring_reads=repr(list(scoring.params) if scoring else []),
        scoring_result=repr(scoring.returns[0] if scoring and scoring.returns else None),
        out_path=repr(out_path),
    )


def _probed_notebook(nb_path: str, nb: Notebook, plan: Plan, import_names: list[str],
                     out_path: str):
    """The notebook to execute (skip cells left out, probes in) and each cell's origin."""
    node = nbformat.read(nb_path, as_version=4)
    probes = _probe_lines(plan)
    audit = template("probe_audit.py.tmpl").substitute(folder=repr(os.path.dirname(out_path)))
    cells = [nbformat.v4.new_code_cell(audit + template("probe_start.py.tmpl").template)]
    origin: list = [None]
    for cell, original in zip(node.cells, nb.cells):
        if cell.cell_type != "code" or original.role == "skip":
            continue
        for line, text in sorted(probes.get(original.index, []), reverse=True):
            cell.source = _insert(cell.source, line, text)
        cells.append(cell)
        origin.append(original)
    cells.append(nbformat.v4.new_code_cell(_end_probe(plan, import_names, out_path)))
    origin.append(None)
    node.cells = cells
    return node, origin


class RecordingKernel:
    """The recording run's kernel, launched before the notebook is analysed so that its
    start-up overlaps the analysis. :meth:`release` asks it to shut down as soon as the
    recording is read; :meth:`close` (at the end of productionize, or on a failure) waits
    for it to be gone, so its shutdown overlaps the checks."""

    def __init__(self, nb: Notebook) -> None:
        # pylint: disable=import-outside-toplevel
        from jupyter_client.kernelspec import NoSuchKernel

        from .jobs.kernels import missing_kernel, start_kernel

        name = nb.kernel_name or "python3"
        try:
            # The kernel's own stderr is noise here (transport warnings); cell output and
            # errors arrive through the messaging protocol either way.
            self.km = start_kernel(name, Path(nb.path).resolve().parent, subprocess.DEVNULL)
        except NoSuchKernel:
            raise RecordingError(missing_kernel(name), path=nb.path,
                                 fix="no-execute") from None
        self._released = False

    def release(self) -> None:
        """Ask the kernel to shut down (its work is done); nothing waits for it here."""
        from jupyter_core.utils import run_sync  # pylint: disable=import-outside-toplevel

        if not self._released and self.km.has_kernel:
            self._released = True
            run_sync(self.km.request_shutdown)()

    def close(self) -> None:
        """Wait for the kernel to end (killed if it does not end in time) and clean up."""
        from jupyter_core.utils import run_sync  # pylint: disable=import-outside-toplevel

        if not self.km.has_kernel:
            return
        if self._released:
            run_sync(self.km.finish_shutdown)()
            run_sync(self.km.cleanup_resources)()
        else:
            run_sync(self.km.shutdown_kernel)(now=True)


def record(nb_path: str, nb: Notebook, plan: Plan, import_names: list[str], *,
           progress: Optional[Callable[[str], None]] = None, timeout: int = 1800,
           kernel: Optional[RecordingKernel] = None) -> Recording:
    """Run the notebook in a kernel with the probes and return what they recorded
    (``kernel``: one launched ahead, released here once the recording is read)."""
    from nbclient import NotebookClient  # pylint: disable=import-outside-toplevel

    own = kernel is None
    kernel = RecordingKernel(nb) if kernel is None else kernel
    with tempfile.TemporaryDirectory(prefix="mlops-record-") as tmp:
        out_path = os.path.join(tmp, "recording.json")
        node, origin = _probed_notebook(nb_path, nb, plan, import_names, out_path)
        failed: dict = {}

        def on_error(cell, cell_index, execute_reply):  # nbclient hook
            del cell, execute_reply
            failed.setdefault("index", cell_index)

        def on_done(cell, cell_index, execute_reply):
            del cell, execute_reply
            if progress and origin[cell_index] is not None:
                progress(f"recording: ran cell {origin[cell_index].number}/{len(nb.cells)}")

        client = NotebookClient(
            node, km=kernel.km, timeout=timeout, kernel_name=nb.kernel_name or "python3",
            resources={"metadata": {"path": str(Path(nb_path).resolve().parent)}},
            on_cell_error=on_error, on_cell_executed=on_done)
        named = named_files(nb, Path(nb_path), {}, excluded_roots())
        try:
            _execute(client, nb, origin, failed, timeout)
            data = json.loads(Path(out_path).read_text(encoding="utf-8"))
            inputs = _relative_inputs(recorded_inputs(Path(tmp), named), Path(nb_path))
        finally:
            if client.kc is not None:  # a client given a kernel leaves its channels open
                client.kc.stop_channels()
            kernel.release()
            if own:
                kernel.close()
    return Recording(
        records=data.get("records"), features=data.get("features"),
        predictions=data.get("predictions"), metrics=data.get("metrics", {}),
        dtypes=data.get("dtypes", {}), columns=data.get("columns", {}), raw=data.get("raw", {}),
        versions=data.get("versions", {}),
        python=data.get("python"), notes=tuple(data.get("notes", [])), inputs=inputs)


def _relative_inputs(inputs: list[dict], nb_path: Path) -> tuple[dict, ...]:
    """Input paths relative to the notebook's folder (the manifest is committed: the same on
    every clone), sorted."""
    folder = nb_path.resolve().parent
    return tuple(sorted(({"path": Path(os.path.relpath(item["path"], folder)).as_posix(),
                          "sha256": item["sha256"]} for item in inputs),
                        key=lambda item: item["path"]))


def _execute(client, nb: Notebook, origin: list, failed: dict, timeout: int) -> None:
    """Run the client; a failure is a RecordingError naming the notebook's cell."""
    from nbclient.exceptions import CellExecutionError, DeadKernelError  # pylint: disable=import-outside-toplevel

    try:
        client.execute()
    except CellExecutionError as exc:
        index = failed.get("index")
        source = origin[index] if index is not None and index < len(origin) else None
        if source is None:
            raise RecordingError(f"the recording probe failed: {_first_line(exc)}",
                                 path=nb.path) from None
        raise RecordingError(
            f"raised {_first_line(exc)} while productionize ran the notebook to record a "
            "sample", path=nb.path, cell=source.ref, fix="no-execute") from None
    except DeadKernelError:
        raise RecordingError("the kernel died while running the notebook", path=nb.path) \
            from None
    except TimeoutError:
        raise RecordingError(f"a cell ran longer than {timeout}s", path=nb.path) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    errors = [line for line in text if "Error" in line and not line.startswith(" ")]
    return (errors[-1] if errors else (text[-1] if text else type(exc).__name__)).strip()
