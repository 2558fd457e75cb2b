"""Job parameters: ``-p`` values typed by the parameters cell's defaults, and sweep grids."""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import ConfigError
from ..extract.plan import Parameter

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class TypedParameters:
    """Typed values per name, plus warnings for names the parameters cell does not have."""

    values: dict[str, list[Any]]  # each name -> one value, or several for a sweep
    warnings: tuple[str, ...]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the values (one dict for a plain run)."""
        names = list(self.values)
        return [dict(zip(names, combo)) for combo in itertools.product(*self.values.values())]


def _convert(name: str, raw: Any, default: Parameter | None, path: str) -> Any:
    if not isinstance(raw, str):
        return raw  # from YAML: already typed
    kind = default.type_name if default else None
    text = raw.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError(text)
        if kind == "str":
            return raw
    except ValueError:
        raise ConfigError(
            f"parameter `{name}` expects {'an' if kind == 'int' else 'a'} {kind} "
            f"(the parameters cell has `{name} = {default.default}`), got {raw!r}",
            path=path,
        ) from None
    if default is not None and default.type_name is None:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            pass
    loaded = yaml.safe_load(text) if text else text
    return loaded if isinstance(loaded, (int, float, bool, list, dict)) or loaded is None else raw


def typed_parameters(raw: dict[str, Any], defaults: tuple[Parameter, ...],
                     path: str) -> TypedParameters:
    """Check and type ``raw`` against the parameters cell; a ``a,b`` string is a sweep."""
    known = {p.name: p for p in defaults}
    values, warnings = {}, []
    for name, value in raw.items():
        if name not in known:
            warnings.append(f"passed unknown parameter `{name}`: the parameters cell does not "
                            "define it (papermill injects it anyway)")
        # `-p lr 0.1,0.01` is a sweep over both values
        parts = value.split(",") if isinstance(value, str) and "," in value else [value]
        values[name] = [_convert(name, part, known.get(name), path) for part in parts]
    return TypedParameters(values, tuple(warnings))


def load_parameter_file(text: str, source: str) -> dict[str, Any]:
    """Parameters from ``-f params.yaml`` or ``-y '...'``: a YAML mapping."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a YAML mapping of name: value")
    return data
