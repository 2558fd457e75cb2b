"""The text of the KFP pipeline module: a component per step and the pipeline wiring them.

Pure: the steps, parameters and gate rules in, Python source out (``compile.py`` imports and
compiles it). Components call :mod:`jupyter_mlops.pipelines.runtime`, embedded beside the
package, with the lines of ``train.main()`` they run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from .steps import Step, TrainingSteps

CODE_ARG = "mlops_code"
WORKDIR_ARG = "mlops_working_dir"
GATE_ARG = "mlops_gate"
METRICS = "metrics"  # the name train.main() saves metrics.json from
TYPES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list",
         "dict": "dict"}


@dataclass(frozen=True)
class PipelineParameter:
    """A pipeline parameter from the parameters cell: KFP type, default, JSON-encoded or not."""

    name: str
    kind: str  # int, float, str, bool, list, dict
    default: Any
    json_text: bool = False  # a default that is no literal travels as JSON text


@dataclass(frozen=True)
class PipelineSpec:
    """Everything the pipeline module is made of."""

    package: str
    notebook: str
    training: TrainingSteps
    parameters: tuple[PipelineParameter, ...]
    sweep: tuple[dict, ...]  # ParallelFor members (empty: no sweep)
    gate_rules: dict
    requirements: tuple[str, ...]
    base_image: str
    install_kfp: bool
    code_dir: str
    step_cells: dict  # step name -> notebook cell number, for display names


def _template(name: str) -> Template:
    return Template((Path(__file__).parent / "templates" / name).read_text(encoding="utf-8"))


def _artifact(name: str, training: TrainingSteps) -> str:
    if name == METRICS:
        return "Metrics"
    return "Model" if name in training.models else "Dataset"


def _output_name(name: str, step: Step) -> str:
    """Outputs are named by their value; one also read by the step gets ``_out``."""
    return f"{name}_out" if name in step.reads else name


def _kind(spec: PipelineSpec, name: str) -> PipelineParameter:
    return next(p for p in spec.parameters if p.name == name)


def _parameter_values(spec: PipelineSpec, names: tuple[str, ...]) -> str:
    items = [f'"{n}": json.loads({n})' if _kind(spec, n).json_text else f'"{n}": {n}'
             for n in names]
    return "{" + ", ".join(items) + "}"


def _signature(spec: PipelineSpec, step: Step) -> list[str]:
    args = [f"{CODE_ARG}: dsl.EmbeddedInput[dsl.Dataset]"]
    args += [f"{n}: Input[{_artifact(n, spec.training)}]" for n in step.reads]
    args += [f"{n}: {TYPES[_kind(spec, n).kind] if not _kind(spec, n).json_text else 'str'}"
             for n in step.parameters]
    args.append(f"{WORKDIR_ARG}: str")
    args += [f"{_output_name(n, step)}: Output[{_artifact(n, spec.training)}]"
             for n in step.writes]
    return args


def component_source(spec: PipelineSpec, step: Step) -> str:
    """One ``@component`` function running ``step``'s lines of ``main()``."""
    lines = list(spec.training.setup) + list(step.statements)
    shown = "; ".join(step.statements).replace('"', "'")
    cell = spec.step_cells.get(step.name)
    origin = f" (notebook cell {cell})" if cell else ""
    fitted = [n for n in step.writes if n in spec.training.models]
    outputs = "{" + ", ".join(f'"{n}": {_output_name(n, step)}' for n in step.writes) + "}"
    return "\n".join([
        "@component",
        f"def {step.name}(",
        *[f"    {a}," for a in _signature(spec, step)],
        "):",
        f'    """Runs ``{shown}`` of {spec.package}.train.main(){origin}."""',
        "    import mlops_kfp_step",
        "",
        "    mlops_kfp_step.run_step(",
        f"        {{'name': {step.name!r}, 'package': {spec.package!r}, "
        f"'module': {step.module!r}, 'lines': {lines!r}, 'fitted': {fitted!r}}},",
        f"        {CODE_ARG}.path,",
        f"        {_parameter_values(spec, step.parameters)},",
        "        {" + ", ".join(f'"{n}": {n}' for n in step.reads) + "},",
        f"        {outputs},",
        f"        working_dir={WORKDIR_ARG})",
    ])


def gate_source(spec: PipelineSpec) -> str:
    """The gate: saves the model as ``python -m PACKAGE.train`` does, compares with production."""
    training = spec.training
    reads = training.tail_reads
    args = [f"{CODE_ARG}: dsl.EmbeddedInput[dsl.Dataset]"]
    args += [f"{n}: Input[{_artifact(n, training)}]" for n in reads]
    args += [f"{n}: {'str' if _kind(spec, n).json_text else TYPES[_kind(spec, n).kind]}"
             for n in training.tail_parameters]
    args += [f"{GATE_ARG}: dict", f"{WORKDIR_ARG}: str", "candidate: Output[Model]",
             "verdict: Output[Metrics]"]
    return "\n".join([
        "@component",
        "def gate(",
        *[f"    {a}," for a in args],
        ") -> bool:",
        '    """Saves the model, its trained state, metrics and parameters as the package\'s',
        "    train.main() does, and compares the metrics with the registry's production",
        '    version (the rules in mlops_gate; none: nothing to compare with)."""',
        "    import mlops_kfp_step",
        "",
        "    return mlops_kfp_step.run_gate(",
        f"        {{'name': 'gate', 'package': {spec.package!r}, "
        f"'lines': {list(training.tail)!r}}},",
        f"        {CODE_ARG}.path,",
        f"        {_parameter_values(spec, training.tail_parameters)},",
        "        {" + ", ".join(f'"{n}": {n}' for n in reads) + "},",
        '        {"candidate": candidate, "verdict": verdict},',
        f"        rules={GATE_ARG}, working_dir={WORKDIR_ARG})",
    ])


def _call(spec: PipelineSpec, name: str, task: str, arguments: dict[str, str],
          indent: str) -> list[str]:
    args = ", ".join(f"{k}={v}" for k, v in arguments.items())
    lines = [f"{indent}{task} = {name}({args})", f"{indent}{task}.set_caching_options(False)"]
    if spec.install_kfp:  # a cluster's UI shows it; kfp.local warns that it ignores it
        cell = spec.step_cells.get(name)
        label = name.replace("_", " ") + (f" (cell {cell})" if cell else "")
        lines.insert(1, f"{indent}{task}.set_display_name({label!r})")
    return lines


def _wiring(spec: PipelineSpec, indent: str, swept: set[str]) -> list[str]:
    """The task calls, each value taken from the step that last wrote it."""
    source: dict[str, str] = {}
    lines: list[str] = []

    def param(name: str) -> str:
        return f"member.{name}" if name in swept else name

    for step in spec.training.steps:
        task = f"{step.name}_task"
        arguments = {n: source[n] for n in step.reads}
        arguments.update({n: param(n) for n in step.parameters})
        arguments[WORKDIR_ARG] = WORKDIR_ARG
        lines += _call(spec, step.name, task, arguments, indent)
        source.update({n: f'{task}.outputs["{_output_name(n, step)}"]' for n in step.writes})
    arguments = {n: source[n] for n in spec.training.tail_reads}
    arguments.update({n: param(n) for n in spec.training.tail_parameters})
    arguments.update({GATE_ARG: GATE_ARG, WORKDIR_ARG: WORKDIR_ARG})
    lines += _call(spec, "gate", "gate_task", arguments, indent)
    return lines


def pipeline_source(spec: PipelineSpec) -> str:
    """The whole module: head, components, gate and the ``@dsl.pipeline`` function."""
    head = _template("pipeline_head.py.tmpl").substitute(
        package=spec.package, notebook=spec.notebook, base_image=repr(spec.base_image),
        requirements=repr(list(spec.requirements)), install_kfp=repr(spec.install_kfp),
        code=repr(spec.code_dir))
    swept = set().union(*(set(m) for m in spec.sweep)) if spec.sweep else set()
    signature = [f"    {p.name}: {'str' if p.json_text else TYPES[p.kind]} = {p.default!r},"
                 for p in spec.parameters if p.name not in swept]
    signature += [f"    {GATE_ARG}: dict = {spec.gate_rules!r},", f"    {WORKDIR_ARG}: str = '',"]
    body = _wiring(spec, "    ", swept)
    if spec.sweep:
        body = [f"    with dsl.ParallelFor(items={list(spec.sweep)!r}, name='sweep') as member:"]\
            + _wiring(spec, "        ", swept)
    name = spec.package.replace("_", "-")
    parts = [head] + [component_source(spec, s) for s in spec.training.steps] + [
        gate_source(spec),
        "\n".join([f"@dsl.pipeline(name={name!r}, description='Training of {spec.notebook}, "
                   "step by step, and a gate against the production model.')",
                   "def pipeline(", *signature, "):",
                   f'    """{spec.package} from {spec.notebook}."""', *body])]
    text = "\n\n\n".join(parts) + "\n"
    ast.parse(text)  # generated code must at least be Python
    return text
