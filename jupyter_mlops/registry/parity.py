"""The parity report ``convert`` writes beside a model's ``model.onnx`` (``parity.json``), as
the gates read it: ``promote --runtime onnx``, ``serve``/``smoke --runtime onnx``, and what
``validate``, ``models show`` and the Models panel say about it.

A report counts only for the ``model.onnx`` it was measured on (its sha256): a file replaced
since is reported as such, never served under the old verdict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..errors import CheckFailed, ConfigError
from ..jobs.lineage import sha256_file

ONNX_FILE = "model.onnx"
PARITY_FILE = "parity.json"
RUNTIMES = ("sklearn", "onnx")


def read_parity(model_dir: Optional[Path]) -> Optional[dict]:
    """The parity report in ``model_dir``, with ``current`` saying whether the model.onnx
    there is the one it measured; None when the model was never converted."""
    if model_dir is None or not (model_dir / PARITY_FILE).is_file():
        return None
    try:
        report = json.loads((model_dir / PARITY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    report["current"] = sha256_file(model_dir / ONNX_FILE) == report.get("sha256")
    return report


def parity_view(report: Optional[dict]) -> Optional[dict]:
    """What the audit log and the Models panel keep of a parity report."""
    if report is None:
        return None
    return {key: report.get(key) for key in ("passed", "current", "at", "checks",
                                             "quantization", "latency_ms", "bytes", "scope")}


def summary(report: Optional[dict]) -> str:
    """One line: the verdict and the figures it rests on."""
    if report is None:
        return "not converted to ONNX (`jupyter mlops convert M:V --to onnx`)"
    if not report.get("current"):
        return "model.onnx changed since its parity was measured: convert again"
    figures = []
    for check in report.get("checks", []):
        if check["data"] == "evaluation" or len(figures) < 2:
            figures.append(f"{check['check']} {check['value']:.3g} ({check['data']})")
    verdict = "PASSED" if report.get("passed") else "FAILED"
    quantized = " quantized" if (report.get("quantization") or {}).get("applied") else ""
    return f"ONNX{quantized} parity {verdict}: " + ", ".join(figures[:4])


def require_parity(model_dir: Optional[Path], label: str) -> dict:
    """The passed, current parity report of ``label``'s model.onnx; ConfigError when it was
    never converted, CheckFailed when its parity failed or model.onnx changed since."""
    report = read_parity(model_dir)
    if report is None:
        raise ConfigError(f"{label} has no ONNX model: `jupyter mlops convert {label} --to "
                          "onnx` first")
    if not report["current"]:
        raise CheckFailed(f"{label}'s model.onnx changed since its parity was measured: "
                          f"`jupyter mlops convert {label} --to onnx` again")
    if not report.get("passed"):
        failed = [f"{c['check']} on the {c['data']} data" for c in report.get("checks", [])
                  if c.get("ok") is False]
        raise CheckFailed(f"{label}'s ONNX model failed its parity check ("
                          + ", ".join(failed[:4]) + "): it is not served or promoted with "
                          "onnxruntime; see `jupyter mlops convert` for the figures")
    return report


def check_runtime(runtime: str) -> str:
    """``runtime`` if it is one score.py knows, else ConfigError."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"--runtime {runtime}: choose one of {', '.join(RUNTIMES)}")
    return runtime
