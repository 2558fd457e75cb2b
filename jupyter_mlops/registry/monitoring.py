"""``monitor M[:V]``: read the version's request log, compare it with the training profile
(``monitor.compare``), write the HTML report with one plot per drifted column, and record the
verdict in the audit log."""

from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path
from typing import Optional

from ..errors import ConfigError, MissingDependency
from ..store import RunStore
from ..tolerances import project_table
from .lifecycle import MODEL_DIR
from .monitor import Check, Report, Thresholds, compare, read_log
from .store import Registry


def thresholds_for(project: Path, given: dict[str, float]) -> Thresholds:
    """``[tool.jupyter-mlops.monitor]`` of the nearest pyproject.toml, overridden by ``given``."""
    return Thresholds.from_table({**project_table(project, "monitor"), **given})


def _figure(name: str, train: dict, served: list) -> str:
    """One plot (training against served), as a base64 PNG."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise MissingDependency("the drift report needs matplotlib: pip install "
                                "jupyter-mlops[monitor]") from None
    fig, axis = plt.subplots(figsize=(6, 3.2), dpi=90)
    try:
        if "sketch" in train:
            numbers = [float(v) for v in served if isinstance(v, (int, float))]
            low = min(train["sketch"] + numbers)
            high = max(train["sketch"] + numbers)
            bins = [low + (high - low) * i / 30 for i in range(31)] if high > low else 10
            axis.hist(train["sketch"], bins=bins, density=True, alpha=0.55, label="training")
            axis.hist(numbers, bins=bins, density=True, alpha=0.55, label="served")
        else:
            counts = train.get("counts", {})
            total = sum(counts.values()) or 1
            seen = [str(v) for v in served]
            names = list(counts)[:15] + sorted(set(seen) - set(counts))[:5]
            positions = range(len(names))
            axis.bar([p - 0.2 for p in positions], [counts.get(n, 0) / total for n in names],
                     width=0.4, label="training")
            axis.bar([p + 0.2 for p in positions],
                     [seen.count(n) / max(len(seen), 1) for n in names], width=0.4,
                     label="served")
            axis.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=7)
        axis.set_title(name)
        axis.legend()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _row(check: Check) -> str:
    value = "-" if check.value is None else f"{check.value:.4g}"
    limit = "-" if check.threshold is None else f"{check.threshold:.4g}"
    result = '<b class="drift">DRIFT</b>' if check.drifted else "ok"
    return (f"<tr><td>{html.escape(check.column)}</td><td>{html.escape(check.test)}</td>"
            f"<td>{value}</td><td>{limit}</td><td>{result}</td>"
            f"<td>{html.escape(check.detail)}</td></tr>")


def render_html(report: Report) -> str:
    """The report page: verdict, every check, one plot per drifted column (self-contained)."""
    plots = "".join(
        f'<figure><img alt="{html.escape(n)}: training against served" '
        f'src="data:image/png;base64,{_figure(n, *report.plotted[n])}"></figure>'
        for n in report.drifted if n in report.plotted)
    verdict = (f"Drift in {html.escape(', '.join(report.drifted))}" if report.drifted
               else "No drift")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Drift report {html.escape(report.model)}:{report.version}</title>
<style>body {{ font: 14px system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 0.2em 0.8em; text-align: left;
border-bottom: 1px solid #eee; }} .drift {{ color: #b00; }} figure {{ display: inline-block;
margin: 0.5em; }}</style></head><body>
<h1>Drift report: {html.escape(report.model)}:{report.version}</h1>
<p><b>{verdict}</b>. {report.requests} requests, {report.rows} records from
<code>{html.escape(report.log)}</code>, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.</p>
{plots}
<table><tr><th>column</th><th>check</th><th>value</th><th>threshold</th><th>result</th>
<th>detail</th></tr>{''.join(_row(c) for c in report.checks)}</table>
<ul>{notes}</ul></body></html>
"""


def monitor(store: RunStore, spec: str, *, log: Optional[Path] = None,
            thresholds: Optional[dict[str, float]] = None,
            report: Optional[Path] = None) -> Report:
    """Compare a version's served requests with its training profile; write the HTML report;
    record the verdict in the audit log. ``spec``: ``M`` (its production version, else the
    newest) or ``M:V``."""
    name, _, version = spec.partition(":")
    registry = Registry(store)
    if not version:
        version = "production" if any(v.stage == "production"
                                      for v in registry.versions(name)) else "latest"
    item = registry.get(name, version)
    profile = item.record.get("profile")
    if not profile:
        raise ConfigError(f"{item.ref} has no training profile (its notebook has no data "
                          "cell): nothing to compare the served requests with")
    log = log or item.path / MODEL_DIR / "requests.jsonl"
    by_version = read_log(log)
    served = by_version.pop(item.ref, None)
    if served is None:
        raise ConfigError(f"{log} has no request {item.ref} answered (versions in it: "
                          f"{', '.join(sorted(by_version)) or 'none'})", path=str(log))
    th = thresholds_for(Path(item.record["notebook"]).parent, thresholds or {})
    checks, plotted, notes = compare(profile, served, th, by_version)
    result = Report(name, item.version, str(log), served.requests, len(served.records),
                    checks, notes, plotted=plotted)
    path = report or store.home / "reports" / f"monitor-{name}-{item.version}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    result.report = str(path)
    summary = {k: v for k, v in result.to_dict().items() if k != "checks"}
    summary["checks"] = [vars(c) for c in checks if c.drifted]
    registry.record_event(name, item.version, "monitored", details=summary)
    return result
