"""Plan + recording + environment -> the text of every generated file (no disk access)."""

from __future__ import annotations

import ast
import json
import re
import sys
from typing import Optional

from ..extract import codegen
from ..extract.codegen import Module, template
from ..extract.plan import MODULE, Plan
from ..recording import Recording, fixture_text
from .envspec import Environment

TRAIN_IMPORTS = ("import argparse", "import json", "import os", "import pickle",
                 "from pathlib import Path")
SCORE_IMPORTS = ("import json", "import os", "import pickle", "from pathlib import Path")


def _argument(plan: Plan, name: str) -> str:
    param = next(p for p in plan.parameters if p.name == name)
    kind = {
        "int": "int",
        "float": "float",
        "str": "str",
        "bool": 'lambda value: value.lower() in ("1", "true", "yes")',
    }.get(param.type_name or "", "json.loads")
    flag = "--" + name.replace("_", "-")
    return (f'    parser.add_argument("{flag}", dest="{name}", type={kind}, '
            f'default={param.default}, help="parameters cell default: %(default)s")')


def train_module(plan: Plan, package: str, notebook_name: str) -> Module:
    """``train.py``: the training function plus ``main()`` running the whole pipeline."""
    steps, local_imports = codegen.pipeline_steps(plan)
    seed_reads: set[str] = set()
    for piece in reversed(plan.seeds):
        seed_reads |= piece.statement.reads
        steps.insert(0, ast.unparse(piece.statement.node))
    if plan.seeds:
        cells = ", ".join(sorted({str(p.cell.number) for p in plan.seeds}))
        steps.insert(0, f"# seeded as notebook cell {cells} does, so training reproduces it")
    used = []
    # scoring's too: score.py reads every value training ran with from parameters.json
    for role in ("data", "featurization", "training", "evaluation", "scoring"):
        if role in plan.functions:
            used += [n for n in plan.functions[role].kwparams if n not in used]
    tail = template("train_main.py.tmpl").substitute(
        package=package,
        notebook=notebook_name,
        arguments="\n".join(_argument(plan, n) for n in used),
        pipeline="\n".join(f"    {s}" for s in steps),
        model=plan.model,
        parameters="{" + ", ".join(f'"{n}": args.{n}' for n in used) + "}",
        save_fitted="    fitted.save(model_dir)  # featurization's statistics, for score.py\n"
        if plan.frozen else "",
    )
    fitted_import = ("from . import fitted",) if plan.frozen else ()
    return codegen.role_module(
        plan, package, "training", TRAIN_IMPORTS + tuple(local_imports) + fitted_import, tail,
        constants=f'MODEL_FILE = "{codegen.MODEL_FILE}"', tail_reads=frozenset(seed_reads),
    )


def _with_trained(function, *args: str) -> str:
    """A call of a role function; its notebook parameters take the values training used."""
    kwargs = [f"**trained_with({', '.join(repr(n) for n in function.kwparams)})"
              ] if function.kwparams else []
    return f"{function.name}({', '.join([*args, *kwargs])})"


def _features_body(plan: Plan) -> str:
    featurization = plan.functions.get("featurization")
    expr = plan.features_expr or plan.features
    if featurization is None:
        if plan.raw_input and expr and expr != plan.raw_input:
            return f"    {plan.raw_input} = to_frame(records)\n    return {expr}"
        return "    return to_frame(records)"
    if not featurization.returns or expr is None:
        return f"    return {_with_trained(featurization, 'to_frame(records)')}"
    used = {n.id for n in ast.walk(ast.parse(expr)) if isinstance(n, ast.Name)}
    targets = [n if n in used else "_" for n in featurization.returns]
    if all(t == "_" for t in targets):
        targets[0] = featurization.returns[0]
    unpack = ", ".join(targets) if len(targets) > 1 else targets[0]
    return "\n".join([
        f"    {plan.raw_input} = to_frame(records)",
        f"    {unpack} = {_with_trained(featurization, plan.raw_input)}",
        f"    return {expr}",
    ])


def _aligned(plan: Plan, name: str) -> list[str]:
    """Lines giving ``name`` the one-hot columns the model was fit on."""
    if not plan.one_hot:
        return []
    return [
        "        # one-hot columns as in training: a category absent from these records is",
        "        # a column of 0s, one that training never saw is left out",
        '        names = getattr(_STATE["model"], "feature_names_in_", None)',
        f'        if names is not None and hasattr({name}, "reindex"):',
        f"            {name} = {name}.reindex(columns=list(names), fill_value=0)",
    ]


def _predict_body(plan: Plan) -> str:
    scoring = plan.functions.get("scoring")
    if scoring is None:
        return "\n".join([
            "        features = features_from_records(records)",
            *_aligned(plan, "features"),
            '        predictions = _STATE["model"].predict(features)',
            "        predictions = in_record_order(predictions, features, len(records))",
        ])
    featurization = plan.functions.get("featurization")
    lines = [f"        {plan.raw_input} = to_frame(records)"]
    if featurization is not None and featurization.returns:
        targets = [n if n in scoring.params else "_" for n in featurization.returns]
        unpack = ", ".join(targets) if len(targets) > 1 else targets[0]
        lines.append(f"        {unpack} = {_with_trained(featurization, plan.raw_input)}")
        if plan.features in targets and plan.features_expr in (None, plan.features):
            lines += _aligned(plan, plan.features)
    args = ['_STATE["model"]' if p == plan.model else p for p in scoring.params]
    lines.append(f"        predictions = {_with_trained(scoring, *args)}")
    rows = plan.features if plan.features in scoring.params else plan.raw_input
    lines.append(f"        predictions = in_record_order(predictions, {rows}, len(records))")
    return "\n".join(lines)


def _to_frame_body(plan: Plan) -> str:
    if not plan.uses_pandas:
        return '    """Records as the list of dicts featurization expects."""\n    return records'
    return "\n".join([
        '    """Records as the DataFrame featurization expects, with the training dtypes."""',
        "    frame = pd.DataFrame.from_records(records)",
        "    for column in LABEL_COLUMNS:",
        "        if column not in frame:",
        "            frame[column] = LABEL_PLACEHOLDERS.get(column, 0)",
        "    known = [c for c in INPUT_COLUMNS if c in frame]",
        "    frame = frame[known + [c for c in frame.columns if c not in INPUT_COLUMNS]]",
        "    for column, dtype in INPUT_COLUMNS.items():",
        '        if column in frame and dtype.startswith("datetime64"):',
        "            # JSON carries dates as strings; featurization expects what read_csv's",
        "            # parse_dates (or pd.to_datetime) gave the notebook",
        "            frame[column] = pd.to_datetime(frame[column])",
        '        elif column in frame and _kind(dtype) in ("number", "bool"):',
        "            try:",
        "                frame[column] = frame[column].astype(dtype)",
        "            except (TypeError, ValueError):",
        "                continue  # nulls in an integer column stay float, as pandas reads them",
        "    return frame",
    ])


def score_module(plan: Plan, package: str, notebook_name: str,
                 recording: Optional[Recording]) -> Module:
    """``score.py``: ``init()`` and ``run(raw_data)`` around featurization and the model."""
    dtypes = recording.dtypes if recording else {}
    imports = list(SCORE_IMPORTS)
    if plan.uses_pandas:
        imports.append("import pandas as pd")
    if "featurization" in plan.functions:
        imports.append("from .featurize import featurize")
    if plan.frozen:
        imports.append("from . import fitted")
    scoring = plan.functions.get("scoring")
    needed = codegen._module_reads(plan, "score") if scoring else set()  # pylint: disable=protected-access
    if plan.features_expr:
        needed |= {n.id for n in ast.walk(ast.parse(plan.features_expr))
                   if isinstance(n, ast.Name)} & (set(plan.imports) | set(plan.definer_module))
    text = template("score.py.tmpl").substitute(
        package=package,
        notebook=notebook_name,
        imports=codegen.render_imports(plan, needed, "score", tuple(imports)),
        input_columns=json.dumps(dtypes, sort_keys=False),
        label_columns=repr(tuple(plan.label_columns)),
        label_placeholders=repr({c: v for c, v in (recording.label_values if recording else {}
                                                    ).items() if c in plan.label_columns}),
        scoring="@@SCORING@@",
        to_frame_body=_to_frame_body(plan),
        features_body=_features_body(plan),
        predict_body=_predict_body(plan),
        load_fitted="    fitted.load(found[0].parent)  # featurization's training statistics\n"
        if plan.frozen else "",
    )
    head, tail = text.split("@@SCORING@@\n")
    builder = codegen._Builder()  # pylint: disable=protected-access
    builder.add(head.rstrip("\n"))
    if scoring is not None:
        codegen.add_module_defs(builder, plan, "score")
        codegen.add_function(builder, plan, scoring)
    else:
        builder.add()
    builder.add(tail.rstrip("\n"))
    return codegen.format_module(f"{package}/score.py", builder)


def _import_names(modules: list[Module]) -> list[str]:
    names = set()
    for module in modules:
        for node in ast.parse(module.text).body:
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return sorted(n for n in names if n not in sys.stdlib_module_names and n != "__future__")


def _fitted_imports(plan: Plan) -> tuple[str, ...]:
    """What featurization imports from ``fitted.py`` for its frozen calls."""
    if not plan.frozen:
        return ()
    names = sorted({"frozen_statistics"} | {
        "fitted" if call.kind == "statistic" else "fitted_transform" for call in plan.frozen})
    return (f"from .fitted import {', '.join(names)}",)


def generate_modules(plan: Plan, package: str, recording: Optional[Recording]) -> list[Module]:
    """Every Python module of the package, formatted."""
    name = plan.notebook.path.replace("\\", "/").rsplit("/", 1)[-1]
    modules = []
    init = codegen._Builder()  # pylint: disable=protected-access
    init.add(f'"""{package}: production package generated from {name} by jupyter-mlops."""')
    modules.append(codegen.format_module(f"{package}/__init__.py", init))
    common = codegen.common_module(plan, package)
    if common is not None:
        modules.append(common)
    for role in ("data", "featurization", "evaluation"):
        if role in plan.functions:
            modules.append(codegen.role_module(
                plan, package, role, _fitted_imports(plan) if role == "featurization" else ()))
    if plan.frozen:
        fitted = template("fitted.py.tmpl").substitute(notebook=name)
        modules.append(Module(f"{package}/fitted.py", codegen.formatted(fitted), {}))
    if "training" in plan.functions:
        modules.append(train_module(plan, package, name))
    if plan.model is not None:
        modules.append(score_module(plan, package, name, recording))
        serve = template("serve.py.tmpl").substitute(package=package, notebook=name)
        modules.append(Module(f"{package}/serve.py", codegen.formatted(serve), {}))
    return modules


def import_names(modules: list[Module]) -> list[str]:
    """Top-level third-party modules the generated code imports."""
    return _import_names(modules)


def _long_line_pattern(notebook: str) -> str:
    """pylint's ignore-long-lines: its URL default, or a line naming the notebook file."""
    # configparser reads "%" as interpolation, so a literal one is doubled
    name = re.escape(notebook).replace("%", "%%")
    return rf"^\s*(# )?<?https?://\S+>?$|.*{name}"


def support_files(plan: Plan, package: str, modules: list[Module], env: Environment,
                  recording: Optional[Recording]) -> dict[str, str]:
    """pyproject, requirements, environment.yml, pylintrc and the generated tests."""
    name = plan.notebook.path.replace("\\", "/").rsplit("/", 1)[-1]
    dist_name = package.replace("_", "-")
    files = {
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
    module_names = [m.path.split("/", 1)[1][:-3] for m in modules
                    if not m.path.endswith("__init__.py")]
    files["tests/conftest.py"] = template("tests/conftest.py.tmpl").substitute(package=package)
    files["tests/test_import.py"] = template("tests/test_import.py.tmpl").substitute(
        package=package, modules=repr(module_names))
    if plan.model is not None and "training" in plan.functions:
        files["tests/test_score.py"] = template("tests/test_score.py.tmpl").substitute(
            package=package)
        files["tests/test_serve.py"] = template("tests/test_serve.py.tmpl").substitute(
            package=package)
        files["Dockerfile"] = template("Dockerfile.tmpl").substitute(
            package=package, notebook=name, python_minor=env.python_minor)
        if recording is not None:
            files["tests/test_equivalence.py"] = template(
                "tests/test_equivalence.py.tmpl").substitute(package=package, notebook=name)
    if recording is not None:
        files["tests/fixtures/recording.json"] = fixture_text(recording)
    return files


def module_names() -> tuple[str, ...]:
    """Module file names a package can have, in pipeline order."""
    return tuple(dict.fromkeys(MODULE.values()))
