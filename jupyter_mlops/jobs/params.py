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
#: A value opening with one of these is YAML/JSON flow syntax (a list or a mapping): one value,
#: its commas are its own.
_FLOW_OPENERS = ("[", "{")


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
    return _yaml_value(name, raw, path)


def _yaml_value(name: str, raw: str, path: str) -> Any:
    """``raw`` read as YAML when that gives a number, bool, list, mapping or null; else the
    string itself. A list or mapping in flow syntax that YAML cannot read is an error."""
    text = raw.strip()
    try:
        loaded = yaml.safe_load(text) if text else text
    except yaml.YAMLError as exc:
        if not text.startswith(_FLOW_OPENERS):
            return raw  # not YAML: a plain string, as papermill's own -p takes it
        raise ConfigError(
            f"parameter `{name}`: {raw!r} is not a valid list or mapping "
            f"({getattr(exc, 'problem', None) or exc}); pass it as YAML instead: "
            f"-y '{name}: [a, b]'", path=path) from None
    return loaded if isinstance(loaded, (int, float, bool, list, dict)) or loaded is None else raw


def sweep_values(value: Any) -> list[Any]:
    """The values a raw parameter stands for: ``"0.1,0.01"`` is a sweep over both, while a
    list or mapping in flow syntax (``["a","b"]``, ``{k: v}``) is one value, commas and all."""
    if not isinstance(value, str) or "," not in value or value.strip().startswith(_FLOW_OPENERS):
        return [value]
    return value.split(",")


def is_sweep(raw: dict[str, Any]) -> bool:
    """True when some raw value is a comma list, i.e. the parameters describe a sweep."""
    return any(len(sweep_values(value)) > 1 for value in raw.values())


def typed_parameters(raw: dict[str, Any], defaults: tuple[Parameter, ...],
                     path: str) -> TypedParameters:
    """Check and type ``raw`` against the parameters cell; a ``a,b`` string is a sweep
    (see :func:`sweep_values`)."""
    known = {p.name: p for p in defaults}
    values, warnings = {}, []
    for name, value in raw.items():
        if name not in known:
            warnings.append(f"passed unknown parameter `{name}`: the parameters cell does not "
                            "define it (papermill injects it anyway)")
        values[name] = [_convert(name, part, known.get(name), path)
                        for part in sweep_values(value)]
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
