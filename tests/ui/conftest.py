"""Playwright's sync API runs its own event loop in this thread: pytest-jupyter's autouse loop
fixture would try to close it after each test, so the browser tests opt out of it. Also the
helpers they share: a Jupyter app on 127.0.0.1, a page in Debian's chromium, the runs recorded."""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from ..conftest import free_port


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """No asyncio loop of pytest-jupyter's here (the browser tests need none)."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """No in-process Jupyter server to clean up: these tests start ``jupyter lab`` itself."""
    yield None


@contextmanager
def jupyter_app(app: str, root: Path, env: dict, *args: str, log: Path):
    """``jupyter <app>`` (lab, notebook) on 127.0.0.1 with a fresh port and token, serving
    ``root``; yields ``(url, token)`` once it answers, and stops it afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", app, "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", *args],
            cwd=root, stdout=out, stderr=out, env=env)
        try:
            url, deadline = f"http://127.0.0.1:{port}/", time.time() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        pytest.fail(f"jupyter {app} did not start:\n"
                                    + log.read_text(errors="replace")[-3000:])
                    time.sleep(0.5)
            yield url, token
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def chromium_page(executable: str, flags: list, viewport: dict):
    """A Playwright page in Debian's chromium (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=flags)
        try:
            tab = browser.new_context(viewport=viewport).new_page()
            tab.set_default_timeout(60_000)
            yield tab
        finally:
            browser.close()


def recorded_runs(root: Path) -> list:
    """``jupyter mlops runs list --json`` over the store the server's kernels wrote to."""
    return json.loads(subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "runs", "list", "--json"], cwd=root,
        env=dict(os.environ, JUPYTER_MLOPS_HOME=str(root / ".mlops")),
        capture_output=True, text=True, check=True).stdout)
