"""A papermill engine that reports progress (cells done / total, the current cell).

Registered in papermill's engine registry as ``mlops``; execution itself is papermill's
nbclient engine, on a kernel the job may have started before importing papermill.
"""

from __future__ import annotations

from typing import Optional

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from .progress import Progress, ProgressCallback

ENGINE_NAME = "mlops"


class ProgressEngine(NBClientEngine):
    """papermill's nbclient engine plus a progress callback (``mlops_progress=``)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):  # pylint: disable=arguments-differ
        callback: Optional[ProgressCallback] = kwargs.pop("mlops_progress", None)
        numbers: dict = kwargs.pop("mlops_cell_numbers", {})
        if callback is not None:
            code = [c for c in nb_man.nb.cells if c.cell_type == "code"]
            state = {"done": 0}
            start, complete = nb_man.cell_start, nb_man.cell_complete

            def report(cell, finished: bool) -> None:
                cell_id = cell.get("id")
                callback(Progress(state["done"], len(code), numbers.get(cell_id), cell_id,
                                  finished))

            def cell_start(cell, cell_index=None, **kw):
                if cell.cell_type == "code":
                    report(cell, False)
                return start(cell, cell_index, **kw)

            def cell_complete(cell, cell_index=None, **kw):
                result = complete(cell, cell_index, **kw)
                if cell.cell_type == "code":
                    state["done"] += 1
                    report(cell, True)
                return result

            nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
        return cls._execute(nb_man, kernel_name, **kwargs)

    @classmethod
    def _execute(cls, nb_man, kernel_name, *, log_output=False, stdout_file=None,
                 stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
        """NBClientEngine's execution on a kernel the job may have started already
        (``km=``); nbclient shuts that kernel down when the notebook is done, as it does
        its own."""
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        client = PapermillNotebookClient(nb_man, **merge_kwargs(
            kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
            kernel_name=kernel_name, log=logger, log_output=log_output,
            stdout_file=stdout_file, stderr_file=stderr_file))
        return client.execute(cleanup_kc=True)


papermill_engines.register(ENGINE_NAME, ProgressEngine)
