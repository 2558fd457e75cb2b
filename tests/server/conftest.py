"""A real Jupyter server (pytest-jupyter) with the jupyter-mlops extension enabled."""

import pytest

@pytest.fixture
def jp_server_config(jp_server_config):  # noqa: F811 - pytest-jupyter's fixture, extended
    return {"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True},
                          "allow_unauthenticated_access": False}}
