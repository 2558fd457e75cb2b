"""Runs one step of a jupyter-mlops pipeline inside its Kubeflow component.

This file is embedded in every component beside the package (``embedded_artifact_path``), so
it must not import jupyter-mlops: the component's image has only the package's requirements.
Values pass between steps as typed artifacts: frames and series as parquet, arrays as ``.npy``,
sparse matrices as ``.npz``, plain data as JSON; only fitted objects (the model and the state
scoring reuses, ``Model`` artifacts) are pickled, as the package's own ``train.py`` saves them.
"""

import ast
import builtins
import importlib
import json
import os
import pickle
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace

CELLS_FILE = "mlops_kfp_cells.json"
FAILURE_MARK = "MLOPS_STEP_FAILED "
VALUE = "value"


def _frame_columns_are_text(frame) -> bool:
    return all(isinstance(c, str) for c in frame.columns)


def save_value(value, folder: str, fitted: bool = False) -> str:
    """Write ``value`` into the artifact folder in the format its type calls for."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    kind = type(value).__module__.split(".")[0] + "." + type(value).__name__
    if fitted:
        return _pickled(value, out)
    if kind == "pandas.DataFrame" and _frame_columns_are_text(value):
        value.to_parquet(out / f"{VALUE}.parquet")
        return "parquet"
    if kind == "pandas.Series":
        name = value.name if isinstance(value.name, str) else None
        value.to_frame(name or VALUE).to_parquet(out / f"{VALUE}.series.parquet")
        (out / "series.json").write_text(json.dumps({"name": value.name}), encoding="utf-8")
        return "parquet"
    if kind == "numpy.ndarray" and value.dtype != object:
        import numpy  # pylint: disable=import-outside-toplevel

        numpy.save(out / f"{VALUE}.npy", value, allow_pickle=False)
        return "npy"
    if kind.startswith("scipy.") and hasattr(value, "tocsr"):
        from scipy import sparse  # pylint: disable=import-outside-toplevel

        sparse.save_npz(out / f"{VALUE}.npz", value.tocsr())
        return "npz"
    try:
        text = json.dumps(value)
        if json.loads(text) == value:
            (out / f"{VALUE}.json").write_text(text, encoding="utf-8")
            return "json"
    except (TypeError, ValueError):
        pass
    print(f"note: {kind} has no data format here; it passes pickled", flush=True)
    return _pickled(value, out)


def _pickled(value, out: Path) -> str:
    with open(out / f"{VALUE}.pkl", "wb") as stream:
        pickle.dump(value, stream)
    return "pickle"


def load_value(folder: str):
    """Read back what :func:`save_value` wrote."""
    out = Path(folder)
    if (out / f"{VALUE}.parquet").exists():
        import pandas  # pylint: disable=import-outside-toplevel

        return pandas.read_parquet(out / f"{VALUE}.parquet")
    if (out / f"{VALUE}.series.parquet").exists():
        import pandas  # pylint: disable=import-outside-toplevel

        series = pandas.read_parquet(out / f"{VALUE}.series.parquet").iloc[:, 0]
        return series.rename(json.loads((out / "series.json").read_text(encoding="utf-8"))["name"])
    if (out / f"{VALUE}.npy").exists():
        import numpy  # pylint: disable=import-outside-toplevel

        return numpy.load(out / f"{VALUE}.npy", allow_pickle=False)
    if (out / f"{VALUE}.npz").exists():
        from scipy import sparse  # pylint: disable=import-outside-toplevel

        return sparse.load_npz(out / f"{VALUE}.npz")
    if (out / f"{VALUE}.json").exists():
        return json.loads((out / f"{VALUE}.json").read_text(encoding="utf-8"))
    with open(out / f"{VALUE}.pkl", "rb") as stream:
        return pickle.load(stream)


def _cells(code_dir: str) -> dict:
    path = Path(code_dir) / CELLS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def failure(step: str, exc: BaseException, code_dir: str) -> dict:
    """Where a step failed: the notebook cell of the deepest package line in the traceback."""
    cells, root = _cells(code_dir), os.path.realpath(code_dir)
    where = {"cell_id": None, "cell_number": None, "line": None}
    for frame in traceback.extract_tb(exc.__traceback__):
        full = os.path.realpath(frame.filename)
        if not full.startswith(root + os.sep):
            continue
        relative = Path(os.path.relpath(full, root)).as_posix()
        found = cells.get("lines", {}).get(relative, {}).get(str(frame.lineno))
        if found:
            where = {"cell_id": found[0], "line": found[1],
                     "cell_number": cells.get("numbers", {}).get(found[0])}
    if where["cell_id"] is None and cells.get("steps", {}).get(step):
        where["cell_id"], where["cell_number"] = cells["steps"][step]
    return {"step": step, **where, "error": f"{type(exc).__name__}: {exc}"}


def _namespace(step: dict, parameters: dict, working_dir: str, values: set) -> dict:
    """The names the step's lines use: its own module's globals when they have them all (a
    data step then never imports the training libraries), else train.py's, where main() is;
    plus ``args`` as main() parses them."""
    if working_dir:
        os.chdir(working_dir)
    tree = ast.parse("\n".join(step["lines"]))
    wanted = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - values - {"args"}
    wanted -= set(dir(builtins))
    module = None
    if step.get("module"):
        module = importlib.import_module(f"{step['package']}.{step['module']}")
        if not wanted <= set(vars(module)):
            module = None
    if module is None:
        module = importlib.import_module(f"{step['package']}.train")
    return {**vars(module), "args": SimpleNamespace(**parameters)}


def run_step(step: dict, code_dir: str, parameters: dict, inputs: dict, outputs: dict, *,
             working_dir: str = "") -> dict:
    """Load the inputs, run the step's lines of ``main()``, save the outputs.

    ``step``: its ``name``, the ``package``, the ``module`` defining the function it calls, the
    ``lines`` of main() it runs and the names of the ``fitted`` objects among its outputs
    (pickled as ``Model`` artifacts).
    """
    try:
        namespace = _namespace(step, parameters, working_dir, set(inputs))
        namespace.update({name: load_value(artifact.path) for name, artifact in inputs.items()})
        # pylint: disable-next=exec-used  # the package's own main() lines, nothing else
        exec("\n".join(step["lines"]), namespace)
    except Exception as exc:
        where = failure(step["name"], exc, code_dir)
        print(FAILURE_MARK + json.dumps(where), flush=True)
        cell = f"notebook cell {where['cell_number']} (id {where['cell_id']})" \
            if where["cell_id"] else "the package"
        print(f"step {step['name']} failed in {cell}: {where['error']}", file=sys.stderr,
              flush=True)
        raise
    for name, artifact in outputs.items():
        fitted = name in step.get("fitted", ())
        artifact.metadata["format"] = save_value(namespace[name], artifact.path, fitted)
        if hasattr(artifact, "log_metric") and isinstance(namespace[name], dict):
            for key, value in namespace[name].items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    artifact.log_metric(str(key), float(value))
    return namespace


def _verdict(metrics: dict, rules: dict) -> tuple[bool, list]:
    """Each gated metric against production: a negative tolerance bounds a drop, a positive
    one a rise (the registry's ``validate`` rule)."""
    rows = []
    for name, rule in sorted(rules.items()):
        candidate, tolerance = metrics.get(name), rule.get("tolerance")
        if candidate is None:
            rows.append({"metric": name, "ok": False, "detail": "the candidate lacks it"})
            continue
        change = candidate - rule["production"]
        ok = None
        if tolerance is not None:
            rises = tolerance < 0 or (tolerance == 0 and rule.get("higher_is_better") is not False)
            ok = change >= tolerance - 1e-12 if rises else change <= tolerance + 1e-12
        rows.append({"metric": name, "production": rule["production"], "candidate": candidate,
                     "change": change, "tolerance": tolerance, "ok": ok})
    return all(r["ok"] is not False for r in rows), rows


def run_gate(step: dict, code_dir: str, parameters: dict, inputs: dict, outputs: dict, *,
             rules: dict, working_dir: str = "") -> bool:
    """Save the model as ``python -m PACKAGE.train`` does into ``outputs["candidate"]``, then
    compare its metrics with production into ``outputs["verdict"]``."""
    candidate, verdict = outputs["candidate"], outputs["verdict"]
    parameters = {**parameters, "model_dir": candidate.path}
    run_step(step, code_dir, parameters, inputs, {}, working_dir=working_dir)
    metrics = json.loads((Path(candidate.path) / "metrics.json").read_text(encoding="utf-8"))
    passed, rows = _verdict(metrics, rules)
    for name, value in metrics.items():
        verdict.log_metric(name, value)
    verdict.log_metric("gate_passed", 1.0 if passed else 0.0)
    gate = {"passed": passed, "against_production": bool(rules), "metrics": rows}
    Path(verdict.path).parent.mkdir(parents=True, exist_ok=True)
    Path(verdict.path).write_text(json.dumps(gate, indent=2, sort_keys=True), encoding="utf-8")
    print(json.dumps({"gate": gate}), flush=True)
    return passed
