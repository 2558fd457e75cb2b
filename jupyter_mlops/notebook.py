"""Reading and validating notebooks, and cell roles from their tags (nbformat only)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import nbformat

from .errors import CellRef, NotebookError, NotebookNotFound, RoleError

#: Roles in the order a training pipeline uses them; ``parameters`` is papermill's own tag.
ROLES = (
    "parameters",
    "setup",
    "data",
    "featurization",
    "training",
    "evaluation",
    "scoring",
    "skip",
)
ROLE_PREFIX = "mlops:"
PARAMETERS_TAG = "parameters"

PathLike = Union[str, "os.PathLike[str]"]


def role_tag(role: str) -> str:
    """The tag that carries ``role`` in ``cell.metadata.tags``."""
    return PARAMETERS_TAG if role == "parameters" else ROLE_PREFIX + role


@dataclass(frozen=True)
class Cell:
    """One notebook cell as the exporter sees it."""

    index: int
    cell_id: str
    cell_type: str
    source: str
    role: Optional[str]
    tags: tuple[str, ...] = ()

    @property
    def number(self) -> int:
        """1-based cell number, as JupyterLab counts."""
        return self.index + 1

    @property
    def ref(self) -> CellRef:
        """The reference used in error messages and the manifest."""
        return CellRef(self.number, self.cell_id)


@dataclass(frozen=True)
class Notebook:
    """A validated notebook: its cells with roles, and the sha256 of its bytes."""

    path: str
    cells: tuple[Cell, ...]
    sha256: str
    kernel_name: Optional[str]
    language: str

    @property
    def code_cells(self) -> tuple[Cell, ...]:
        """Code cells only, in notebook order."""
        return tuple(c for c in self.cells if c.cell_type == "code")

    def tagged(self, role: str) -> tuple[Cell, ...]:
        """Code cells carrying ``role``, in notebook order."""
        return tuple(c for c in self.code_cells if c.role == role)

    def cell(self, selector: str) -> Cell:
        """Find a cell by its 1-based number or its id."""
        if selector.isdigit():
            number = int(selector)
            if 1 <= number <= len(self.cells):
                return self.cells[number - 1]
        for cell in self.cells:
            if cell.cell_id == selector:
                return cell
        raise NotebookError(
            f"there is no cell {selector!r}: give a number from 1 to {len(self.cells)} "
            "or a cell id (see `jupyter mlops roles`)",
            path=self.path,
        )


def _role_of(tags: tuple[str, ...], ref: CellRef, path: str, cell_type: str) -> Optional[str]:
    roles = []
    for tag in tags:
        if tag == PARAMETERS_TAG:
            roles.append("parameters")
        elif tag.startswith(ROLE_PREFIX):
            name = tag[len(ROLE_PREFIX):]
            if name not in ROLES or name == "parameters":
                known = ", ".join(role_tag(r) for r in ROLES)
                raise RoleError(
                    f"unknown role tag {tag!r}; known tags are {known}", path=path, cell=ref
                )
            roles.append(name)
    if not roles or cell_type != "code":
        return None
    if len(set(roles)) > 1:
        raise RoleError(
            f"has more than one role ({', '.join(role_tag(r) for r in roles)}); "
            "split the cell or keep one tag",
            path=path,
            cell=ref,
        )
    return roles[0]


def _decode(data: bytes, path: str) -> str:
    if not data.strip():
        raise NotebookError("the file is empty, not a notebook", path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(
            f"the file is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}); "
            "notebooks are UTF-8 JSON",
            path=path,
        ) from None


def parse_notebook(data: bytes, path: str = "notebook.ipynb") -> Notebook:
    """Validate notebook bytes and return its cells with roles; raise NotebookError if bad."""
    text = _decode(data, path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", path=path
        ) from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise NotebookError("is JSON but not a Jupyter notebook (no 'cells')", path=path)
    major = raw.get("nbformat")
    if major != 4:
        raise NotebookError(
            f"uses nbformat {major}; only nbformat 4 is supported. Convert it with "
            f"`jupyter nbconvert --to notebook --nbformat 4 {os.path.basename(path)}`",
            path=path,
        )
    try:
        node = nbformat.from_dict(raw)
        nbformat.validate(node)
    except nbformat.ValidationError as exc:
        raise NotebookError(f"is not a valid notebook: {exc.message}", path=path) from None
    cells = []
    for index, cell in enumerate(node.cells):
        # Notebooks older than nbformat 4.5 have no ids; a number-based id keeps output stable.
        cell_id = str(cell.get("id") or f"cell-{index + 1}")
        tags = tuple(str(t) for t in cell.get("metadata", {}).get("tags", []) or [])
        ref = CellRef(index + 1, cell_id)
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        role = _role_of(tags, ref, path, cell.cell_type)
        cells.append(Cell(index, cell_id, cell.cell_type, source, role, tags))
    kernelspec = node.metadata.get("kernelspec", {}) or {}
    language = (node.metadata.get("language_info", {}) or {}).get("name") or kernelspec.get(
        "language", "python"
    )
    return Notebook(
        path=path,
        cells=tuple(cells),
        sha256=hashlib.sha256(data).hexdigest(),
        kernel_name=kernelspec.get("name"),
        language=language or "python",
    )


def read_notebook(path: PathLike) -> Notebook:
    """Read and validate the notebook at ``path``."""
    shown = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise NotebookNotFound("no such notebook", path=shown) from None
    except IsADirectoryError:
        raise NotebookNotFound("is a directory, not a notebook", path=shown) from None
    except PermissionError:
        raise NotebookError("cannot be read (permission denied)", path=shown) from None
    except NotADirectoryError:
        raise NotebookNotFound("no such notebook (a part of the path is a file, not a "
                               "folder)", path=shown) from None
    except (OSError, ValueError) as exc:  # name too long, NUL in the name, I/O error, ...
        reason = getattr(exc, "strerror", None) or str(exc)
        raise NotebookError(f"cannot be read ({reason})", path=shown) from None
    return parse_notebook(data, shown)


def with_role(path: PathLike, selector: str, role: Optional[str]) -> Cell:
    """Set (or with ``None`` clear) the role of one cell in the notebook file; return the cell."""
    nb = read_notebook(path)
    target = nb.cell(selector)
    if role is not None and role not in ROLES:
        raise RoleError(
            f"unknown role {role!r}; choose one of {', '.join(ROLES)}", path=nb.path
        )
    if target.cell_type != "code":
        raise RoleError("is a markdown/raw cell; only code cells take roles", path=nb.path,
                        cell=target.ref)
    set_roles(path, {target.index: role})
    return read_notebook(path).cells[target.index]


def set_roles(path: PathLike, roles: dict[int, Optional[str]]) -> None:
    """Rewrite the role tags of cells by 0-based index, keeping every other tag and field."""
    node = nbformat.read(os.fspath(path), as_version=nbformat.NO_CONVERT)
    for index, role in roles.items():
        metadata = node.cells[index].setdefault("metadata", {})
        tags = [
            t for t in metadata.get("tags", [])
            if t != PARAMETERS_TAG and not t.startswith(ROLE_PREFIX)
        ]
        if role is not None:
            tags.append(role_tag(role))
        if tags:
            metadata["tags"] = tags
        else:
            metadata.pop("tags", None)
    tmp = Path(f"{os.fspath(path)}.mlops-tmp")
    nbformat.write(node, os.fspath(tmp))
    os.replace(tmp, path)
