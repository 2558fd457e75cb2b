"""Drift monitoring: what a served version was asked (its request log) against the training
profile stored when it was registered.

Numeric columns: two-sample Kolmogorov-Smirnov test against the training quantile sketch and
the population stability index (PSI) over training deciles. Categorical columns: chi-square
over the training categories and the share of unseen categories. Every column: null rate and
all-zero. Predictions: the same tests against the model's predictions on its training data,
and, when a canary answered part of the traffic, the candidate's predictions against the
production version's. Thresholds: ``[tool.jupyter-mlops.monitor]`` in pyproject.toml.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterator, Optional

from ..errors import ConfigError, MissingDependency, NotebookNotFound

#: Rows of a column below which no statistical test is run (its checks say so).
_ID_SHARE = 0.5


@dataclass(frozen=True)
class Thresholds:
    """When a check counts as drift (``[tool.jupyter-mlops.monitor]`` overrides these)."""

    ks_pvalue: float = 0.01
    psi: float = 0.2
    chi2_pvalue: float = 0.01
    unseen_fraction: float = 0.05
    null_rate_increase: float = 0.1
    min_rows: int = 30

    @classmethod
    def from_table(cls, table: dict) -> "Thresholds":
        """From a pyproject table or ``--threshold`` values; ConfigError on unknown names."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(f"unknown monitor threshold {', '.join(unknown)}: the thresholds "
                              f"are {', '.join(sorted(known))}")
        return cls(**{k: (int(v) if k == "min_rows" else float(v)) for k, v in table.items()})


@dataclass(frozen=True)
class Check:
    """One test of one column (or of the predictions)."""

    column: str
    test: str
    value: Optional[float]
    threshold: Optional[float]
    drifted: bool
    detail: str = ""


@dataclass
class Served:
    """The logged requests of one version: records and predictions."""

    records: list = field(default_factory=list)
    predictions: list = field(default_factory=list)
    requests: int = 0


def log_files(path: Path) -> list[Path]:
    """The log and its rotated copies, oldest first."""
    rotated = sorted(path.parent.glob(path.name + ".*"), key=lambda p: p.suffix)
    numbered = [p for p in rotated if p.suffix[1:].isdigit()]
    return sorted(numbered, key=lambda p: -int(p.suffix[1:])) + [path]


def _entries(path: Path) -> Iterator[dict]:
    for file in log_files(path):
        if not file.is_file():
            continue
        with open(file, encoding="utf-8") as stream:
            for line in stream:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash mid-write


def read_log(path: Path) -> dict[str, Served]:
    """The scored requests in the log, by the version that answered them."""
    if not path.is_file():
        raise NotebookNotFound("no request log here: serve the version first (`jupyter mlops "
                               "serve M:V`), or name the log with --log", path=str(path))
    by_version: dict[str, Served] = {}
    for entry in _entries(path):
        if entry.get("status") != 200:
            continue
        records = entry.get("records")
        if isinstance(records, dict):
            records = records.get("data")
        if not isinstance(records, list):
            continue
        served = by_version.setdefault(str(entry.get("model_version")), Served())
        served.requests += 1
        served.records += records
        served.predictions += entry.get("predictions") or []
    return by_version


def _scipy():
    try:
        from scipy import stats  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise MissingDependency("monitor needs scipy: pip install jupyter-mlops[monitor]") \
            from None
    return stats


def psi(train_sketch: list[float], values) -> float:
    """Population stability index of ``values`` over the training deciles."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    edges = np.unique(np.quantile(train_sketch, np.linspace(0, 1, 11))[1:-1])
    expected = np.bincount(np.searchsorted(edges, train_sketch, side="right"),
                           minlength=len(edges) + 1) / len(train_sketch)
    actual = np.bincount(np.searchsorted(edges, values, side="right"),
                         minlength=len(edges) + 1) / len(values)
    expected, actual = np.clip(expected, 1e-4, None), np.clip(actual, 1e-4, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric_checks(name: str, train: dict, values, th: Thresholds) -> list[Check]:
    """KS and PSI of served numbers against the training sketch."""
    stats = _scipy()
    sketch = train["sketch"]
    ks = stats.ks_2samp(sketch, values)
    index = psi(sketch, values)
    checks = [Check(name, "KS p-value", float(ks.pvalue), th.ks_pvalue,
                    bool(ks.pvalue < th.ks_pvalue), f"statistic {ks.statistic:.3f}"),
              Check(name, "PSI", index, th.psi, index > th.psi)]
    zeros = float((values == 0).mean())
    if zeros == 1 and train.get("zero_fraction", 0) < 1:
        checks.append(Check(name, "all zero", zeros, None, True,
                            f"{train.get('zero_fraction', 0):.0%} zeros in training"))
    return checks


def categorical_checks(name: str, train: dict, values, th: Thresholds) -> list[Check]:
    """Chi-square over the training categories, and the share of unseen ones."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    stats = _scipy()
    counts = train["counts"]
    served = values.astype(str).value_counts()
    unseen = served[~served.index.isin(list(counts))]
    share = float(unseen.sum() / len(values))
    checks = [Check(name, "unseen categories", share, th.unseen_fraction,
                    share > th.unseen_fraction,
                    ", ".join(map(str, unseen.index[:5])) if len(unseen) else "")]
    names = list(counts)
    observed = np.array([served.get(k, 0) for k in names] + [unseen.sum()], dtype=float)
    expected = np.array([counts[k] for k in names] + [0], dtype=float)
    expected = (expected + 0.5) / (expected + 0.5).sum() * observed.sum()
    if len(names) > 1:
        result = stats.chisquare(observed, expected)
        checks.append(Check(name, "chi-square p-value", float(result.pvalue), th.chi2_pvalue,
                            bool(result.pvalue < th.chi2_pvalue),
                            f"statistic {result.statistic:.1f}"))
    return checks


def column_checks(name: str, column: dict, series, th: Thresholds) -> list[Check]:
    """Null rate plus the tests that fit the column's kind."""
    nulls = float(series.isna().mean())
    rise = nulls - column.get("null_fraction", 0.0)
    checks = [Check(name, "null rate", nulls, th.null_rate_increase,
                    rise > th.null_rate_increase, f"{column.get('null_fraction', 0):.1%} in "
                                                  "training")]
    values = series.dropna()
    train = column.get("distribution") or {}
    if len(values) < th.min_rows or not train:
        return checks + [Check(name, "distribution", None, None, False,
                               f"not tested: {len(values)} values" if train else
                               "not tested: no training distribution recorded")]
    if "sketch" in train and column.get("kind") == "number":
        return checks + numeric_checks(name, train, values.astype(float), th)
    if "counts" in train:
        if train.get("distinct", 0) > _ID_SHARE * sum(train["counts"].values()) \
                and train.get("distinct", 0) > 50:
            return checks + [Check(name, "distribution", None, None, False,
                                   "not tested: an identifier (almost every value distinct)")]
        return checks + categorical_checks(name, train, values, th)
    return checks


def prediction_checks(label: str, reference: dict, predictions: list,
                      th: Thresholds) -> list[Check]:
    """Served predictions against a reference distribution (training or production)."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    series = pd.Series(predictions)
    if reference.get("kind") == "number" and "sketch" in reference:
        series = pd.to_numeric(series, errors="coerce")
        return column_checks(label, {"kind": "number", "distribution": reference,
                                     "null_fraction": 0.0}, series, th)
    return column_checks(label, {"kind": "category", "distribution": reference,
                                 "null_fraction": 0.0}, series.astype("object"), th)


def as_dict(check: Check) -> dict:
    """JSON form of a check."""
    return asdict(check)


# --- one monitoring pass ------------------------------------------------------------------


@dataclass
class Report:
    """The verdict of one monitoring pass."""

    model: str
    version: int
    log: str
    requests: int
    rows: int
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: Optional[str] = None
    #: column -> (training distribution, served values), for the report's plots
    plotted: dict = field(default_factory=dict)

    @property
    def drifted(self) -> list[str]:
        """The columns (and predictions) with at least one check over its threshold."""
        return sorted({c.column for c in self.checks if c.drifted})

    def to_dict(self) -> dict:
        """JSON form."""
        return {"model": self.model, "version": self.version, "log": self.log,
                "requests": self.requests, "rows": self.rows, "drifted": self.drifted,
                "passed": not self.drifted, "checks": [as_dict(c) for c in self.checks],
                "notes": self.notes, "report": self.report}

    def table(self) -> str:
        """The readable table."""
        verdict = f"DRIFT in {', '.join(self.drifted)}" if self.drifted else "no drift"
        lines = [f"monitor {self.model}:{self.version}: {self.requests} requests, {self.rows} "
                 f"records from {self.log}: {verdict}",
                 f"  {'column':<24}{'check':<20}{'value':>10}{'threshold':>11}  result"]
        for c in self.checks:
            value = "-" if c.value is None else f"{c.value:.4g}"
            limit = "-" if c.threshold is None else f"{c.threshold:.4g}"
            result = "DRIFT" if c.drifted else "ok"
            lines.append(f"  {c.column:<24}{c.test:<20}{value:>10}{limit:>11}  {result}"
                         + (f"  ({c.detail})" if c.detail else ""))
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  report: {self.report}"] if self.report else []
        return "\n".join(lines)


def compare(profile: dict, served: Served, th: Thresholds,
            others: Optional[dict[str, Served]] = None) -> tuple[list[Check], dict, list[str]]:
    """Checks of every profiled input column and of the predictions; the plotted data; notes."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    from .inpackage import distribution, prediction_kind  # pylint: disable=import-outside-toplevel

    frame = pd.DataFrame([r for r in served.records if isinstance(r, dict)])
    checks, plotted, notes = [], {}, []
    for name, column in profile.get("columns", {}).items():
        if column.get("label"):
            continue
        if name not in frame.columns:
            notes.append(f"column {name} was never sent: not checked")
            continue
        checks += column_checks(name, column, frame[name], th)
        plotted[name] = (column.get("distribution") or {}, frame[name].dropna().tolist())
    trained = profile.get("predictions") or {}
    if trained and "error" not in trained and served.predictions:
        checks += prediction_checks("prediction", trained, served.predictions, th)
        plotted["prediction"] = (trained, [p for p in served.predictions if p is not None])
    elif served.predictions:
        notes.append("no training predictions recorded at register: predictions not compared")
    for label, other in sorted((others or {}).items()):
        kind = prediction_kind(served.predictions)
        reference = {"kind": kind, **distribution(pd.Series(served.predictions),
                                                  kind == "category")}
        name = f"prediction of {label}"
        checks += prediction_checks(name, reference, other.predictions, th)
        plotted[name] = (reference, [p for p in other.predictions if p is not None])
        notes.append(f"{label} answered {other.requests} requests ({len(other.predictions)} "
                     "predictions), compared with this version's")
    return checks, plotted, notes
