"""``jupyter nbconvert --to mlops NB``: the same package as ``jupyter mlops productionize``.

nbconvert writes one file per notebook, so the exporter's own output is the JSON summary
(``NB.mlops.json``); the package goes to ``--MlopsExporter.out`` (default ``build/<name>``).
"""

from __future__ import annotations

import json
import os

from nbconvert.exporters import Exporter
from traitlets import Bool, Unicode

from .errors import MlopsError


class MlopsExporter(Exporter):
    """Productionize the notebook being converted."""

    export_from_notebook = "Production package (jupyter-mlops)"
    output_mimetype = "application/json"
    out = Unicode("", help="output directory (default: build/<notebook name>)").tag(config=True)
    execute = Bool(True, help="run the notebook to record the equivalence sample").tag(
        config=True)
    force = Bool(False, help="overwrite hand-edited generated files").tag(config=True)
    checks = Bool(True, help="run pylint and the generated tests on the package").tag(
        config=True)

    def _file_extension_default(self) -> str:
        return ".mlops.json"

    def from_notebook_node(self, nb, resources=None, **kw):
        """Productionize the file the node was read from; return the result as JSON."""
        from .productionize import productionize  # pylint: disable=import-outside-toplevel

        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        del nb_copy
        meta = (resources or {}).get("metadata", {})
        name, folder = meta.get("name"), meta.get("path") or "."
        path = os.path.join(folder, f"{name}.ipynb") if name else None
        if not path or not os.path.isfile(path):
            raise MlopsError("nbconvert --to mlops needs a notebook file on disk")
        result = productionize(path, self.out or None, force=self.force, execute=self.execute,
                               checks=self.checks)
        self.log.info("%s", result.summary())
        return json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n", resources
