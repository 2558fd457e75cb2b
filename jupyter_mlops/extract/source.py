"""Cell source -> plain Python: drop harmless magics, collect ``%pip install``, refuse the rest."""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Optional

from ..errors import NotebookError
from ..notebook import Cell

#: Magics that only change how the notebook displays or reloads: safe to drop.
HARMLESS_MAGICS = frozenset(
    {"matplotlib", "config", "load_ext", "reload_ext", "autoreload", "aimport", "precision"}
)
#: Magics that run Python in the kernel, with IPython's option letters for them
#: (``IPython/core/magics/execution.py``): those without a value, then those taking one
#: (``-n 3`` or ``-n3``). As line magics they keep the statement after the options
#: (``%timeit -n 3 f()`` -> ``f()``). timeit runs its code inside a function, so in IPython its
#: assignments stay local while in-place effects (``.fit``) persist; the module runs it once.
TIMING_MAGICS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"time": ("", ""), "timeit": ("tcqo", "nrp"), "prun": ("qr", "DlsT")}
)
#: Cell magics whose body is Python run in the kernel: the body is the cell's code. The rest of
#: the first line is code too for these (timeit's setup, the statement prun prepends); %%time
#: allows none and %%capture's names the captured output.
BODY_MAGICS = frozenset({"time", "timeit", "prun", "capture"})
_FIRST_LINE_IS_CODE = frozenset({"timeit", "prun"})
_PIP = re.compile(r"^\s*[%!]\s*(pip|pip3|conda|mamba)\s+install\b(?P<args>.*)$")
_MAGIC = re.compile(r"^(?P<indent>\s*)(?P<sigil>%%|%|!)\s*(?P<name>[\w.-]*)(?P<rest>.*)$")


@dataclass(frozen=True)
class CleanSource:
    """A cell's code ready for ``ast.parse``: same line count as the cell, magics blanked."""

    code: str
    requirements: tuple[str, ...]
    warnings: tuple[str, ...]


def _pip_requirements(args: str) -> list[str]:
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    reqs, skip_next = [], False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in ("-r", "-c", "-e", "--index-url", "-i", "--extra-index-url", "-f"):
            skip_next = True
        elif not word.startswith("-") and not word.startswith("{"):
            reqs.append(word)
    return reqs


def _without_options(text: str, flags: str, valued: str) -> str:
    """``text`` less the leading options IPython's getopt takes: ``-n 3 -q f()`` -> ``f()``."""
    if not flags + valued:
        return text.strip()
    flag = f"[{flags}]*" if flags else ""
    value = rf"(?:[{valued}](?:\S+|\s+\S+))?" if valued else ""
    option = re.compile(rf"\s*-(?=[{flags}{valued}]){flag}{value}(?=\s|$)")
    while match := option.match(text):
        text = text[match.end():]
    return text.strip()


def _wrapped_python(magic: re.Match, first_line: bool) -> Optional[str]:
    """The Python a timing line magic or a first-line body cell magic runs, else None."""
    name, sigil = magic.group("name"), magic.group("sigil")
    if sigil == "%" and name in TIMING_MAGICS:
        return magic.group("indent") + _without_options(magic.group("rest"), *TIMING_MAGICS[name])
    if sigil == "%%" and first_line and name in BODY_MAGICS:
        if name in _FIRST_LINE_IS_CODE:
            return _without_options(magic.group("rest"), *TIMING_MAGICS[name])
        return ""
    return None


def ipython_escapes(source: str) -> set[int]:
    """1-based lines IPython itself runs as a magic, shell or help escape.

    IPython's own input transformer decides, not a prefix: a continuation line inside brackets
    that starts with ``%`` (``print("%d" %\n      (n,))``) is Python. A cell magic's first line
    counts as an escape; its body is judged as the code it is.
    """
    lines = source.split("\n")
    if not any(_MAGIC.match(line) for line in lines):
        return set()
    escapes = {1} if lines[0].lstrip().startswith("%%") else set()
    body = [""] + lines[1:] if escapes else lines
    try:
        # lazy: IPython is heavy and only cells with escape-like lines need it
        from IPython.core.inputtransformer2 import (  # pylint: disable=import-outside-toplevel
            TransformerManager,
        )

        text = "\n".join(body)
        code = TransformerManager().transform_cell(text)
        code = "\n" * (_leading_blank_lines(text) - _leading_blank_lines(code)) + code
    except Exception:  # pylint: disable=broad-except  # then every escape-like line is one
        return escapes | {n for n, line in enumerate(lines, 1) if _MAGIC.match(line)}
    changed = code.split("\n")
    for number, line in enumerate(body, start=1):
        if _MAGIC.match(line) and number <= len(changed) and changed[number - 1] != line \
                and "get_ipython()" in changed[number - 1]:
            escapes.add(number)
    return escapes


def clean_source(cell: Cell, path: str) -> CleanSource:
    """Blank out harmless magics and pip installs (with warnings); raise on any other magic."""
    out, reqs, warnings = [], [], []
    where = f"cell {cell.number} (id {cell.cell_id})"
    escapes = ipython_escapes(cell.source)
    for number, line in enumerate(cell.source.split("\n"), start=1):
        pip = _PIP.match(line) if number in escapes else None
        magic = _MAGIC.match(line) if number in escapes else None
        if pip:
            found = _pip_requirements(pip.group("args"))
            reqs.extend(found)
            warnings.append(
                f"{where} line {number}: `{line.strip()}` is not exported; "
                f"added {', '.join(found) or 'nothing'} to the requirements instead"
            )
            out.append("")
        elif magic and magic.group("name") in HARMLESS_MAGICS and magic.group("sigil") == "%":
            warnings.append(f"{where} line {number}: dropped notebook magic `{line.strip()}`")
            out.append("")
        elif magic and (wrapped := _wrapped_python(magic, number == 1)) is not None:
            warnings.append(f"{where} line {number}: dropped " + (
                f"cell magic `{line.strip()}`" if magic.group("sigil") == "%%"
                else f"`%{magic.group('name')}` timing"))
            out.append(wrapped)
        elif magic:
            kind = "shell command" if magic.group("sigil") == "!" else "IPython magic"
            raise NotebookError(
                f"{kind} `{line.strip()}` cannot go into a Python module; move it to an "
                "untagged cell or replace it with Python code",
                path=path, cell=cell.ref, line=number,
            )
        else:
            out.append(line)
    code = "\n".join(out)
    _check_syntax(code, cell, path)
    return CleanSource(code, tuple(reqs), tuple(warnings))


def _check_syntax(code: str, cell: Cell, path: str) -> None:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        line = exc.lineno or 1
        text = code.split("\n")[line - 1].strip() if code else ""
        if _is_ipython_syntax(text):
            raise NotebookError(
                f"IPython syntax `{text}` cannot go into a Python module; "
                "move it to an untagged cell",
                path=path, cell=cell.ref, line=line,
            ) from None
        raise NotebookError(
            f"syntax error: {exc.msg} (`{text}`)", path=path, cell=cell.ref, line=line
        ) from None


def _is_ipython_syntax(text: str) -> bool:
    """``x = !ls``, ``y = %sql ...``, ``obj?`` and friends parse only under IPython."""
    return bool(re.search(r"=\s*[!%]", text) or re.match(r"^[\w.]+\?{1,2}$", text))


def _unwrapped(source: str) -> str:
    """``source`` with timing magics and body cell magics replaced by the Python they run."""
    lines = source.split("\n")
    for number, line in enumerate(lines):
        magic = _MAGIC.match(line)
        wrapped = _wrapped_python(magic, number == 0) if magic else None
        if wrapped is not None:
            lines[number] = wrapped
    return "\n".join(lines)


def _leading_blank_lines(text: str) -> int:
    return text.count("\n", 0, len(text) - len(text.lstrip(" \t\n")))


def lenient_source(cell: Cell) -> str:
    """Best-effort Python for an untagged cell (never raises): IPython syntax blanked.

    ``%%time``, ``%timeit -n 3 ...`` and friends read as the code they run, as in tagged cells,
    so a name set under them counts as set by this cell.
    """
    source = _unwrapped(cell.source)
    try:
        # lazy: IPython is heavy and only untagged cells need it
        from IPython.core.inputtransformer2 import (  # pylint: disable=import-outside-toplevel
            TransformerManager,
        )

        code = TransformerManager().transform_cell(source)
        # IPython drops leading blank lines; put them back so line numbers stay the cell's
        missing = _leading_blank_lines(source) - _leading_blank_lines(code)
        code = "\n" * missing + code if code.strip() else code
    except Exception:  # pylint: disable=broad-except  # untagged cells may be anything
        code = source
    try:
        ast.parse(code)
    except SyntaxError:
        return ""
    return code
