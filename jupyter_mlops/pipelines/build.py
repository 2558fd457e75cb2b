"""From a productionized package to a compiled KFP v2 pipeline YAML.

package dir -> training steps (``steps.py``) -> the code every component carries (package +
runtime + cell map) -> pipeline module text (``source.py``) -> import it -> kfp's compiler.
kfp stamps the time into the archive it embeds; ``_stable_archives`` makes it a fixed one so
the same package compiles to the same bytes.
"""

from __future__ import annotations

import ast
import contextlib
import gzip
import importlib.util
import json
import os
import shutil
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError
from ..extract.parameters import Parameter
from .source import PipelineParameter, PipelineSpec, pipeline_source
from .steps import TrainingSteps, training_steps

KFP_EXTRA = "pip install 'jupyter-mlops[kfp]'"
RUNTIME_MODULE = "mlops_kfp_step"
CELLS_FILE = "mlops_kfp_cells.json"
FIXED_MTIME = 946684800  # 2000-01-01: archives must not carry the compile time


def require_kfp() -> None:
    """ConfigError naming the extra when the KFP SDK is not installed."""
    try:
        import kfp  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        raise ConfigError(f"Kubeflow Pipelines needs the KFP SDK: {KFP_EXTRA}") from None


def pipeline_parameter(param: Parameter, value: object = None,
                       given: bool = False) -> PipelineParameter:
    """A parameters-cell name as a typed pipeline parameter (``value`` overrides the default)."""
    try:
        default = ast.literal_eval(param.default)
    except (ValueError, SyntaxError, TypeError):
        default = None
    if given:
        default = value
    kind = param.type_name or type(default).__name__
    if kind in ("int", "float", "str", "bool", "list", "dict") and default is not None:
        return PipelineParameter(param.name, kind, default)
    return PipelineParameter(param.name, "str", json.dumps(default), json_text=True)


def requirements(package_dir: Path) -> tuple[str, ...]:
    """The package's pinned requirements, as the components install them, plus pyarrow (the
    steps pass frames as parquet) pinned to the version here."""
    path = package_dir / "requirements.txt"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = [line.strip() for line in text.splitlines()]
    pins = [line for line in lines if line and not line.startswith("#")]
    if not any(line.lower().startswith("pyarrow") for line in pins):
        try:
            pins.append(f"pyarrow=={metadata.version('pyarrow')}")
        except metadata.PackageNotFoundError:
            pins.append("pyarrow")
    return tuple(pins)


def _function_cells(package_dir: Path, package: str, manifest: dict) -> dict[str, list]:
    """Each top-level function of the package -> [cell id, cell number] of its first line."""
    numbers = {c["id"]: c["number"] for c in manifest.get("cells", [])}
    found: dict[str, list] = {}
    for path, lines in manifest.get("line_map", {}).items():
        module = package_dir / path
        if not path.startswith(f"{package}/") or not module.exists():
            continue
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name in found:
                continue
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                if str(line) in lines:
                    cell_id = lines[str(line)][0]
                    found[node.name] = [cell_id, numbers.get(cell_id)]
                    break
    return found


def step_cells(training: TrainingSteps, package_dir: Path, manifest: dict) -> dict[str, list]:
    """Each step -> [cell id, cell number] of the notebook cell its function came from."""
    functions = _function_cells(package_dir, training.package, manifest)
    cells = {}
    for step in training.steps:
        called = next((name for name in functions if any(
            f"{name}(" in line for line in step.statements if name != "main")), None)
        if called is not None:
            cells[step.name] = functions[called]
    return cells


def write_code_dir(package_dir: Path, package: str, manifest: dict, cells: dict,
                   target: Path) -> Path:
    """What every component carries: the package's modules, the runtime and the cell map."""
    shutil.copytree(package_dir / package, target / package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copyfile(Path(__file__).with_name("runtime.py"), target / f"{RUNTIME_MODULE}.py")
    numbers = {c["id"]: c["number"] for c in manifest.get("cells", [])}
    (target / CELLS_FILE).write_text(json.dumps(
        {"lines": manifest.get("line_map", {}), "numbers": numbers, "steps": cells},
        sort_keys=True), encoding="utf-8")
    return target


def read_training(package_dir: Path, package: str) -> TrainingSteps:
    """The steps of the package's ``train.py``; ConfigError when it has no training."""
    train_py = package_dir / package / "train.py"
    if not train_py.exists():
        raise ConfigError("the notebook has no training cell, so there is nothing to make a "
                          "pipeline of: tag one `mlops:training`", path=str(train_py))
    return training_steps(train_py.read_text(encoding="utf-8"), package, str(train_py))


class _StableTar(tarfile.TarFile):
    """A TarFile whose members carry no owner and a fixed time."""

    def add(self, name, arcname=None, recursive=True, *, filter=None):
        # pylint: disable=redefined-builtin,arguments-differ
        def fixed(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.mtime, info.uid, info.gid, info.uname, info.gname = FIXED_MTIME, 0, 0, "", ""
            return info
        super().add(name, arcname, recursive, filter=fixed)


@contextlib.contextmanager
def _stable_archives() -> Iterator[None]:
    """While components are built, kfp's archive of the embedded code is reproducible."""
    from kfp.dsl import component_factory  # pylint: disable=import-outside-toplevel

    shim_gzip = type("gzip", (), {"compress": staticmethod(
        lambda data: gzip.compress(data, mtime=0))})
    shim_tar = type("tarfile", (), {"open": staticmethod(_StableTar.open)})
    saved = component_factory.gzip, component_factory.tarfile
    component_factory.gzip, component_factory.tarfile = shim_gzip, shim_tar
    try:
        yield
    finally:
        component_factory.gzip, component_factory.tarfile = saved


def _fixed_times(folder: Path) -> None:
    """Fixed file times in the code folder, so its archive does not change with them."""
    for path in sorted(folder.rglob("*")):
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))


def compile_spec(spec_args: dict, yaml_path: Path) -> str:
    """Write the pipeline module, import it and compile it to ``yaml_path``; its source."""
    require_kfp()
    from kfp import compiler  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory(prefix="mlops-kfp-") as work:
        spec = PipelineSpec(**spec_args)
        text = pipeline_source(spec)
        module_file = Path(work) / f"{spec.package}_pipeline.py"
        module_file.write_text(text, encoding="utf-8")
        _fixed_times(Path(spec.code_dir))
        name = f"_mlops_pipeline_{spec.package}"
        loader = importlib.util.spec_from_file_location(name, module_file)
        module = importlib.util.module_from_spec(loader)
        sys.modules[name] = module
        try:
            with _stable_archives():
                loader.loader.exec_module(module)
            yaml_path.parent.mkdir(parents=True, exist_ok=True)
            compiler.Compiler().compile(module.pipeline, str(yaml_path))
        finally:
            sys.modules.pop(name, None)
    return text
