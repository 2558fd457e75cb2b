"""The steps of a productionized package's training, read off its ``train.py``.

``main()`` of the generated ``train.py`` calls the package's functions in notebook order
(``df = load_data(...)``, ``X, y = featurize(df)``, ...) and then saves the model. Each of those
calls is one pipeline step; the statements around them (seeding, ``state.keep(...)``) go with
the step they belong to, and the saving tail is what the gate step runs. Pure: text in,
frozen dataclasses out.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from ..errors import ConfigError

#: Modules whose imported names are helpers and classes, not training steps.
HELPER_MODULES = ("common", "state")


@dataclass(frozen=True)
class Step:
    """One component: the statements of ``main()`` it runs and the values it passes on."""

    name: str  # the package function it calls: load_data, featurize, train, ...
    module: str  # the package module defining that function
    statements: tuple[str, ...]  # the lines of main() it runs, as written there
    reads: tuple[str, ...]  # values earlier steps produced
    parameters: tuple[str, ...]  # notebook parameters it uses (``args.NAME`` in main())
    writes: tuple[str, ...]  # values it hands to later steps (and the gate)


@dataclass(frozen=True)
class TrainingSteps:
    """The whole of ``main()``: setup lines every step repeats, the steps, the saving tail."""

    package: str
    setup: tuple[str, ...]  # seeding: every step runs it, as each runs in its own process
    steps: tuple[Step, ...]
    tail: tuple[str, ...]  # from ``model_dir = Path(args.model_dir)`` on: saves the model
    tail_reads: tuple[str, ...]
    tail_parameters: tuple[str, ...]
    model: str  # the name main() pickles as model.pkl
    state: Optional[str]  # the TrainedState's name, when scoring reuses fitted objects
    kept: tuple[str, ...]  # fitted objects ``state.keep(...)`` keeps for scoring

    @property
    def models(self) -> set[str]:
        """Values that are fitted objects (passed as ``Model`` artifacts, not datasets)."""
        return {self.model, *([self.state] if self.state else []), *self.kept}


def _names(node: ast.AST, ctx: type) -> list[str]:
    return list(dict.fromkeys(n.id for n in ast.walk(node)
                              if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)))


def _arguments(node: ast.AST) -> list[str]:
    """Notebook parameters a statement reads as ``args.NAME``."""
    return list(dict.fromkeys(
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name) and n.value.id == "args" and n.attr != "model_dir"))


def _step_functions(tree: ast.Module) -> dict[str, str]:
    """Package functions main() may call as steps -> the module defining them."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module \
                and node.module not in HELPER_MODULES:
            found.update({a.asname or a.name: node.module for a in node.names})
        elif isinstance(node, ast.FunctionDef) and node.name != "main":
            found[node.name] = "train"
    return found


def _called(statement: ast.stmt, functions: dict[str, str]) -> Optional[str]:
    for node in ast.walk(statement):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in functions:
            return node.func.id
    return None


def _main_body(tree: ast.Module, path: str) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """(the calls, the saving tail) of main(): between parse_args and ``model_dir = ...``."""
    main = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"),
                None)
    if main is None:
        raise ConfigError("the package's train.py has no main(): productionize the notebook "
                          "again", path=path)
    texts = [ast.unparse(s) for s in main.body]
    try:
        start = next(i for i, t in enumerate(texts) if t.startswith("args = parser.parse_args"))
        end = next(i for i, t in enumerate(texts) if t.startswith("model_dir = Path("))
    except StopIteration:
        raise ConfigError("train.py's main() is not the one jupyter-mlops generates (hand "
                          "edited?): productionize the notebook again", path=path) from None
    tail = [s for s in main.body[end:] if not isinstance(s, ast.Return)]
    return main.body[start + 1:end], tail


def _group(calls: list[ast.stmt], functions: dict[str, str],
           path: str) -> tuple[list[str], list[tuple[str, list[ast.stmt]]]]:
    """Seeding lines, and the statements of each step (one package call and what follows)."""
    setup: list[str] = []
    groups: list[tuple[str, list[ast.stmt]]] = []
    prelude: list[ast.stmt] = []
    for statement in calls:
        name = _called(statement, functions)
        if name is not None:
            groups.append((name, prelude + [statement]))
            prelude = []
        elif groups:
            groups[-1][1].append(statement)
        elif isinstance(statement, ast.Expr):
            setup.append(ast.unparse(statement))
        else:
            prelude.append(statement)
    if not groups:
        raise ConfigError("train.py's main() calls no package function: nothing to make "
                          "pipeline steps of", path=path)
    return setup, groups


def _unique(name: str, taken: set[str]) -> str:
    number, candidate = 1, name
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate)
    return candidate


def _steps(groups: list[tuple[str, list[ast.stmt]]], functions: dict[str, str],
           needed_at_end: set[str], models: set[str]) -> tuple[Step, ...]:
    """Each step with the values it reads from earlier steps and passes to later ones."""
    reads_of = [set().union(*(_names(s, ast.Load) for s in body)) for _, body in groups]
    writes_of = [set().union(*(_names(s, ast.Store) for s in body)) for _, body in groups]
    steps, available, taken = [], set(), set()
    for index, (name, body) in enumerate(groups):
        later = set(needed_at_end).union(*reads_of[index + 1:])
        reads = [n for n in sorted(reads_of[index]) if n in available]
        # data read here and later may have been changed in place: pass it on again
        writes = sorted((writes_of[index] | (set(reads) - models)) & later)
        parameters = list(dict.fromkeys(p for s in body for p in _arguments(s)))
        steps.append(Step(_unique(name, taken), functions[name],
                          tuple(ast.unparse(s) for s in body), tuple(reads),
                          tuple(parameters), tuple(writes)))
        available |= writes_of[index]
    return tuple(steps)


def _saved_names(tail: list[ast.stmt]) -> tuple[str, Optional[str]]:
    """(the model main() pickles, the TrainedState it saves or None)."""
    model, state = None, None
    for node in (n for s in tail for n in ast.walk(s)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                and isinstance(node.args[0], ast.Name):
            if node.func.attr == "dump" and model is None:
                model = node.args[0].id
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "save" and isinstance(node.func.value, ast.Name):
            state = node.func.value.id
    return model or "model", state


def _kept(calls: list[ast.stmt], state: Optional[str]) -> tuple[str, ...]:
    kept = [k.arg for s in calls for n in ast.walk(s) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and n.func.attr == "keep"
            and isinstance(n.func.value, ast.Name) and n.func.value.id == state
            for k in n.keywords if k.arg]
    return tuple(kept)


def training_steps(train_py: str, package: str, path: str = "train.py") -> TrainingSteps:
    """The pipeline steps of a generated ``train.py`` (its source text)."""
    tree = ast.parse(train_py)
    functions = _step_functions(tree)
    calls, tail = _main_body(tree, path)
    setup, groups = _group(calls, functions, path)
    tail_reads = {n for s in tail for n in _names(s, ast.Load)}
    tail_writes = {n for s in tail for n in _names(s, ast.Store)}
    produced = set().union(*(_names(s, ast.Store) for _, body in groups for s in body))
    needed = (tail_reads - tail_writes) & produced
    model, state = _saved_names(tail)
    kept = _kept(calls, state)
    models = {model, *kept, *([state] if state else [])}
    return TrainingSteps(
        package=package, setup=tuple(setup), steps=_steps(groups, functions, needed, models),
        tail=tuple(ast.unparse(s) for s in tail), tail_reads=tuple(sorted(needed)),
        tail_parameters=tuple(dict.fromkeys(p for s in tail for p in _arguments(s))),
        model=model, state=state, kept=kept)
