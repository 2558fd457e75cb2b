"""``METRIC=NUMBER`` tolerances as given on a command line (``reproduce``, ``validate``)."""

from __future__ import annotations

import math
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
