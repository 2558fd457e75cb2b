"""The output directory: manifest, hand-edit detection, and an all-or-nothing swap.

A new tree is built in a temporary sibling of the output directory, checked there (pylint,
pytest), then swapped in; on any failure the old directory is untouched. Files the user added
inside the output directory are hard-linked into the new tree, so they never leave it: a kill
at any moment (even ``kill -9``) loses none of them. Staging folders carry their owner's pid,
and the next productionize removes those whose owner is gone.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import OutputError
from ..processes import is_alive, owned_dir, process_token, sweep_abandoned

MANIFEST = "mlops-manifest.json"
CACHE_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
#: Fault injection for the tests: pause at the named point of the swap (see fault_point).
FAULT_ENV = "JUPYTER_MLOPS_FAULT_PAUSE"
AT_FDCWD = -100
RENAME_EXCHANGE = 2


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
        """Refuse to replace foreign or hand-edited output unless ``force``, and an output
        that cannot be written at all (a file in the way, no permission), before any work."""
        try:
            recover_interrupted_swap(out)
            _check_writable(out)
            return cls._check(out, force)
        except OSError as exc:
            raise OutputError(f"cannot use {out} as the output directory: {exc.strerror}",
                              path=None) from None

    @classmethod
    def _check(cls, out: Path, force: bool) -> "OutputGuard":
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
                    f"{', '.join(edited)}. Move the changes into the notebook, or overwrite "
                    "them", fix="force")
        return cls(out, manifest)


def _check_writable(out: Path) -> None:
    """OutputError unless ``out`` (or the folder it will be made in) can be written: probed
    by making and removing a folder in its nearest existing ancestor."""
    ancestor = out.parent if os.path.lexists(out) else out
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"cannot use {out} as the output directory: {ancestor} is a file, "
                          "not a folder; choose another --out")
    try:
        probe = owned_dir(ancestor, ".mlops-probe-")
        probe.rmdir()
    except OSError as exc:
        raise OutputError(f"cannot use {out} as the output directory: {ancestor} is not "
                          f"writable ({exc.strerror})") from None


def _staging_prefix(out: Path) -> str:
    return f".{out.name}.tmp-"


def _retired_prefix(out: Path) -> str:
    return f".{out.name}.old-"


def _journal(out: Path) -> Path:
    return out.parent / f".{out.name}.swap-journal"


def staging_dir(out: Path) -> Path:
    """A fresh temporary directory beside ``out`` (same filesystem, so the swap is a rename).

    First finishes or rolls back a swap a killed productionize left half done, and removes
    the staging folders of productionize runs that are gone (their owner pid is in the name).
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        recover_interrupted_swap(out)
        for prefix in (_staging_prefix(out), _retired_prefix(out)):
            sweep_abandoned(out.parent, prefix)
        staged = owned_dir(out.parent, _staging_prefix(out)).resolve()
    except OSError as exc:
        raise OutputError(f"cannot write beside the output directory: {exc.strerror}",
                          path=str(exc.filename or out)) from None
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


def _link_or_copy(source: str, target: str) -> None:
    """A hard link (the file stays where it is, no bytes copied), else a copy."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _carry_user_files(old: Path, new: Path, ours: set[str]) -> None:
    """Link what the user keeps in the output directory into the new tree. Nothing is moved:
    until the swap, every user file is still in ``old`` (a kill at any point loses none)."""
    ours_top = {rel.split("/", 1)[0] for rel in ours}
    for entry in sorted(old.iterdir()):
        if entry.name in CACHE_DIRS:
            continue
        if entry.name not in ours_top:
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, new / entry.name, symlinks=True,
                                copy_function=_link_or_copy)
            else:
                _link_or_copy(str(entry), str(new / entry.name))
            continue
        if entry.is_dir():
            for path in sorted(entry.rglob("*")):
                rel = path.relative_to(old).as_posix()
                if ((path.is_file() or path.is_symlink()) and rel not in ours
                        and not CACHE_DIRS & set(path.relative_to(old).parts)
                        and not (new / rel).exists()):
                    (new / rel).parent.mkdir(parents=True, exist_ok=True)
                    _link_or_copy(str(path), str(new / rel))


def fault_point(name: str) -> None:
    """Test hook for fault injection: with ``JUPYTER_MLOPS_FAULT_PAUSE=NAME`` in the
    environment, say so on stderr and wait here until killed (tests kill -9 us here)."""
    if os.environ.get(FAULT_ENV) == name:
        print(f"jupyter-mlops: paused at {name} (pid {os.getpid()})", file=sys.stderr,
              flush=True)
        while True:
            time.sleep(60)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two directories in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``);
    False where the system cannot (then the journalled two-rename swap is used)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second),
                 RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _write_journal(out: Path, retired: Path, staged: Path) -> Path:
    journal = _journal(out)
    partial = journal.with_name(journal.name + f".{os.getpid()}")
    partial.write_text(json.dumps({"owner": process_token(), "retired": retired.name,
                                   "staged": staged.name}), encoding="utf-8")
    os.replace(partial, journal)
    return journal


def recover_interrupted_swap(out: Path) -> Optional[str]:
    """Finish or roll back a two-rename swap a killed process left half done (its journal
    names the folders). Returns what was done, or None when there was nothing to do."""
    journal = _journal(out)
    try:
        text = journal.read_text(encoding="utf-8")
    except OSError:  # none (the usual case), or no folder to hold one
        return None
    try:
        entry = json.loads(text)
    except ValueError:
        entry = {}
    if entry.get("owner") and is_alive(entry["owner"]):
        return None  # that swap is still in progress
    retired = out.parent / str(entry.get("retired", ""))
    done = None
    if entry.get("retired") and retired.is_dir():
        if not out.exists():
            os.rename(retired, out)  # killed between the renames: the old tree comes back
            done = "restored"
        else:
            shutil.rmtree(retired, ignore_errors=True)  # the new tree was already in place
            done = "completed"
    journal.unlink(missing_ok=True)
    return done


def swap_in(staged: Path, guard: OutputGuard, generated: set[str]) -> None:
    """Replace ``guard.out`` by ``staged``; on any failure (or kill) the old tree stays.

    User files are linked into ``staged``, never moved out of ``out``. Then one atomic
    exchange of the two folders where the system has it; elsewhere two renames, with a
    journal that the next start uses to put the old tree back if we die in between.
    """
    out = guard.out
    if not out.exists():
        os.rename(staged, out)
        return
    ours = set(generated) | set((guard.manifest or {}).get("files", {}))
    ours |= {MANIFEST, "reports/lint.json", "reports/tests.xml"}
    _carry_user_files(out, staged, ours)
    fault_point("carried")
    if _exchange(staged, out):
        fault_point("exchanged")
        shutil.rmtree(staged, ignore_errors=True)  # it holds the old tree now
        return
    retired = owned_dir(out.parent, _retired_prefix(out))
    os.rmdir(retired)
    journal = _write_journal(out, retired, staged)
    os.rename(out, retired)
    fault_point("retired")
    try:
        os.rename(staged, out)
    except OSError:
        os.rename(retired, out)
        journal.unlink(missing_ok=True)
        raise
    journal.unlink(missing_ok=True)
    shutil.rmtree(retired, ignore_errors=True)
