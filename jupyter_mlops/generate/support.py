"""The files around the modules: pyproject, pinned environment, pylintrc, generated tests."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Optional

from ..extract.plan import Plan
from ..package.envspec import Environment
from .builder import Module, template
from .functions import notebook_name
from .contract import contract_files
from .scoring import TRAINING_INPUT, record_columns, training_input

if TYPE_CHECKING:
    from ..recording import Recording


def _long_line_pattern(notebook: str) -> str:
    """pylint's ignore-long-lines: its URL default, or a line naming the notebook file."""
    # configparser reads "%" as interpolation, so a literal one is doubled
    name = re.escape(notebook).replace("%", "%%")
    return rf"^\s*(# )?<?https?://\S+>?$|.*{name}"


def pylintrc(plan: Plan) -> str:
    """The package's ``.pylintrc`` (pylint's defaults but for notebook naming habits)."""
    return template("pylintrc").substitute(long_names=_long_line_pattern(notebook_name(plan)))


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
        ".pylintrc": pylintrc(plan),
    }


def _parts(first: str, *pieces: str, **values: str) -> str:
    """A test module from its template and the optional pieces that apply to this package."""
    return "".join(template(f"tests/{name}").substitute(**values) for name in (first, *pieces))


def _score_tests(plan: Plan, package: str, recording: Optional["Recording"]) -> str:
    """test_score.py with the tests that apply to this package's recorded sample."""
    text = template("tests/test_score.py.tmpl").substitute(package=package)
    records = recording.records if recording else None
    if not records:
        return text
    assert recording is not None
    text += template("tests/score_records.py.tmpl").substitute()
    required = _required(plan, recording)
    numbers = [c for c in required if _kind(recording.dtypes.get(c, "")) == "number"]
    if required:
        text += template("tests/score_missing_column.py.tmpl").substitute(column=repr(required[0]))
    if numbers:
        text += template("tests/score_wrong_type.py.tmpl").substitute(column=repr(numbers[0]))
    if recording.dtypes and set(records[0]) - set(required):
        text += template("tests/score_lean.py.tmpl").substitute()
    return text


def _required(plan: Plan, recording: "Recording") -> tuple[str, ...]:
    return record_columns(plan, recording.dtypes)


def _kind(dtype: str) -> str:
    return "number" if dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float")) else ""


def _equivalence_tests(package: str, notebook: str, recording: "Recording") -> Optional[str]:
    pieces = []
    if recording.records and recording.features is not None:
        pieces.append("equivalence_features.py.tmpl")
    if recording.metrics:
        pieces.append("equivalence_metrics.py.tmpl")
    if recording.records and recording.predictions is not None:
        pieces.append("equivalence_predictions.py.tmpl")
    if not pieces:
        return None
    return _parts("test_equivalence.py.tmpl", *pieces, package=package, notebook=notebook)


def not_proven(plan: Plan, recording: Optional["Recording"]) -> tuple[str, ...]:
    """What the generated tests cannot show to behave like the notebook, and why."""
    if plan.model is None or not plan.segments:
        return ()
    if recording is None:
        return ("equivalence with the notebook: --no-execute recorded no sample",)
    gaps = [f"equivalence with the notebook: {note}" for note in recording.notes]
    if recording.records and recording.features is None and not gaps:
        gaps.append("features: the model's input was not recorded")
    evaluates = any(s.role == "evaluation" for s in plan.segments)
    if evaluates and not recording.metrics:
        gaps.append("metrics: none found in the evaluation cells (assign them, e.g. `acc = "
                    "accuracy_score(...)`, print them, or log_metric them)")
    return tuple(gaps)


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
    if plan.model is None or not plan.segments or plan.path is None:
        return files
    files["tests/test_score.py"] = _score_tests(plan, package, recording)
    serve = ("serve_records.py.tmpl",) if recording and recording.records else ()
    files["tests/test_serve.py"] = _parts("test_serve.py.tmpl", *serve, package=package)
    if recording is not None:
        equivalence = _equivalence_tests(package, name, recording)
        if equivalence is not None:
            files["tests/test_equivalence.py"] = equivalence
        files["tests/fixtures/recording.json"] = recording.fixture_text()
    return files


def support_files(plan: Plan, package: str, modules: list[Module], env: Environment,
                  recording: Optional["Recording"]) -> dict[str, str]:
    """pyproject, requirements, environment.yml, pylintrc, Dockerfile and the tests."""
    files = _environment_files(plan, package, env)
    files.update(_test_files(plan, package, modules, recording))
    if plan.model is not None and plan.path is not None:  # beside score.py, which reads it
        files[f"{package}/{TRAINING_INPUT}"] = json.dumps(
            training_input(plan, recording), indent=1) + "\n"
    if plan.model is not None and plan.segments and plan.path is not None:
        files.update(contract_files(plan, package, recording))
        files[f"{package}/docs.html"] = template("docs.html.tmpl").substitute(
            package=package, notebook=notebook_name(plan))
    if plan.model is not None and plan.segments:
        files["Dockerfile"] = template("Dockerfile.tmpl").substitute(
            package=package, notebook=notebook_name(plan), python_minor=env.python_minor)
    return files
