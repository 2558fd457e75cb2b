"""``METRIC=NUMBER`` tolerances as given on a command line (``reproduce``, ``validate``,
``monitor``), and the ``[tool.jupyter-mlops.*]`` tables of a project's pyproject.toml."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Iterable, Optional

from .errors import ConfigError


def parse_tolerances(items: Optional[Iterable[str]], form: str) -> dict[str, float]:
    """``{"accuracy": -0.01}`` from ``["accuracy=-0.01"]``; ConfigError naming ``form`` (how
    the option is written, e.g. ``METRIC=ABS``) for anything else."""
    tolerances = {}
    for item in items or []:
        name, _, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not name or not math.isfinite(number):
            raise ConfigError(f"--tolerance wants {form}, got {item!r}")
        tolerances[name] = number
    return tolerances


def project_table(project: Path, name: str) -> dict:
    """``[tool.jupyter-mlops.NAME]`` of the nearest pyproject.toml above ``project`` ({} if
    there is none); ConfigError if that file is not valid TOML."""
    for folder in (project, *project.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{pyproject}: {exc}") from None
            return dict(data.get("tool", {}).get("jupyter-mlops", {}).get(name, {}))
    return {}
