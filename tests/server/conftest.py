"""A real Jupyter server (pytest-jupyter) with the jupyter-mlops extension enabled."""

import pytest

@pytest.fixture
def jp_server_config(jp_server_config):  # noqa: F811 - pytest-jupyter's fixture, extended
    # No standby worker by default: each test starts a server (test_standby.py has one).
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True},
                          "allow_unauthenticated_access": False},
            "MlopsExtension": {"standby_kernel": False}}
