"""Pinned environment from the import names the generated code uses."""

from __future__ import annotations

import importlib.metadata
import re
import sys
from dataclasses import dataclass
from typing import Optional

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Environment:
    """Python version and ``name==version`` pins, sorted by name."""

    python: str
    pins: tuple[str, ...]

    @property
    def python_minor(self) -> str:
        """``3.11`` for ``3.11.7``."""
        return ".".join(self.python.split(".")[:2])


def local_versions(import_names: list[str]) -> dict[str, str]:
    """Distribution versions for ``import_names`` in this interpreter (when no kernel ran)."""
    dists = importlib.metadata.packages_distributions()
    found = {}
    for name in import_names:
        for dist in dists.get(name, []):
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
    return found


def environment(
    versions: dict[str, str], extra_requirements: tuple[str, ...], python: Optional[str] = None
) -> Environment:
    """Pins for the distributions found plus ``%pip install`` requirements from the notebook."""
    pins = {_key(dist): f"{dist}=={version}" for dist, version in versions.items()}
    installed = {_key(d): v for d, v in _installed().items()} if extra_requirements else {}
    for requirement in extra_requirements:
        match = _NAME.match(requirement)
        if not match:
            continue
        key = _key(match.group(0))
        if key in pins:
            continue
        bare = match.group(0) == requirement
        pins[key] = f"{requirement}=={installed[key]}" if bare and key in installed else requirement
    return Environment(python or ".".join(map(str, sys.version_info[:3])),
                       tuple(pins[k] for k in sorted(pins)))


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> dict[str, str]:
    return {d.metadata["Name"]: d.version for d in importlib.metadata.distributions()
            if d.metadata["Name"]}
