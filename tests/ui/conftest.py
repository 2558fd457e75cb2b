"""Playwright's sync API runs its own event loop in this thread: pytest-jupyter's autouse loop
fixture would try to close it after each test, so the browser tests opt out of it."""

import pytest


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """No asyncio loop of pytest-jupyter's here (the browser tests need none)."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """No in-process Jupyter server to clean up: these tests start ``jupyter lab`` itself."""
    yield None
