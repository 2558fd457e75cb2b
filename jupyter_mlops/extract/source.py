"""Cell source -> plain Python: drop harmless magics, collect ``%pip install``, refuse the rest."""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass

from ..errors import NotebookError
from ..notebook import Cell

#: Magics that only change how the notebook displays or reloads: safe to drop.
HARMLESS_MAGICS = frozenset(
    {"matplotlib", "config", "load_ext", "reload_ext", "autoreload", "aimport", "precision"}
)
#: Line magics that wrap a statement we can keep (``%time x = f()``).
TIMING_MAGICS = frozenset({"time", "timeit"})
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


def clean_source(cell: Cell, path: str) -> CleanSource:
    """Blank out harmless magics and pip installs (with warnings); raise on any other magic."""
    lines = cell.source.split("\n")
    out, reqs, warnings = [], [], []
    where = f"cell {cell.number} (id {cell.cell_id})"
    for number, line in enumerate(lines, start=1):
        pip = _PIP.match(line)
        magic = _MAGIC.match(line)
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
        elif magic and magic.group("sigil") == "%" and magic.group("name") in TIMING_MAGICS:
            warnings.append(f"{where} line {number}: dropped `%{magic.group('name')}` timing")
            out.append(magic.group("indent") + magic.group("rest").strip())
        elif magic and number == 1 and magic.group("sigil") == "%%" and (
            magic.group("name") in ("time", "capture")
        ):
            warnings.append(f"{where} line 1: dropped cell magic `{line.strip()}`")
            out.append("")
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


def lenient_source(cell: Cell) -> str:
    """Best-effort Python for an untagged cell (never raises): IPython syntax blanked."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(cell.source)
    except Exception:  # pylint: disable=broad-except  # untagged cells may be anything
        code = cell.source
    try:
        ast.parse(code)
    except SyntaxError:
        return ""
    return code
