"""The files around the modules: pyproject, pinned environment, pylintrc, generated tests."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from ..extract.plan import Plan
from ..package.envspec import Environment
from .builder import Module, template
from .functions import notebook_name

if TYPE_CHECKING:
    from ..recording import Recording


def _long_line_pattern(notebook: str) -> str:
    """pylint's ignore-long-lines: its URL default, or a line naming the notebook file."""
    # configparser reads "%" as interpolation, so a literal one is doubled
    name = re.escape(notebook).replace("%", "%%")
    return rf"^\s*(# )?<?https?://\S+>?$|.*{name}"


def _environment_files(plan: Plan, package: str, env: Environment) -> dict[str, str]:
    name = notebook_name(plan)
    dist_name = package.replace("_", "-")
    return {
        "pyproject.toml": template("pyproject.toml.tmpl").substitute(
            notebook=name, dist_name=dist_name, package=package,
            python_minor=env.python_minor,
            dependencies="\n".join(f'    "{p}",' for p in env.pins),
        ),
        "requirements.txt": f"# Pinned from the kernel that ran {name} (jupyter-mlops).\n"
        + "".join(f"{p}\n" for p in env.pins),
        "environment.yml": template("environment.yml.tmpl").substitute(
            notebook=name, dist_name=dist_name, python_minor=env.python_minor,
            pip_lines="\n".join(f"      - {p}" for p in env.pins) or "      []",
        ),
        ".pylintrc": template("pylintrc").substitute(long_names=_long_line_pattern(name)),
    }


def _test_files(plan: Plan, package: str, modules: list[Module],
                recording: Optional["Recording"]) -> dict[str, str]:
    name = notebook_name(plan)
    module_names = [m.path.split("/", 1)[1][:-3] for m in modules
                    if not m.path.endswith("__init__.py")]
    files = {
        "tests/conftest.py": template("tests/conftest.py.tmpl").substitute(package=package),
        "tests/test_import.py": template("tests/test_import.py.tmpl").substitute(
            package=package, modules=repr(module_names)),
    }
    if plan.model is None or not plan.segments:
        return files
    files["tests/test_score.py"] = template("tests/test_score.py.tmpl").substitute(
        package=package)
    files["tests/test_serve.py"] = template("tests/test_serve.py.tmpl").substitute(
        package=package)
    if recording is not None:
        files["tests/test_equivalence.py"] = template(
            "tests/test_equivalence.py.tmpl").substitute(package=package, notebook=name)
        files["tests/fixtures/recording.json"] = recording.fixture_text()
    return files


def support_files(plan: Plan, package: str, modules: list[Module], env: Environment,
                  recording: Optional["Recording"]) -> dict[str, str]:
    """pyproject, requirements, environment.yml, pylintrc, Dockerfile and the tests."""
    files = _environment_files(plan, package, env)
    files.update(_test_files(plan, package, modules, recording))
    if plan.model is not None and plan.segments:
        files["Dockerfile"] = template("Dockerfile.tmpl").substitute(
            package=package, notebook=notebook_name(plan), python_minor=env.python_minor)
    return files
