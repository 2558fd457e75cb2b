"""The output directory: manifest, hand-edit detection, and an all-or-nothing swap.

A new tree is built in a temporary sibling of the output directory, checked there (pylint,
pytest), then swapped in; on any failure the old directory is untouched. Files the user added
inside the output directory travel into the new tree, so nothing of theirs is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import OutputError

MANIFEST = "mlops-manifest.json"
CACHE_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


def sha256_text(text: str) -> str:
    """sha256 of UTF-8 text (how generated files are fingerprinted)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(out: Path) -> Optional[dict]:
    """The manifest of a generated directory, or None if there is none (or it is unreadable)."""
    try:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def edited_files(out: Path, manifest: dict) -> list[str]:
    """Generated files whose content changed since jupyter-mlops wrote them."""
    changed = []
    for rel, digest in sorted(manifest.get("files", {}).items()):
        path = out / rel
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            changed.append(rel)
    return changed


def missing_files(out: Path, manifest: dict) -> list[str]:
    """Generated files that are no longer there."""
    return sorted(rel for rel in manifest.get("files", {}) if not (out / rel).is_file())


@dataclass(frozen=True)
class OutputGuard:
    """What productionize may do to ``out``: checked before any work starts."""

    out: Path
    manifest: Optional[dict]

    @classmethod
    def check(cls, out: Path, force: bool) -> "OutputGuard":
        """Refuse to replace foreign or hand-edited output unless ``force``."""
        if out.exists() and not out.is_dir():
            raise OutputError(f"{out} exists and is not a directory; choose another --out")
        manifest = read_manifest(out) if out.is_dir() else None
        if out.is_dir() and manifest is None and any(out.iterdir()) and not force:
            raise OutputError(
                f"{out} is not empty and was not written by jupyter-mlops (no {MANIFEST}); "
                "refusing to replace it. Choose another --out, or pass --force"
            )
        if manifest is not None and not force:
            edited = edited_files(out, manifest)
            if edited:
                raise OutputError(
                    f"generated file(s) in {out} were edited by hand since they were written: "
                    f"{', '.join(edited)}. Move the changes into the notebook, or pass --force "
                    "to overwrite them"
                )
        return cls(out, manifest)


def staging_dir(out: Path) -> Path:
    """A fresh temporary directory beside ``out`` (same filesystem, so the swap is a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent)).resolve()
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staged, 0o777 & ~umask)  # mkdtemp's 0700 would survive the swap
    return staged


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write text files under ``root`` with Unix newlines."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")


def _carry_user_files(old: Path, new: Path, ours: set[str]) -> None:
    """Move what the user keeps in the output directory into the new tree."""
    ours_top = {rel.split("/", 1)[0] for rel in ours}
    for entry in sorted(old.iterdir()):
        if entry.name in CACHE_DIRS:
            continue
        if entry.name not in ours_top:
            shutil.move(str(entry), str(new / entry.name))
            continue
        if entry.is_dir():
            for path in sorted(entry.rglob("*")):
                rel = path.relative_to(old).as_posix()
                if (path.is_file() and rel not in ours
                        and not CACHE_DIRS & set(path.relative_to(old).parts)
                        and not (new / rel).exists()):
                    (new / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(path), str(new / rel))


def swap_in(staged: Path, guard: OutputGuard, generated: set[str]) -> None:
    """Replace ``guard.out`` by ``staged`` in two renames; restore the old tree on failure."""
    out = guard.out
    if not out.exists():
        os.rename(staged, out)
        return
    ours = set(generated) | set((guard.manifest or {}).get("files", {}))
    ours |= {MANIFEST, "reports/lint.json", "reports/tests.xml"}
    _carry_user_files(out, staged, ours)
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(retired)
    os.rename(out, retired)
    try:
        os.rename(staged, out)
    except OSError:
        os.rename(retired, out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
