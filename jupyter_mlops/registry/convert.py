"""``convert M:V --to onnx``: the registered model as ONNX (skl2onnx), stored beside
``model.pkl`` as ``model.onnx`` with a parity report (``parity.json``) that gates
``promote --runtime onnx`` and serving with onnxruntime.

The conversion and the measurements run in the package's interpreter (``onnx_parity``);
here: which model and data, the tolerances (defaults overridden by
``[tool.jupyter-mlops.convert]`` and ``--tolerance``), the verdict, and storing the result:
``model.onnx`` then ``parity.json`` are each replaced atomically, the report naming the
sha256 of the file it measured, and the audit log records the conversion.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import (ConfigError, ConversionError, ExecutionError, MissingDependency,
                      NotebookNotFound)
from ..jobs.lineage import sha256_file
from ..tolerances import project_table
from .lifecycle import Progress, in_package, quiet
from .parity import ONNX_FILE, PARITY_FILE
from .serving import Target, resolve
from .store import Registry
from .validation import read_data_file

#: The gate's defaults: (bound, value). Probabilities and relative differences are float32
#: rounding apart when the conversion is right; a wrong one is off by far more.
TOLERANCES = {
    "min_label_agreement": ("min", 0.999),
    "max_probability_difference": ("max", 1e-4),
    "max_relative_difference": ("max", 1e-4),
    "max_metric_change": ("max", 1e-3),
}
#: What each compared figure is gated by.
GATED = {"label_agreement": "min_label_agreement",
         "max_probability_difference": "max_probability_difference",
         "max_relative_difference": "max_relative_difference"}
#: Files of a model folder that are not the model's state (left out of the ONNX scratch).
NOT_STATE = ("model.pkl", ONNX_FILE, PARITY_FILE, "requests.jsonl")


def tolerances_for(project: Path, given: dict[str, float]) -> dict[str, float]:
    """The defaults, ``[tool.jupyter-mlops.convert]`` of the nearest pyproject.toml, then
    ``given``; ConfigError naming an unknown one."""
    merged = {name: value for name, (_, value) in TOLERANCES.items()}
    for source in (project_table(project, "convert"), given):
        for name, value in source.items():
            if name not in TOLERANCES:
                raise ConfigError(f"unknown conversion tolerance {name!r}: choose from "
                                  + ", ".join(TOLERANCES))
            merged[name] = float(value)
    return merged


def _check(name: str, data: str, value: Optional[float], tolerance_name: str,
           tolerances: dict[str, float], **extra) -> dict:
    bound, limit = TOLERANCES[tolerance_name][0], tolerances[tolerance_name]
    ok = value is not None and math.isfinite(value) and (
        value >= limit - 1e-12 if bound == "min" else value <= limit + 1e-12)
    return {"check": name, "data": data, "value": value, "bound": bound, "tolerance": limit,
            "ok": ok, **extra}


def checks(report: dict, tolerances: dict[str, float]) -> list[dict]:
    """Every gated figure of the report, per data set, with its verdict."""
    rows = []
    for data in ("sample", "evaluation"):
        for figure, tolerance in GATED.items():
            if figure in (report.get(data) or {}):
                rows.append(_check(figure.replace("_", " "), data, report[data][figure],
                                   tolerance, tolerances))
        both = report.get(f"{data}_metrics") or {}
        for metric in sorted(both.get("sklearn", {})):
            old, new = both["sklearn"][metric], both.get("onnx", {}).get(metric)
            change = None if old is None or new is None else abs(new - old)
            rows.append(_check(metric, data, change, "max_metric_change", tolerances,
                               sklearn=old, onnx=new))
    return rows


def _size(count: int) -> str:
    return f"{count / 1024:.1f} KB" if count < 1 << 20 else f"{count / (1 << 20):.1f} MB"


def _num(value) -> str:
    return "-" if value is None else f"{value:.4g}"


@dataclass
class Conversion:
    """What ``convert`` did and measured, and its verdict."""

    target: str
    report: dict
    tolerances: dict[str, float]
    checks: list[dict]
    notes: list[str] = field(default_factory=list)
    stored: Optional[Path] = None

    @property
    def passed(self) -> bool:
        """True when every gated figure is within its tolerance (and one was gated)."""
        return bool(self.checks) and all(row["ok"] for row in self.checks)

    def to_dict(self) -> dict:
        """JSON form (also ``parity.json``, with the sha256 of the model it measured)."""
        return {"target": self.target, "to": "onnx", "passed": self.passed,
                "checks": self.checks, "tolerances": self.tolerances, "notes": self.notes,
                "path": str(self.stored) if self.stored else None, **self.report}

    def table(self) -> str:
        """The readable report."""
        report = self.report
        lines = [f"convert {self.target} to ONNX: " + ("PASSED" if self.passed else "FAILED"),
                 f"  converted: {report['scope']}",
                 f"  {'check':<28}{'data':<12}{'sklearn':>10}{'onnx':>10}{'value':>11}"
                 f"{'tolerance':>14}  result"]
        for row in self.checks:
            bound = ">=" if row["bound"] == "min" else "<="
            lines.append(f"  {row['check']:<28}{row['data']:<12}{_num(row.get('sklearn')):>10}"
                         f"{_num(row.get('onnx')):>10}{_num(row['value']):>11}"
                         f"{bound + ' ' + _num(row['tolerance']):>14}  "
                         + ("ok" if row["ok"] else "FAIL"))
        size, speed = report["bytes"], report["latency_ms"]
        lines += [f"  size: model.pkl {_size(size['sklearn'])}, model.onnx {_size(size['onnx'])}",
                  f"  one-record predict: sklearn {speed['sklearn']:.3f} ms, onnx "
                  f"{speed['onnx']:.3f} ms ({speed['sklearn'] / max(speed['onnx'], 1e-9):.0f}x)",
                  "  quantization: " + ("applied to " + ", ".join(
                      report["quantization"]["operators"]) + f" (unquantized "
                      f"{_size(size['onnx_unquantized'])})" if report["quantization"]["applied"]
                      else report["quantization"]["reason"])]
        lines += [f"  note: {n}" for n in self.notes]
        if self.stored:
            lines.append(f"  stored: {self.stored} (report: {self.stored.parent / PARITY_FILE})")
        return "\n".join(lines)


def _scope(report: dict) -> str:
    """Which part of the scoring path runs in onnxruntime, and which stays Python."""
    steps = ", ".join(report["steps"])
    kept = "featurize.py and the trained state run" if report["trained_state"] \
        else "featurize.py runs"
    return (f"the model score.py calls after featurize ({steps}); {kept} in Python with "
            "either runtime (the converter takes scikit-learn estimators only)")


def _onnx_dir(model_dir: Path, scratch: Path) -> Path:
    """A model folder for the ONNX runtime to be measured in: the model's state and
    parameters, without its pickled model (model.onnx is written there)."""
    folder = scratch / "model"
    folder.mkdir()
    for item in model_dir.iterdir():
        if item.is_file() and not item.name.startswith((".", *NOT_STATE)):
            shutil.copy2(item, folder / item.name)
    return folder


def _evaluation_data(target: Target, parameters: dict, data: Optional[Path], out: Path,
                     progress: Progress) -> tuple[Optional[Path], Optional[str]]:
    """The evaluation frame (``data``, else the training data) pickled at ``out``, or None;
    a note saying what it is."""
    if data is not None:
        if not data.is_file():
            raise NotebookNotFound("no such evaluation data file", path=str(data))
        progress(f"reading evaluation data {data}")
        read_data_file(target.package_dir, target.package, data, out, target.notebook_dir)
        return out, None
    if not (target.package_dir / target.package / "data.py").exists():
        return None, "no data module: compared on the recorded sample only"
    progress("loading the training data as evaluation data")
    try:
        in_package(target.package_dir, {"action": "load", "package": target.package,
                                        "parameters": parameters, "out": str(out)},
                   target.notebook_dir)
    except ExecutionError as exc:  # load_data gives arrays, not a table with its label
        last = (str(exc).strip().splitlines() or ["?"])[-1]
        return None, (f"the training data is not a table to evaluate on ({last}): compared "
                      "on the recorded sample only; pass --data FILE for held-out data")
    return out, "evaluation data: the training data (pass --data FILE for held-out data)"


def _checked_target(store_home: Optional[Path], spec: str) -> Target:
    target = resolve(store_home, spec)
    if target.model_dir is None or not (target.model_dir / "model.pkl").is_file():
        raise ConfigError(f"{target.label} has no trained model.pkl to convert: train it "
                          f"first (`python -m {target.package}.train --model-dir outputs`)")
    if not (target.package_dir / target.package / "onnx_model.py").is_file():
        raise ConfigError(f"{target.label}'s package was generated without the ONNX runtime "
                          "of score.py (an older jupyter-mlops): productionize or register "
                          "it again")
    return target


def _sample(target: Target) -> list:
    fixture = target.package_dir / "tests" / "fixtures" / "recording.json"
    records = json.loads(fixture.read_text(encoding="utf-8")).get("records") \
        if fixture.is_file() else None
    if not records:
        raise NotebookNotFound("no recorded sample to compare the runtimes on: productionize "
                               "without --no-execute records one", path=str(fixture))
    return records


def _measured(answer: dict, label: str) -> dict:
    """The in-package report, or the error it stands for."""
    if "missing" in answer:
        raise MissingDependency(f"{answer['error']}: pip install jupyter-mlops[onnx]")
    if "step" in answer:
        raise ConversionError(f"{label} cannot be converted to ONNX: {answer['error']}",
                              step=answer["step"])
    if "error" in answer or "bytes" not in answer:
        raise ConversionError(f"converting {label} failed: {answer.get('error', answer)}")
    return answer


def _store(conversion: Conversion, built: Path, model_dir: Path) -> None:
    """model.onnx, then its parity.json (naming its sha256), each replaced atomically."""
    onnx_path = model_dir.resolve() / ONNX_FILE
    partial = model_dir / f".{ONNX_FILE}.{os.getpid()}"
    shutil.copy2(built, partial)
    os.replace(partial, onnx_path)
    conversion.stored = onnx_path
    document = {**conversion.to_dict(), "sha256": sha256_file(onnx_path), "at": time.time()}
    partial = model_dir / f".{PARITY_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(document, indent=2, sort_keys=True, default=str),
                       encoding="utf-8")
    os.replace(partial, model_dir / PARITY_FILE)


def convert(store_home: Optional[Path], spec: str, *, to: str = "onnx", quantize: bool = False,
            data: Optional[Path] = None, tolerances: Optional[dict[str, float]] = None,
            progress: Progress = quiet) -> Conversion:
    """Convert ``spec`` (``NAME:VERSION`` or a package folder with a trained model) to ONNX,
    measure its parity with the scikit-learn model and store both. ConversionError (exit 2)
    when a step cannot be converted; the verdict is the Conversion's ``passed``."""
    if to != "onnx":
        raise ConfigError(f"--to {to}: only onnx is supported")
    target = _checked_target(store_home, spec)
    assert target.model_dir is not None
    limits = tolerances_for(target.notebook_dir, tolerances or {})
    # a registered target's label is its resolved NAME:VERSION
    version = Registry(_store_of(store_home)).get(*target.label.split(":")) \
        if target.registered else None
    parameters = version.record.get("parameters", {}) if version else _parameters(target)
    with tempfile.TemporaryDirectory(prefix="mlops-convert-") as scratch:
        frame, note = _evaluation_data(target, parameters, data, Path(scratch) / "data.pkl",
                                       progress)
        onnx_dir = _onnx_dir(target.model_dir, Path(scratch))
        progress(f"converting {target.label} with skl2onnx and comparing both runtimes")
        job = {"package": target.package, "model_dir": str(target.model_dir),
               "onnx_dir": str(onnx_dir), "out": str(onnx_dir / ONNX_FILE),
               "records": _sample(target), "data": str(frame) if frame else None,
               "quantize": quantize, "metrics": sorted(version.record.get("metrics", {}))
               if version else _recorded_metrics(target)}
        report = _measured(in_package(target.package_dir, job, target.notebook_dir,
                                      module="jupyter_mlops.registry.onnx_parity"),
                           target.label)
        report["scope"] = _scope(report)
        conversion = Conversion(target.label, report, limits, checks(report, limits),
                                [note] if note else [])
        _store(conversion, onnx_dir / ONNX_FILE, target.model_dir)
    if version is not None:
        Registry(_store_of(store_home)).record_event(
            version.name, version.version, "converted", details={
                "to": "onnx", "passed": conversion.passed,
                "quantized": report["quantization"]["applied"],
                "sha256": sha256_file(target.model_dir / ONNX_FILE),
                "failed": [f"{c['check']} ({c['data']})" for c in conversion.checks
                           if not c["ok"]]})
    return conversion


def _store_of(store_home: Optional[Path]):
    from ..store import RunStore, find_home  # pylint: disable=import-outside-toplevel

    return RunStore(store_home or find_home())


def _parameters(target: Target) -> dict:
    assert target.model_dir is not None
    used = target.model_dir / "parameters.json"
    return json.loads(used.read_text(encoding="utf-8")) if used.is_file() else {}


def _recorded_metrics(target: Target) -> list[str]:
    """A package folder's metric names: those its training wrote beside the model."""
    assert target.model_dir is not None
    written = target.model_dir / "metrics.json"
    return sorted(json.loads(written.read_text(encoding="utf-8"))) if written.is_file() else []
