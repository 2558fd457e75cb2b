"""From a notebook with roles to a package plan: which statements go where, and the signatures.

Pure functions over parsed cells; no I/O. The steps run in a fixed order:
clean sources -> statements -> drop display -> resolve every read to the cell that last wrote
it (refusing hidden state) -> role functions with parameters and returns -> model, features,
label and metrics for the score file and the evaluation.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from ..errors import DataflowError, NotebookError
from ..notebook import Cell, Notebook, role_tag
from .dataflow import (BUILTIN_NAMES, Statement, base_name, cell_statements, function_mutators,
                       ordered_reads)
from .display import is_display_only
from .freeze import (FrozenCall, frozen_calls, has_metrics, logged_metrics, rewrite,
                     row_wise)
from .persistence import reloaded_model, saves_model
from .source import clean_source, lenient_source

PIPELINE = ("data", "featurization", "training", "evaluation", "scoring")
STAGE = {"parameters": 0, "setup": 0, "data": 1, "featurization": 2, "training": 3,
         "evaluation": 4, "scoring": 5}
FUNCTION = {"data": "load_data", "featurization": "featurize", "training": "train",
            "evaluation": "evaluate", "scoring": "predict"}
MODULE = {"data": "data", "featurization": "featurize", "training": "train",
          "evaluation": "evaluate", "scoring": "score", "setup": "common"}
EXPORTED = frozenset(STAGE) - {"skip"}
_METRIC_CALL = re.compile(r"(score|error|loss|accuracy|auc|precision|recall|r2|f1|mae|mse|rmse)",
                          re.IGNORECASE)
_SPLITTERS = re.compile(r"split", re.IGNORECASE)
_TRANSFORMS = frozenset({"transform", "fit_transform"})
_BATCH_DEPENDENT = frozenset({"fit", "fit_transform", "get_dummies", "median", "mean", "std",
                              "var", "quantile", "mode", "value_counts", "nunique", "min", "max",
                              "rank", "qcut"})


@dataclass(frozen=True)
class Piece:
    """One exported statement with the cell (and cell lines) it came from."""

    cell: Cell
    statement: Statement
    code: str  # the cleaned cell code it is sliced from

    @property
    def source(self) -> str:
        """The statement's lines (leading comments included) exactly as in the cell."""
        lines = self.code.split("\n")
        return "\n".join(lines[self.statement.start - 1: self.statement.end])


@dataclass(frozen=True)
class Parameter:
    """A name from papermill's ``parameters`` cell."""

    name: str
    default: str  # Python source of the default value
    type_name: Optional[str]  # int, float, str, bool or None when not a simple literal


@dataclass(frozen=True)
class RoleFunction:
    """The function a role's inline cell code becomes."""

    role: str
    name: str
    module: str
    pieces: tuple[Piece, ...]
    params: tuple[str, ...]
    kwparams: tuple[str, ...]
    returns: tuple[str, ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        """Source cells in notebook order, each once."""
        seen: dict[int, Cell] = {}
        for piece in self.pieces:
            seen.setdefault(piece.cell.index, piece.cell)
        return tuple(seen.values())


@dataclass(frozen=True)
class Plan:
    """Everything code generation needs, decided."""

    notebook: Notebook
    parameters: tuple[Parameter, ...]
    functions: dict[str, RoleFunction]
    module_defs: dict[str, tuple[Piece, ...]]  # module -> defs/constants at module level
    imports: dict[str, tuple[Piece, ...]]  # bound name -> import statement piece
    definer_module: dict[str, str]  # module-level name -> module that defines it
    model: Optional[str]
    features: Optional[str]
    features_expr: Optional[str]
    raw_input: Optional[str]
    label_columns: tuple[str, ...]
    metrics_expr: Optional[str]
    metric_names: tuple[str, ...]
    requirements: tuple[str, ...]
    warnings: tuple[str, ...]
    uses_pandas: bool
    seeds: tuple[Piece, ...]
    dropped: tuple[Piece, ...] = field(default=())
    # featurization one-hot encodes with get_dummies: score.py aligns columns to training's
    one_hot: bool = False
    # batch statistics and fit_transform calls in featurization, frozen at training time
    frozen: tuple[FrozenCall, ...] = ()
    # the metrics as the notebook computes them, when its evaluation only calls log_metric
    recorded_metrics_expr: Optional[str] = None


@dataclass
class _Walk:
    """Mutable state of the dataflow walk, local to one ``plan_package`` call."""

    last_writer: dict[str, Cell] = field(default_factory=dict)
    # (reader role, name) -> writer cells, in read order
    reads_from: list[tuple[Cell, str, Cell]] = field(default_factory=list)


def _parse_cells(nb: Notebook) -> tuple[dict[int, str], dict[int, tuple[Statement, ...]],
                                         list[str], list[str], Optional[str]]:
    codes, requirements, warnings = {}, [], []
    for cell in nb.code_cells:
        if cell.role in EXPORTED:
            clean = clean_source(cell, nb.path)
            requirements.extend(clean.requirements)
            warnings.extend(clean.warnings)
            codes[cell.index] = clean.code
        else:
            codes[cell.index] = lenient_source(cell)
    logged = _logged_metrics(nb, codes)
    mutators: dict[str, frozenset[int]] = {}
    for code in codes.values():
        if code:
            mutators.update(function_mutators(ast.parse(code)))
    statements = {i: cell_statements(code, mutators) if code else () for i, code in codes.items()}
    return codes, statements, requirements, warnings, logged


def _logged_metrics(nb: Notebook, codes: dict[int, str]) -> Optional[str]:
    """Evaluation cells whose only metrics are ``log_metric`` calls: the calls become a
    ``logged_metrics`` dict (see ``freeze.logged_metrics``); returns the dict expression the
    recording evaluates in the notebook, or None."""
    cells = [c for c in nb.tagged("evaluation") if codes.get(c.index)]
    if not cells or any(has_metrics(codes[c.index], _scalar_metric) for c in cells):
        return None
    items: list[str] = []
    for cell in cells:
        codes[cell.index], found = logged_metrics(codes[cell.index], first=not items)
        items += found
    return "{" + ", ".join(items) + "}" if items else None


def _who(cell: Cell) -> str:
    return f"cell {cell.number} (id {cell.cell_id}, {role_tag(cell.role) if cell.role else 'untagged'})"


def _resolve_reads(nb: Notebook, statements: dict[int, tuple[Statement, ...]],
                   kept: dict[int, list[Statement]]) -> _Walk:
    walk = _Walk()
    for cell in nb.code_cells:
        exported = cell.role in EXPORTED
        for stmt in statements[cell.index]:
            if exported:
                if stmt not in kept[cell.index]:
                    continue  # a left-out `model = joblib.load(...)` rebinds nothing
                for name in ordered_reads(stmt):
                    _check_read(nb, walk, cell, stmt, name)
            for name in stmt.writes:
                walk.last_writer[name] = cell
    return walk


def _check_read(nb: Notebook, walk: _Walk, cell: Cell, stmt: Statement, name: str) -> None:
    writer = walk.last_writer.get(name)
    if writer is None:
        if name in stmt.writes or name in BUILTIN_NAMES:
            return  # bound inside the statement itself (if/else branches, loops)
        raise DataflowError(
            f"reads `{name}` but no cell before it defines it; define it in an earlier cell "
            "(or in the parameters or mlops:setup cell)",
            path=nb.path, cell=cell.ref, line=stmt.start,
        )
    if writer.role not in EXPORTED:
        raise DataflowError(
            f"reads `{name}`, which was last set by {_who(writer)}; that cell is not exported, "
            "so the package would differ from the notebook. Tag that cell with a role, or "
            f"move the assignment of `{name}` into a tagged cell",
            path=nb.path, cell=cell.ref, other_cell=writer.ref, line=stmt.start,
        )
    if STAGE[writer.role] > STAGE[cell.role] and cell.role not in ("setup", "parameters"):
        raise DataflowError(
            f"reads `{name}` from {_who(writer)}, but {cell.role} runs before {writer.role} in "
            "the package; move the code or change one of the roles",
            path=nb.path, cell=cell.ref, other_cell=writer.ref, line=stmt.start,
        )
    if cell.role in ("setup", "parameters") and STAGE[writer.role] > 0:
        raise DataflowError(
            f"is a {role_tag(cell.role)} cell but reads `{name}` from {_who(writer)}; "
            "setup code may only use other setup code",
            path=nb.path, cell=cell.ref, other_cell=writer.ref, line=stmt.start,
        )
    walk.reads_from.append((cell, name, writer))


def _literal_type(node: ast.expr) -> Optional[str]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None
    for kind in (bool, int, float, str):
        if type(value) is kind:  # pylint: disable=unidiomatic-typecheck  # bool is an int
            return kind.__name__
    return None


def _parameters(nb: Notebook, statements: dict[int, tuple[Statement, ...]]) -> list[Parameter]:
    params: dict[str, Parameter] = {}
    for cell in nb.tagged("parameters"):
        for stmt in statements[cell.index]:
            node = stmt.node
            if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
                for target in node.targets:
                    params[target.id] = Parameter(
                        target.id, ast.unparse(node.value), _literal_type(node.value)
                    )
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    params[node.target.id] = Parameter(
                        node.target.id, ast.unparse(node.value), _literal_type(node.value)
                    )
            elif not isinstance(node, (ast.Import, ast.ImportFrom)):
                raise NotebookError(
                    "the parameters cell should only assign values (`name = value`), as papermill "
                    "expects; move other code to a setup cell",
                    path=nb.path, cell=cell.ref, line=stmt.start,
                )
    return list(params.values())


_LOADS_DATA = re.compile(r"^(read_\w+|fetch_\w+|loadtxt|genfromtxt|open|load_(iris|digits|wine|"
                         r"breast_cancer|diabetes|linnerud|files|svmlight_file))$")
_SEEDS = frozenset({"seed", "manual_seed", "set_seed", "set_random_seed"})


def _called(func: ast.expr) -> str:
    """The name a call calls: ``f`` in ``f(x)`` and in ``obj.f(x)``."""
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _calls(node: ast.AST) -> list[str]:
    return [_called(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)]


def _is_seed(stmt: Statement) -> bool:
    node = stmt.node
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and _calls(node.value)[0] in _SEEDS)


def _split_cells(nb, codes, statements, kept):
    """Sort kept statements into role functions, module-level defs and imports."""
    inline: dict[str, list[Piece]] = {r: [] for r in PIPELINE}
    module_defs: dict[str, list[Piece]] = {}
    imports: dict[str, Piece] = {}
    seeds: list[Piece] = []
    warnings = []
    for cell in nb.code_cells:
        if cell.role not in EXPORTED or cell.role == "parameters":
            continue
        module = MODULE[cell.role]
        for stmt in kept[cell.index]:
            piece = Piece(cell, stmt, codes[cell.index])
            if stmt.kind == "import":
                for name in stmt.writes:
                    imports[name] = piece
            elif stmt.kind == "def" or (cell.role == "setup" and stmt.kind == "assign"):
                loads = [c for c in _calls(stmt.node) if _LOADS_DATA.match(c)]
                if cell.role == "setup" and stmt.kind == "assign" and loads:
                    raise DataflowError(
                        f"loads data (`{loads[0]}`) in an mlops:setup cell, which would run on "
                        "every import of the package; move it to a cell tagged mlops:data",
                        path=nb.path, cell=cell.ref, line=stmt.start,
                    )
                module_defs.setdefault(module, []).append(piece)
            elif cell.role == "setup" and _is_seed(stmt):
                seeds.append(piece)  # replayed at the start of training, as in the notebook
            elif cell.role == "setup":
                warnings.append(
                    f"cell {cell.number} (id {cell.cell_id}) line {stmt.start}: "
                    f"`{ast.unparse(stmt.node).splitlines()[0]}` runs only for its side effect and "
                    "is not exported (generated modules have no side effects at import)"
                )
            else:
                inline[cell.role].append(piece)
    return inline, module_defs, imports, seeds, warnings


def _role_signature(role, pieces, walk, module_level, param_names):
    cells = {p.cell.index for p in pieces}
    params, kwparams = [], []
    for reader, name, writer in walk.reads_from:
        if reader.index not in cells or writer.index in cells and writer.role == role:
            continue
        if name in module_level:
            continue
        if writer.role == "parameters" or name in param_names and writer.role == "parameters":
            if name not in kwparams:
                kwparams.append(name)
        elif writer.role in PIPELINE and writer.role != role and name not in params:
            params.append(name)
    return params, kwparams


def _returns(role, pieces, walk):
    """Names later roles read from this one, in the order this role last writes them."""
    cells = {p.cell.index for p in pieces}
    out = set()
    for reader, name, writer in walk.reads_from:
        if writer.index in cells and reader.role != role and STAGE[reader.role] > STAGE[role]:
            out.add(name)
    last_write = {}
    for position, piece in enumerate(pieces):
        for name in piece.statement.writes & out:
            last_write[name] = position
    return sorted(out, key=lambda n: (last_write.get(n, -1), n))


def _fit_calls(pieces):
    for piece in pieces:
        for node in ast.walk(piece.statement.node):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("fit", "fit_transform")):
                yield node, piece


def _method_receivers(pieces, methods):
    found = []
    for piece in pieces:
        for node in ast.walk(piece.statement.node):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in methods):
                name = base_name(node.func.value)
                if name:
                    found.append((name, node))
    return found


def _find_model(functions) -> Optional[str]:
    training = functions.get("training")
    if training is None:
        return None
    later = [p for r in ("evaluation", "scoring") if r in functions for p in functions[r].pieces]
    returned = set(training.returns)
    for name, _ in _method_receivers(later, ("predict", "predict_proba", "transform")):
        if name in returned:
            return name
    assigned_from_fit = []
    for piece in training.pieces:
        node = piece.statement.node
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(
            node.value.func, ast.Attribute
        ) and node.value.func.attr == "fit" and isinstance(node.targets[0], ast.Name):
            assigned_from_fit.append(node.targets[0].id)
    receivers = [n for n, _ in _method_receivers(training.pieces, ("fit",))]
    for candidates in (assigned_from_fit, receivers):
        if candidates:
            return candidates[-1]
    return None


def _transform_call(node: ast.AST) -> Optional[ast.Call]:
    """A ``.transform(...)``-like call in an assignment's value (``scaler.fit_transform(X)``)."""
    value = getattr(node, "value", None)
    for sub in ast.walk(value) if value is not None else ():
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr in _TRANSFORMS):
            return sub
    return None


def _trace_to(name: str, pieces, targets: set[str], depth: int = 0,
              steps: Optional[list] = None) -> set[str]:
    """Names in ``targets`` that ``name`` was computed from inside ``pieces`` (last write wins);
    ``steps`` collects the (piece, call) of each fitted transform met on the way."""
    if name in targets:
        return {name}
    if depth > 20:
        return set()
    for piece in reversed(pieces):
        stmt = piece.statement
        if name not in stmt.writes:
            continue
        node = stmt.node
        sources = set(stmt.reads)
        transform = _transform_call(node)
        if steps is not None and transform is not None:
            steps.append((piece, transform))
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple)
                and isinstance(node.value, ast.Call)):
            names = [e.id if isinstance(e, ast.Name) else None for e in node.targets[0].elts]
            arrays = [a for a in node.value.args if isinstance(a, ast.Name)]
            func = node.value.func
            func_name = _called(func)
            # train_test_split(X, y) -> X_train, X_test, y_train, y_test
            if _SPLITTERS.search(func_name) and arrays and len(names) == 2 * len(arrays):
                sources = {arrays[names.index(name) // 2].id}
        found = set()
        for source in sources - {name}:
            found |= _trace_to(source, pieces, targets, depth + 1, steps)
        return found
    return set()


@dataclass(frozen=True)
class _ModelInputs:
    features: Optional[str] = None  # the upstream output the model's X comes from
    expr: Optional[str] = None  # the X expression to apply at scoring time
    label: Optional[str] = None
    label_columns: tuple[str, ...] = ()


#: DataFrame attributes that are not columns (``df.values``, ``df.shape``, ...).
_FRAME_ATTRIBUTES = frozenset({"values", "shape", "columns", "index", "dtypes", "T", "loc",
                               "iloc", "at", "iat", "str", "dt", "cat", "empty", "size", "ndim",
                               "plot", "style", "attrs", "flags", "axes", "sparse", "array"})


def _string_subscripts(node: ast.AST, bases: set[str], constants: dict[str, str]) -> list[str]:
    """Columns of ``bases`` that ``node`` names: ``df["a"]``, ``df[LABEL]``, ``df.a`` and
    ``df.pop("a")``."""
    def name(value: ast.AST) -> Optional[str]:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        return constants.get(value.id) if isinstance(value, ast.Name) else None

    called = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
    found = []
    for sub in ast.walk(node):
        column = None
        if isinstance(sub, ast.Subscript) and base_name(sub.value) in bases:
            column = name(sub.slice)
        elif (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
              and sub.value.id in bases and id(sub) not in called
              and sub.attr not in _FRAME_ATTRIBUTES):
            column = sub.attr
        elif (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
              and sub.func.attr == "pop" and isinstance(sub.func.value, ast.Name)
              and sub.func.value.id in bases and sub.args):
            column = name(sub.args[0])
        if column is not None:
            found.append(column)
    return found


def _model_inputs(nb, functions, model, raw_input, module_level, constants) -> _ModelInputs:
    """What the model was fit on, traced back to what scoring can compute from new records."""
    training = functions.get("training")
    if training is None or model is None:
        return _ModelInputs()
    upstream = functions.get("featurization") or functions.get("data")
    targets = set(upstream.returns) if upstream else set()
    available = targets | {raw_input} | set(module_level)
    fits = list(_fit_calls(training.pieces))
    for call, _ in fits:
        if base_name(call.func.value) != model and len(fits) > 1:
            continue
        keywords = {k.arg: k.value for k in call.keywords}
        x_arg = call.args[0] if call.args else keywords.get("X")
        y_arg = call.args[1] if len(call.args) > 1 else keywords.get("y")
        if x_arg is None:
            continue
        labels = set()
        if isinstance(y_arg, ast.Name):
            labels = _trace_to(y_arg.id, training.pieces, targets)
        if isinstance(x_arg, ast.Name):
            steps: list = []
            found = _trace_to(x_arg.id, training.pieces, targets, steps=steps)
            if len(found) == 1 and steps:
                piece, call = steps[-1]
                raise DataflowError(
                    f"`{model}` is fit on `{x_arg.id}`, which this training cell computes with "
                    f"`{ast.unparse(call)[:80]}`; score.py runs featurization and then "
                    f"`{model}.predict`, so it would skip that step and predict on "
                    "untransformed data. Put the transformer and the model in one sklearn "
                    "Pipeline (e.g. `make_pipeline(StandardScaler(), LogisticRegression())`) "
                    "and fit that",
                    path=nb.path, cell=piece.cell.ref, line=piece.statement.start)
            if len(found) == 1:
                name = next(iter(found))
                rest = labels - found
                return _ModelInputs(name, name, next(iter(rest)) if len(rest) == 1 else None)
            continue
        # `model.fit(df[FEATURES], df["y"])`: scoring applies the same expression.
        reads = {n.id for n in ast.walk(x_arg) if isinstance(n, ast.Name)}
        if reads and reads <= available:
            columns = tuple(_string_subscripts(y_arg, targets | {raw_input}, constants)
                            ) if y_arg else ()
            feature = next((n for n in sorted(reads) if n in targets), None)
            return _ModelInputs(feature, ast.unparse(x_arg), None, columns)
    return _ModelInputs()


def _label_columns(functions, label: Optional[str], raw_input: Optional[str],
                   constants: dict[str, str]) -> tuple[str, ...]:
    """Columns of the raw records that only the label reads (``y = df["churn"]``)."""
    featurization = functions.get("featurization")
    if not label or not featurization or not raw_input:
        return ()
    # frames made from the raw records (`df = preprocess(raw)`, `df = raw.copy()`) keep
    # their columns
    frames = {raw_input}
    for piece in featurization.pieces:
        node = piece.statement.node
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and piece.statement.reads & frames
                and node.targets[0].id != label):
            frames.add(node.targets[0].id)
    columns = []
    for piece in featurization.pieces:
        if label in piece.statement.writes:
            columns += _string_subscripts(_label_part(piece.statement.node, label),
                                          frames, constants)
    # `df["target"] = (df["adopted"] == "yes").astype(int)`, in featurization or in the data
    # cell: the raw label column is "adopted", which new records do not carry either
    data = functions.get("data")
    derivations = (data.pieces if data else ()) + featurization.pieces
    changed = True
    while changed:
        changed = False
        for piece in derivations:
            node = piece.statement.node
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            written = _string_subscripts(node.targets[0], {raw_input}, constants)
            if written and set(written) <= set(columns):
                for column in _string_subscripts(node.value, {raw_input}, constants):
                    if column not in columns:
                        columns.append(column)
                        changed = True
    return tuple(dict.fromkeys(columns))


def _label_part(node: ast.stmt, label: str) -> ast.AST:
    """The label's own expression in ``X, y = df[features], df.target``; else the statement."""
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Tuple) and isinstance(node.value, ast.Tuple)
            and len(node.targets[0].elts) == len(node.value.elts)):
        for target, value in zip(node.targets[0].elts, node.value.elts):
            if isinstance(target, ast.Name) and target.id == label:
                return value
    return node


def _string_constants(module_defs) -> dict[str, str]:
    """``LABEL = "churn"`` in setup cells, so ``df[LABEL]`` names a column too."""
    found = {}
    for piece in module_defs.get("common", ()):
        node = piece.statement.node
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


def _metrics(evaluation: Optional[RoleFunction]) -> tuple[Optional[str], tuple[str, ...]]:
    if evaluation is None:
        return None, ()
    dicts, scalars = [], []
    for piece in evaluation.pieces:
        node = piece.statement.node
        # `metrics = {...}` and the annotated `metrics: dict = {...}`
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if not isinstance(target, ast.Name) or getattr(node, "value", None) is None:
            continue
        name, value = target.id, node.value
        if isinstance(value, (ast.Dict, ast.DictComp)) or (
            isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict"
        ):
            dicts.append(name)
        elif _scalar_metric(value, set(scalars)):
            scalars.append(name)
    preferred = [d for d in dicts if re.search("metric|score|result", d)]
    if preferred or dicts:
        return (preferred or dicts)[-1], ()
    scalars = list(dict.fromkeys(scalars))
    if scalars:
        body = ", ".join(f'"{n}": {n}' for n in scalars)
        return "{" + body + "}", tuple(scalars)
    return None, ()


def plan_package(nb: Notebook) -> Plan:
    """Decide the package for ``nb``; raise a NotebookError naming the cell if it cannot."""
    if not any(c.role in EXPORTED - {"parameters"} for c in nb.code_cells):
        raise NotebookError(
            "no cell has an mlops role, so there is nothing to export. Tag cells with "
            "mlops:data, mlops:featurization, mlops:training, ... (JupyterLab's tag editor, "
            "`jupyter mlops tag`), or run `jupyter mlops suggest --apply`",
            path=nb.path,
        )
    codes, statements, requirements, warnings, logged = _parse_cells(nb)
    plot_names: set[str] = set()
    kept: dict[int, list[Statement]] = {}
    dropped = []
    trained = {name for cell in nb.tagged("training") for stmt in statements[cell.index]
               for name in stmt.writes}
    for cell in nb.code_cells:
        stmts = statements[cell.index]
        kept[cell.index] = []
        for i, stmt in enumerate(stmts):
            persisted = _persistence(cell, stmt, trained)
            if persisted:
                warnings.append(f"cell {cell.number} (id {cell.cell_id}) line {stmt.start}: "
                                f"`{ast.unparse(stmt.node).splitlines()[0]}` is left out: "
                                f"{persisted}")
                dropped.append(Piece(cell, stmt, codes[cell.index]))
            elif cell.role in EXPORTED and is_display_only(stmt.node, i == len(stmts) - 1,
                                                            plot_names):
                dropped.append(Piece(cell, stmt, codes[cell.index]))
            else:
                kept[cell.index].append(stmt)
    _drop_display_inputs(nb, codes, kept, dropped)
    walk = _resolve_reads(nb, statements, kept)
    parameters = _parameters(nb, statements)
    inline, module_defs, imports, seeds, setup_warnings = _split_cells(nb, codes, statements, kept)
    warnings.extend(setup_warnings)
    _parameters_used_by_setup(nb, statements, module_defs)
    _check_no_split_in_featurization(nb, inline["featurization"])
    dummies = [c for p in inline["featurization"] for c in _get_dummies_calls(p.statement.node)]
    # drop_first drops whichever category comes first *in the batch*: one record loses its
    # own, so aligning columns afterwards cannot repair it
    one_hot = bool(dummies) and not any(
        k.arg == "drop_first" for c in dummies for k in c.keywords)
    inline["featurization"], frozen = _freeze(inline["featurization"])
    warnings.extend(_batch_warnings(inline["featurization"], one_hot,
                                    {id(n) for c in frozen for n in ast.walk(c.node)}))
    warnings.extend(_helper_batch_warnings(inline["featurization"], module_defs))
    definer_module = {}
    for module, pieces in module_defs.items():
        for piece in pieces:
            for name in piece.statement.writes:
                definer_module[name] = module
    module_level = set(definer_module) | set(imports)
    _check_defs_are_closed(nb, module_defs, module_level)
    param_names = {p.name for p in parameters}
    functions: dict[str, RoleFunction] = {}
    for role in PIPELINE:
        pieces = inline[role]
        if not pieces:
            continue
        params, kwparams = _role_signature(role, pieces, walk, module_level, param_names)
        _check_no_shadowing(nb, role, pieces, module_level)
        returns = _returns(role, pieces, walk) if role != "scoring" else _last_assigned(pieces)
        # A cell that already defines `featurize` keeps it; the cells' code wraps around it.
        name = FUNCTION[role]
        if definer_module.get(name) == MODULE[role]:
            name = f"{name}_step"
        functions[role] = RoleFunction(role, name, MODULE[role], tuple(pieces),
                                       tuple(params), tuple(kwparams), tuple(returns))
    model = _find_model(functions)
    if "training" in functions:
        if model is None:
            first = functions["training"].cells[0]
            raise DataflowError(
                "no `.fit(...)` call found in the training cells, so the trained model is "
                "unknown; fit the model in an mlops:training cell",
                path=nb.path, cell=first.ref,
            )
        if model not in functions["training"].returns:
            training = functions["training"]
            functions["training"] = RoleFunction(
                training.role, training.name, training.module, training.pieces,
                training.params, training.kwparams, training.returns + (model,))
    featurization = functions.get("featurization")
    raw_input = None
    if featurization is not None:
        raw_input = _raw_input(nb, featurization)
    constants = _string_constants(module_defs)
    inputs = _model_inputs(nb, functions, model, raw_input, module_level, constants)
    features = inputs.features
    if featurization is None and features is not None:
        raw_input = features
    if "training" in functions and inputs.expr is None:
        warnings.append(
            f"could not trace what `{model}` was fit on back to the featurization outputs; "
            "score.py passes the featurized records to predict as they are"
        )
    _check_scoring_inputs(nb, functions, model, raw_input)
    metrics_expr, metric_names = _metrics(functions.get("evaluation"))
    if "evaluation" in functions and metrics_expr is None:
        warnings.append("no metrics found in the evaluation cells (assign a dict such as "
                        "`metrics = {...}` or scores from *_score/*_error calls)")
    uses_pandas = any("pandas" in ast.unparse(p.statement.node) for p in imports.values()) or any(
        isinstance(n, ast.keyword) and n.arg == "as_frame" and getattr(n.value, "value", 0)
        for role in ("data", "featurization") for p in inline[role]
        for n in ast.walk(p.statement.node))
    return Plan(
        notebook=nb,
        parameters=tuple(parameters),
        functions=functions,
        module_defs={k: tuple(v) for k, v in module_defs.items()},
        imports=imports,
        definer_module=definer_module,
        model=model,
        features=features,
        features_expr=inputs.expr,
        raw_input=raw_input,
        label_columns=tuple(dict.fromkeys(
            _label_columns(functions, inputs.label, raw_input, constants)
            + inputs.label_columns)),
        metrics_expr=metrics_expr,
        metric_names=metric_names,
        requirements=tuple(dict.fromkeys(requirements)),
        warnings=tuple(warnings),
        uses_pandas=uses_pandas,
        seeds=tuple(seeds),
        dropped=tuple(dropped),
        one_hot=one_hot,
        frozen=tuple(frozen),
        recorded_metrics_expr=logged,
    )


def _persistence(cell: Cell, stmt: Statement, trained: set[str]) -> Optional[str]:
    """Why a statement saving or reloading the trained model is left out, else None."""
    if cell.role in ("training", "evaluation") and saves_model(stmt.node, trained):
        return "the package saves the model itself (its train.py writes model.pkl to " \
               "--model-dir)"
    if cell.role == "scoring" and reloaded_model(stmt.node, trained):
        return "score.py's init() loads the trained model from $MODEL_DIR"
    return None


def _drop_display_inputs(nb: Notebook, codes, kept, dropped: list) -> None:
    """``cm = confusion_matrix(...)`` feeding only a dropped ``plt.imshow(cm)`` goes with it:
    kept alone it is dead code (pylint W0612). Scoring results and dict or score values in
    evaluation (possible metrics) always stay."""
    dropped_reads = frozenset().union(*(p.statement.reads for p in dropped))
    readers = Counter(name for stmts in kept.values() for stmt in stmts for name in stmt.reads)
    for cell in nb.code_cells:
        if cell.role not in EXPORTED or cell.role in ("scoring", "parameters", "setup"):
            continue
        for stmt in list(kept[cell.index]):
            node = stmt.node
            if (not isinstance(node, ast.Assign) or not stmt.writes
                    or not stmt.writes <= dropped_reads
                    or not all(isinstance(t, ast.Name) for t in node.targets)):
                continue
            if cell.role == "evaluation" and _may_be_metric(node.value):
                continue
            # read by a kept statement other than this one (`x = x + 1` reads itself)
            if not any(readers[n] - (n in stmt.reads) for n in stmt.writes):
                kept[cell.index].remove(stmt)
                dropped.append(Piece(cell, stmt, codes[cell.index]))


_WRAPPERS = frozenset({"sqrt", "float", "round", "abs", "mean", "exp"})


def _scalar_metric(value: ast.expr, known: set[str] = frozenset()) -> bool:
    """``accuracy_score(...)``, and what is computed from one: ``mean_squared_error(...) **
    0.5``, ``np.sqrt(mse)``, ``1 - r2`` (``known``: metric names already found)."""
    if isinstance(value, ast.Name):
        return value.id in known
    if isinstance(value, ast.BinOp):
        return _scalar_metric(value.left, known) or _scalar_metric(value.right, known)
    if isinstance(value, ast.UnaryOp):
        return _scalar_metric(value.operand, known)
    if not isinstance(value, ast.Call):
        return False
    called = _called(value.func)
    if called in _WRAPPERS:
        return bool(value.args) and _scalar_metric(value.args[0], known)
    return bool(_METRIC_CALL.search(called)) and "report" not in called and "matrix" not in called


def _may_be_metric(value: ast.expr) -> bool:
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return True
    return (isinstance(value, ast.Call) and _called(value.func) == "dict") or _scalar_metric(value)


def _raw_input(nb: Notebook, featurization: RoleFunction) -> str:
    """The one name featurization reads from the data cells: what new records become."""
    if len(featurization.params) == 1:
        return featurization.params[0]
    if not featurization.params:
        raise DataflowError(
            "reads nothing from the data cells, so scoring has nowhere to put new records; "
            "featurization should transform the table the mlops:data cell loads",
            path=nb.path, cell=featurization.cells[0].ref)
    names = ", ".join(f"`{p}`" for p in featurization.params)
    raise DataflowError(
        f"reads {names} from earlier cells, but at scoring time new records arrive as one "
        f"table: featurization may read only that one (e.g. `{featurization.params[0]}`). Move "
        "constants such as column lists or label names into an mlops:setup cell, and derive "
        "anything else from the table itself",
        path=nb.path, cell=featurization.cells[0].ref)


def _get_dummies_calls(node: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call) and "get_dummies" in (
        getattr(n.func, "attr", None), getattr(n.func, "id", None))]


def _freeze(pieces: list[Piece]) -> tuple[list[Piece], list[FrozenCall]]:
    """Featurization pieces with their batch statistics wrapped (see ``freeze``)."""
    by_cell: dict[int, list[FrozenCall]] = {}
    for piece in pieces:
        by_cell.setdefault(piece.cell.index, []).extend(
            frozen_calls(piece.statement.node, piece.cell.number))
    codes = {index: rewrite(next(p.code for p in pieces if p.cell.index == index), calls)
             for index, calls in by_cell.items() if calls}
    return ([Piece(p.cell, p.statement, codes.get(p.cell.index, p.code)) for p in pieces],
            [call for calls in by_cell.values() for call in calls])


def _batch_warnings(pieces, one_hot: bool, frozen: set[int]) -> list[str]:
    """Featurization also runs on each scoring request: what it computes from the whole
    batch (fitted transformers, statistics, one-hot columns) differs for a few new records."""
    warnings = []
    for piece in pieces:
        for node in ast.walk(piece.statement.node):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            # methods only: the builtins min()/max() on scalars are not about the batch
            called = _called(func)
            if (called == "get_dummies" and one_hot) or id(node) in frozen:
                continue  # score.py aligns one-hot columns; frozen calls reuse training's
            grouped = called == "transform" and "groupby" in ast.unparse(func)
            if (called in _BATCH_DEPENDENT or grouped) and not row_wise(node) and (
                    isinstance(func, ast.Attribute) or called == "get_dummies"):
                cell = piece.cell
                warnings.append(
                    f"cell {cell.number} (id {cell.cell_id}) line {piece.statement.start}: "
                    f"`{ast.unparse(node)[:60]}` in featurization depends on the whole batch; "
                    "at scoring time it sees only the new records (one record gets other "
                    "values or columns). Fit it in training (a sklearn Pipeline) or use "
                    "fixed values")
                break
    return warnings


def _helper_batch_warnings(pieces, module_defs) -> list[str]:
    """A notebook function featurization calls that takes statistics from its whole input:
    only statistics written in the featurization cells themselves are frozen."""
    defs = {piece.statement.node.name: piece for group in module_defs.values()
            for piece in group if isinstance(piece.statement.node, ast.FunctionDef)}
    warnings = []
    for piece in pieces:
        for name in dict.fromkeys(_calls(piece.statement.node)):
            helper = defs.get(name)
            if helper is None:
                continue
            batch = next((c for c in ast.walk(helper.statement.node) if isinstance(c, ast.Call)
                          and isinstance(c.func, ast.Attribute)
                          and c.func.attr in _BATCH_DEPENDENT - {"get_dummies"}
                          and not row_wise(c)), None)
            if batch is not None:
                cell = piece.cell
                warnings.append(
                    f"cell {cell.number} (id {cell.cell_id}) line {piece.statement.start}: "
                    f"`{name}` (cell {helper.cell.number}) computes `{ast.unparse(batch)[:50]}` "
                    "from its whole input; at scoring time that is only the new records. "
                    "Write that step in the featurization cell, where it is computed at "
                    "training and reused when scoring")
    return warnings


def _check_defs_are_closed(nb, module_defs, module_level) -> None:
    """A function moved to module level must not use notebook variables it was never given."""
    for pieces in module_defs.values():
        for piece in pieces:
            if piece.statement.kind != "def":
                continue
            missing = sorted(piece.statement.reads - module_level - BUILTIN_NAMES)
            if missing:
                raise DataflowError(
                    f"function `{piece.statement.node.name}` uses the notebook variable(s) "
                    f"{', '.join(f'`{m}`' for m in missing)} from outside; pass them as "
                    "arguments so the function works in a module",
                    path=nb.path, cell=piece.cell.ref, line=piece.statement.start,
                )


def _check_no_shadowing(nb, role, pieces, module_level) -> None:
    for piece in pieces:
        # Only a plain assignment makes a function-local name; mutation is fine.
        assigned = {n.id for n in ast.walk(piece.statement.node)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        clash = sorted(assigned & module_level)
        if clash:
            raise DataflowError(
                f"assigns `{clash[0]}`, which an mlops:setup cell or a function definition "
                f"also defines; inside the {role} function this would hide the shared one. "
                "Use a different name",
                path=nb.path, cell=piece.cell.ref, line=piece.statement.start,
            )


def _last_assigned(pieces) -> list[str]:
    for piece in reversed(pieces):
        node = piece.statement.node
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if names:
                return names[:1]
    return []


def _check_scoring_inputs(nb, functions, model, raw_input) -> None:
    """A scoring cell must work from new records: the model and featurization outputs only."""
    scoring = functions.get("scoring")
    if scoring is None:
        return
    featurization = functions.get("featurization")
    allowed = {model, raw_input} | set(featurization.returns if featurization else ())
    for name in scoring.params:
        if name not in allowed:
            raise DataflowError(
                f"reads `{name}`, but at scoring time only the model (`{model}`) and the "
                f"featurization outputs ({', '.join(sorted(a for a in allowed if a))}) exist; "
                "score from those",
                path=nb.path, cell=scoring.cells[0].ref,
            )
    subsets: dict[str, str] = {}  # `sample = X.head(10)`: names holding only some rows
    for piece in scoring.pieces:
        node = piece.statement.node
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            part = _row_subset(node.value) or subsets.get(getattr(node.value, "id", None))
            if part:
                subsets[node.targets[0].id] = part
        for call in ast.walk(node):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and base_name(call.func.value) == model and call.args):
                continue
            argument = call.args[0]
            part = _row_subset(argument) or subsets.get(getattr(argument, "id", None))
            if part:
                raise DataflowError(
                    f"predicts on `{ast.unparse(call.args[0])}`, only some of the records "
                    f"(`{part}`); score.py must return one prediction per record it is sent, so "
                    f"predict on all of them and look at a few in a skip cell",
                    path=nb.path, cell=piece.cell.ref, line=piece.statement.start)
    if not scoring.returns:
        raise DataflowError("assigns no variable; assign the predictions (e.g. "
                            "`predictions = model.predict(X)`)", path=nb.path,
                            cell=scoring.cells[-1].ref)


_ROW_SUBSETS = frozenset({"head", "tail", "sample", "nlargest", "nsmallest"})


def _all_rows(index: ast.expr) -> bool:
    """``X[:, 1:3]``, ``X.iloc[:, 0]``: every row, some columns."""
    first = index.elts[0] if isinstance(index, ast.Tuple) and index.elts else index
    return isinstance(first, ast.Slice) and first.lower is None and first.upper is None


def _row_subset(node: ast.AST) -> Optional[str]:
    """What in an expression keeps only some rows: ``X.head(3)``, ``X[:10]``, ``X.iloc[5:]``."""
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr in _ROW_SUBSETS):
            return f".{sub.func.attr}(...)"
        if not isinstance(sub, ast.Subscript) or _all_rows(sub.slice):
            continue
        by_position = isinstance(sub.value, ast.Attribute) and sub.value.attr == "iloc"
        if by_position or isinstance(sub.slice, ast.Slice):
            return ast.unparse(sub)
    return None


def _parameters_used_by_setup(nb, statements, module_defs) -> None:
    """Setup code reading a parameter needs it at module level too: emit it in common.py."""
    setup_reads = set()
    for piece in module_defs.get("common", ()):
        setup_reads |= piece.statement.reads
    extra = []
    for cell in nb.tagged("parameters"):
        for stmt in statements[cell.index]:
            if stmt.writes & setup_reads:
                extra.append(Piece(cell, stmt, "\n".join(cell.source.split("\n"))))
    if extra:
        module_defs["common"] = extra + list(module_defs.get("common", ()))


def _splits_text(call: ast.Call) -> bool:
    """``df["email"].str.split("@")``, ``e.split(",")``, ``re.split(...)``: text, not rows
    (a data splitter's ``split`` takes the data, not a separator)."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in ("split", "rsplit"):
        return False
    owner = func.value
    separator = not call.args or (isinstance(call.args[0], ast.Constant)
                                  and isinstance(call.args[0].value, (str, bytes)))
    return (separator or (isinstance(owner, ast.Attribute) and owner.attr == "str")
            or (isinstance(owner, ast.Constant) and isinstance(owner.value, str))
            or (isinstance(owner, ast.Name) and owner.id in ("re", "str", "os", "path"))
            or (isinstance(owner, ast.Attribute) and owner.attr == "path"))


def _check_no_split_in_featurization(nb, pieces) -> None:
    """Scoring runs featurization on new records; a train/test split there would split them."""
    for piece in pieces:
        splits = [_called(c.func) for c in ast.walk(piece.statement.node)
                  if isinstance(c, ast.Call) and _SPLITTERS.search(_called(c.func))
                  and not _splits_text(c)]
        if splits:
            raise DataflowError(
                f"calls `{splits[0]}` in an mlops:featurization cell; featurization also runs "
                "on new records at scoring time, where it must not split them. Move the split "
                "to the mlops:training cell",
                path=nb.path, cell=piece.cell.ref, line=piece.statement.start,
            )


def notebook_parameters(nb: Notebook) -> tuple[Parameter, ...]:
    """Names, default sources and literal types of papermill's ``parameters`` cell."""
    statements = {cell.index: cell_statements(clean_source(cell, nb.path).code)
                  for cell in nb.tagged("parameters")}
    return tuple(_parameters(nb, statements))
