"""``jupyter mlops pipeline NB --kfp FILE``: notebook -> package -> KFP v2 pipeline YAML.

typed parameters (a bad one stops here, before anything compiles) -> productionize (or its
cached result) -> training steps -> gate rules from the registry's production version ->
pipeline module -> kfp's compiler -> the YAML, loaded back with kfp's own loader.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..errors import CheckFailed, ConfigError
from ..store.db import DB_NAME, find_home
from .build import (compile_spec, pipeline_parameter, read_training, require_kfp,
                    requirements, step_cells, write_code_dir)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CompiledPipeline:
    """A compiled pipeline: where its YAML is and what is in it."""

    notebook: str
    package: str
    package_dir: str
    yaml: str
    steps: tuple[str, ...]  # component names in order, the gate last
    cells: dict  # step -> [cell id, cell number]
    parameters: dict  # pipeline parameter -> default
    sweep: tuple[dict, ...]
    production: Optional[str]  # NAME:VERSION the gate compares with, None when none
    base_image: str

    def to_dict(self) -> dict:
        """JSON form (``--json``, the server)."""
        return {"notebook": self.notebook, "package": self.package,
                "package_dir": self.package_dir, "yaml": self.yaml, "steps": list(self.steps),
                "cells": self.cells, "parameters": self.parameters, "sweep": list(self.sweep),
                "production": self.production, "base_image": self.base_image}

    def summary(self) -> str:
        """Human text: the steps with their cells, and what the gate compares with."""
        lines = [f"wrote {self.yaml} (KFP v2, {len(self.steps)} components, "
                 f"image {self.base_image})"]
        for number, step in enumerate(self.steps, start=1):
            cell = self.cells.get(step)
            lines.append(f"  {number}. {step}" + (f"  <- notebook cell {cell[1]} (id {cell[0]})"
                                                   if cell else ""))
        if self.sweep:
            lines.append(f"  sweep: ParallelFor over {len(self.sweep)} members "
                         + ", ".join(str(m) for m in self.sweep))
        lines.append("  gate: " + (f"against production {self.production}" if self.production
                                   else "no production version to compare with"))
        return "\n".join(lines)


def default_base_image() -> str:
    """A slim image of the Python that runs here (the kernel the requirements were pinned in)."""
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"


def typed_values(nb, raw: dict) -> tuple[dict, tuple[dict, ...]]:
    """(fixed values, sweep members) from ``-p``; ConfigError naming a bad one."""
    # pylint: disable=import-outside-toplevel
    from ..extract.parameters import notebook_parameters
    from ..jobs.params import typed_parameters

    known = notebook_parameters(nb)
    names = [p.name for p in known]
    for name in raw:
        if name not in names:
            raise ConfigError(f"parameter `{name}` is not in the notebook's parameters cell, so "
                              f"the pipeline has no such parameter (it has: "
                              f"{', '.join(names) or 'none'})", path=nb.path)
    typed = typed_parameters(raw, known, nb.path)
    fixed = {n: v[0] for n, v in typed.values.items() if len(v) == 1}
    swept = [n for n, v in typed.values.items() if len(v) > 1]
    members = tuple({n: member[n] for n in swept} for member in typed.grid()) if swept else ()
    return fixed, members


def gate_rules(notebook_dir: Path, model: str) -> tuple[dict, Optional[str]]:
    """The gate's rule per metric of ``model``'s production version (none: empty)."""
    # pylint: disable=import-outside-toplevel
    from ..registry.inpackage import higher_is_better
    from ..registry.validation import tolerances_from
    from ..registry.store import Registry
    from ..store import RunStore

    home = find_home(notebook_dir)
    if not (home / DB_NAME).exists():
        return {}, None
    registry = Registry(RunStore(home))
    production = next((v for v in registry.versions(model) if v.stage == "production")
                      if model in registry.names() else iter(()), None)
    if production is None:
        return {}, None
    tolerances = tolerances_from(notebook_dir, {})
    rules = {}
    for name, value in sorted(production.record.get("metrics", {}).items()):
        if isinstance(value, (int, float)):
            rule = {"production": float(value), "tolerance": tolerances.get(name),
                    "higher_is_better": higher_is_better(name)}
            # a pipeline parameter holds no nulls: an unknown rule part is left out
            rules[name] = {k: v for k, v in rule.items() if v is not None}
    return rules, production.ref


def _productionized(notebook: Path, out: Optional[Path], say: Progress):
    from ..productionize import default_out, productionize  # pylint: disable=C0415

    result = productionize(notebook, out or default_out(notebook), progress=say)
    if not result.ok:
        raise CheckFailed("the generated package fails its checks, so it is not compiled into "
                          f"a pipeline:\n{result.summary()}")
    return result


def _spec_args(nb, nb_path: Path, result, *, fixed: dict, members: tuple, image: str,
               local: bool, model: Optional[str]) -> tuple[dict, dict, Optional[str]]:
    """What the pipeline module is built from; the step cells; the production version."""
    # pylint: disable=import-outside-toplevel
    from ..extract.parameters import notebook_parameters
    from ..package.writer import read_manifest

    package_dir = Path(result.out_dir)
    training = read_training(package_dir, result.package)
    manifest = read_manifest(package_dir) or {}
    cells = step_cells(training, package_dir, manifest)
    rules, production = gate_rules(nb_path.resolve().parent, model or result.package)
    params = tuple(pipeline_parameter(p, fixed.get(p.name), p.name in fixed)
                   for p in notebook_parameters(nb))
    return {
        "package": result.package, "notebook": nb_path.name, "training": training,
        "parameters": params, "sweep": members, "gate_rules": rules,
        "requirements": () if local else requirements(package_dir), "base_image": image,
        "install_kfp": not local, "step_cells": {k: v[1] for k, v in cells.items()},
        "manifest": manifest}, cells, production


def compile_pipeline(notebook: os.PathLike, kfp_yaml: os.PathLike, *,
                     out: Optional[os.PathLike] = None, base_image: Optional[str] = None,
                     parameters: Optional[dict] = None, model: Optional[str] = None,
                     local: bool = False,
                     progress: Optional[Progress] = None) -> CompiledPipeline:
    """Compile ``notebook``'s package into a KFP v2 pipeline at ``kfp_yaml``.

    ``local`` leaves the pinned requirements out of the components (``kfp.local`` runs them in
    this environment, where they are installed already); ``model`` is the registry name the
    gate compares with (default: the package's name).
    """
    from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

    say = progress or (lambda message: None)
    nb_path = Path(notebook)
    nb = read_notebook(nb_path)
    fixed, members = typed_values(nb, parameters or {})
    require_kfp()
    result = _productionized(nb_path, Path(out) if out else None, say)
    image = base_image or default_base_image()
    args, cells, production = _spec_args(nb, nb_path, result, fixed=fixed, members=members,
                                         image=image, local=local, model=model)
    manifest = args.pop("manifest")
    say(f"compiling {len(args['training'].steps) + 1} components")
    with tempfile.TemporaryDirectory(prefix="mlops-kfp-code-") as scratch:
        code = write_code_dir(Path(result.out_dir), result.package, manifest, cells,
                              Path(scratch))
        compile_spec({**args, "code_dir": str(code)}, Path(kfp_yaml))
    return CompiledPipeline(
        notebook=str(nb_path), package=result.package, package_dir=result.out_dir,
        yaml=str(kfp_yaml), steps=tuple(s.name for s in args["training"].steps) + ("gate",),
        cells=cells, parameters={p.name: p.default for p in args["parameters"]},
        sweep=members, production=production, base_image=image)
