"""``POST pipeline``: the "Export Kubeflow Pipeline" command's route.

Same patterns as ``handlers.py``: authenticated and authorized, the body parsed into a pydantic
model, paths confined to the server root, everything checkable checked before the task
starts (the notebook, the parameter values, the output folder), then one core call in the
task pool; ``GET tasks/{id}`` has the progress and the result (or the error with its cell).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable, Optional

import tornado.web
from jupyter_server.auth.decorator import authorized

from .handlers import MlopsHandler, scrubbed
from .models import ClientPath, Parameters, Request, TaskStarted

PIPELINE_SUFFIX = ".pipeline.yaml"


class PipelineRequest(Request):
    """``POST pipeline``: ``kfp`` defaults to ``<notebook>.pipeline.yaml`` beside it, ``out``
    (the package folder) to ``build/<notebook>`` beside it."""

    path: ClientPath
    out: Optional[ClientPath] = None
    kfp: Optional[ClientPath] = None
    parameters: Parameters = {}
    base_image: Optional[str] = None


class PipelineHandler(MlopsHandler):
    """Compile the notebook's package into a KFP v2 pipeline YAML, as a task."""

    def yaml_path(self, path: Optional[str], notebook: Path) -> Path:
        """Where the YAML goes: inside the root, a ``.yaml`` file."""
        target = self.confined(path) if path else notebook.with_name(
            notebook.stem + PIPELINE_SUFFIX)
        if target.suffix not in (".yaml", ".yml") or target.is_dir():
            raise tornado.web.HTTPError(400, "kfp: the pipeline file must end in .yaml")
        return target

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        """202 with the task id, after the notebook and the parameter values were checked."""
        # pylint: disable=import-outside-toplevel
        from ..notebook import read_notebook
        from ..pipelines import compile_pipeline
        from ..pipelines.build import require_kfp
        from ..pipelines.compiler import typed_values

        request = self.body(PipelineRequest)
        notebook = self.confined(request.path)
        out = self.output_dir(request.out, notebook)
        target = self.yaml_path(request.kfp, notebook)
        nb = await asyncio.to_thread(read_notebook, notebook)
        typed_values(nb, request.parameters)  # a bad value: 400 naming it, nothing compiles
        require_kfp()
        root = str(self.root)

        def work(progress: Callable[[str], None]) -> dict:
            result = compile_pipeline(notebook, target, out=out, parameters=request.parameters,
                                      base_image=request.base_image, progress=progress)
            answer = result.to_dict()
            answer.update(yaml=self.relative(target), notebook=self.relative(notebook),
                          package_dir=self.relative(out))
            return scrubbed(answer, root)

        self.reply(TaskStarted(task=self.tasks.start("pipeline", work)), 202)


ROUTES = [("pipeline", PipelineHandler)]
