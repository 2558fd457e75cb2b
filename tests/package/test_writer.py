"""The output swap under faults: productionize killed (-9) at each step of the swap loses no
file the user keeps in the output directory, and the next start cleans up after it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlops.errors import OutputError
from jupyter_mlops.package import writer
from jupyter_mlops.productionize import check, productionize

from ..conftest import MESSY, write_notebook

#: productionize through the CLI; ``EXCHANGE=0`` forces the journalled two-rename swap
#: (the path taken where the system has no atomic directory exchange).
SCRIPT = """
import os, sys
from jupyter_mlops.package import writer
if os.environ.get("EXCHANGE") == "0":
    writer._exchange = lambda first, second: False
from jupyter_mlops.cli import main
sys.exit(main(sys.argv[1:]))
"""


def user_files(out: Path) -> dict[str, bytes]:
    """3,000 files a user keeps beside the generated ones: a data folder, notes at the top,
    and a folder inside the generated package."""
    files = {f"data/part-{n:04d}.csv": f"{n},{n * n}\n".encode() for n in range(2000)}
    files.update({f"note-{n:03d}.md": f"note {n}\n".encode() for n in range(500)})
    files.update({f"analysis/mine/helper_{n:03d}.py": f"N = {n}\n".encode()
                  for n in range(500)})
    for rel, data in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    return files


def missing_or_changed(out: Path, files: dict[str, bytes]) -> list[str]:
    """User files no longer in ``out`` with their bytes."""
    return [rel for rel, data in files.items()
            if not (out / rel).is_file() or (out / rel).read_bytes() != data]


def leftovers(out: Path) -> list[str]:
    """Hidden staging, retired or journal entries beside ``out``."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.fixture
def generated(tmp_path):
    """A notebook, its package (no recording, no checks: fast) and 3,000 user files in it."""
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    out = tmp_path / "out"
    productionize(nb, out, execute=False, checks=False)
    return nb, out, user_files(out)


def kill_during_swap(nb: Path, out: Path, point: str, exchange: bool = True) -> None:
    """Run productionize in a child paused at ``point`` of the swap, then SIGKILL it."""
    env = dict(os.environ, JUPYTER_MLOPS_FAULT_PAUSE=point, EXCHANGE="1" if exchange else "0")
    nb.write_text(nb.read_text().replace("C = 0.5", "C = 0.7"))  # a change to write
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "productionize", str(nb), "--out",
                             str(out), "--no-execute", "--no-checks"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stderr:
            if f"paused at {point}" in line:
                break
        else:
            pytest.fail(f"productionize never reached {point} (exit {proc.wait()})")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()


@pytest.mark.parametrize("point", ["carried", "exchanged"])
def test_kill_during_the_swap_loses_no_user_file(generated, point):
    nb, out, files = generated
    kill_during_swap(nb, out, point)
    # right after the kill, before anything recovers: every user file is in DIR
    assert missing_or_changed(out, files) == []
    assert check(nb, out).edited == ()
    # the next start removes the dead run's staging folder and keeps every user file
    productionize(nb, out, execute=False, checks=False)
    assert missing_or_changed(out, files) == [] and leftovers(out) == []
    assert "C: float = 0.7" in (out / "analysis" / "train.py").read_text()


def test_kill_between_the_two_renames_is_restored_at_the_next_start(generated):
    """Without an atomic exchange the swap is two renames; killed between them, DIR is
    briefly gone, and the journal puts the old tree back at the next start."""
    nb, out, files = generated
    kill_during_swap(nb, out, "retired", exchange=False)
    assert not out.exists() and f".{out.name}.swap-journal" in leftovers(out)
    assert check(nb, out).stale  # the next start: check restores the old tree first
    assert missing_or_changed(out, files) == []
    assert "C: float = 0.5" in (out / "analysis" / "train.py").read_text()
    productionize(nb, out, execute=False, checks=False)
    assert missing_or_changed(out, files) == [] and leftovers(out) == []


def test_the_two_rename_swap_carries_user_files(generated, monkeypatch):
    nb, out, files = generated
    monkeypatch.setattr(writer, "_exchange", lambda first, second: False)
    nb.write_text(nb.read_text().replace("C = 0.5", "C = 0.7"))
    productionize(nb, out, execute=False, checks=False)
    assert missing_or_changed(out, files) == [] and leftovers(out) == []
    assert "C: float = 0.7" in (out / "analysis" / "train.py").read_text()


def test_a_live_owners_staging_folder_is_kept(tmp_path):
    out = tmp_path / "out"
    mine = writer.staging_dir(out)
    other = writer.staging_dir(out)
    assert mine.is_dir() and other.is_dir()  # this process is alive: neither is abandoned


@pytest.mark.parametrize("make, what", [
    (lambda root: (root / "afile.txt").write_text("x") and root / "afile.txt" / "o",
     "is a file, not a folder"),
    (lambda root: Path("/proc/x"), "not writable"),
    (lambda root: root / ("n" * 300), "File name too long"),
])
def test_unusable_output_directories_are_one_sentence(tmp_path, make, what):
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    with pytest.raises(OutputError, match=what) as info:
        productionize(nb, make(tmp_path), execute=False, checks=False)
    assert info.value.exit_code == 2
