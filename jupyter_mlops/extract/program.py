"""A notebook as one program: its exported statements in notebook order, sorted into imports,
module-level definitions, seeds and inline code (what the package's functions are made of).

Display code, model saving/reloading and values that only fed a dropped plot are left out here,
so every later step sees only what the package runs.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from ..errors import CellWarning, DataflowError
from ..notebook import Cell, Notebook
from .adopt import Position, adopted_statements
from .dataflow import Statement, cell_statements, function_mutators
from .display import is_display_only
from .logged import has_metrics, logged_metrics
from .metrics import is_metric_value, scalar_metric
from .parameters import Parameter, parameters_of
from .persistence import reloaded_model, saves_model
from .source import clean_source, lenient_source

ROLES = ("data", "featurization", "training", "evaluation", "scoring")
EXPORTED = frozenset(ROLES) | {"setup", "parameters"}
MODULE = {"data": "data", "featurization": "featurize", "training": "train",
          "evaluation": "evaluate", "scoring": "score", "setup": "common"}
_LOADS_DATA = ("read_", "fetch_", "loadtxt", "genfromtxt", "load_iris", "load_digits",
               "load_wine", "load_breast_cancer", "load_diabetes", "load_linnerud",
               "load_files", "load_svmlight_file")
_SEEDS = frozenset({"seed", "manual_seed", "set_seed", "set_random_seed"})


@dataclass(frozen=True)
class Piece:
    """One exported statement with the cell (and cell lines) it came from."""

    cell: Cell
    statement: Statement
    code: str  # the cleaned cell code it is sliced from
    text: Optional[str] = None  # the statement rewritten (saved statistics), if it is

    @property
    def source(self) -> str:
        """The statement's lines (leading comments included) as the package runs them."""
        if self.text is not None:
            return self.text
        lines = self.code.split("\n")
        return "\n".join(lines[self.statement.start - 1: self.statement.end])

    @property
    def role(self) -> str:
        """The role of the cell the statement is in."""
        return self.cell.role or ""


@dataclass(frozen=True)
class Program:
    """The exported statements of a notebook, sorted by what the package does with them."""

    notebook: Notebook
    parameters: tuple[Parameter, ...]
    statements: dict[int, tuple[Statement, ...]]  # every code cell's, exported or not
    kept: dict[int, tuple[Statement, ...]]  # exported cells' statements the package runs
    inline: tuple[Piece, ...]  # data ... scoring statements, notebook order
    module_defs: dict[str, tuple[Piece, ...]]  # module -> defs/constants at module level
    imports: dict[str, Piece]  # bound name -> import statement piece
    seeds: tuple[Piece, ...]
    dropped: tuple[Piece, ...]
    requirements: tuple[str, ...]
    warnings: tuple[CellWarning, ...]
    logged_metrics: Optional[str] = None  # the dict the notebook's log_metric calls make
    codes: dict[int, str] = field(default_factory=dict)
    adopted: frozenset[Position] = frozenset()  # untagged helpers exported (``adopt``)

    @property
    def definer_module(self) -> dict[str, str]:
        """Module-level name -> the module that defines it."""
        return {name: module for module, pieces in self.module_defs.items()
                for piece in pieces for name in piece.statement.writes}

    @property
    def module_level(self) -> frozenset[str]:
        """Names every generated function can use without being given them."""
        return frozenset(self.definer_module) | frozenset(self.imports)


def _called(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _calls(node: ast.AST) -> list[str]:
    return [_called(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)]


def _clean_codes(nb: Notebook) -> tuple[dict[int, str], list[str], list[CellWarning]]:
    codes, requirements, warnings = {}, [], []
    for cell in nb.code_cells:
        if cell.role in EXPORTED - {"skip"}:
            clean = clean_source(cell, nb.path)
            requirements.extend(clean.requirements)
            warnings.extend(_as_warning(cell, text) for text in clean.warnings)
            codes[cell.index] = clean.code
        else:
            codes[cell.index] = lenient_source(cell)
    return codes, requirements, warnings


def _as_warning(cell: Cell, text: str) -> CellWarning:
    """source.py's "cell N (id X) line L: message" strings as data."""
    head, sep, message = text.partition(": ")
    line = None
    if sep and " line " in head:
        tail = head.rsplit(" line ", 1)[1]
        line = int(tail) if tail.isdigit() else None
    return CellWarning(message if sep else text, cell.ref, line)


def _logged_metrics(nb: Notebook, codes: dict[int, str]) -> Optional[str]:
    """Evaluation cells whose only metrics are ``log_metric`` calls: the calls become a
    ``logged_metrics`` dict; returns the dict expression the recording evaluates, or None."""
    cells = [c for c in nb.tagged("evaluation") if codes.get(c.index)]
    if not cells or any(has_metrics(codes[c.index], scalar_metric) for c in cells):
        return None
    items: list[str] = []
    for cell in cells:
        codes[cell.index], found = logged_metrics(codes[cell.index], not items, scalar_metric)
        items += found
    return "{" + ", ".join(items) + "}" if items else None


def _persistence(cell: Cell, stmt: Statement, trained: set[str]) -> Optional[str]:
    """Why a statement saving or reloading the trained model is left out, else None."""
    if cell.role in ("training", "evaluation") and saves_model(stmt.node, trained):
        return "the package saves the model itself (its train.py writes model.pkl to --model-dir)"
    if cell.role == "scoring" and reloaded_model(stmt.node, trained):
        return "score.py's init() loads the trained model from $MODEL_DIR"
    return None


def _keep(nb: Notebook, codes, statements) -> tuple[dict[int, list[Statement]], list[Piece],
                                                      list[CellWarning]]:
    """Exported statements minus display code and model saving/reloading."""
    kept: dict[int, list[Statement]] = {}
    dropped, warnings = [], []
    trained = {name for cell in nb.tagged("training") for stmt in statements[cell.index]
               for name in stmt.writes}
    plot_names: set[str] = set()
    for cell in nb.code_cells:
        stmts = statements[cell.index]
        kept[cell.index] = []
        for number, stmt in enumerate(stmts):
            persisted = _persistence(cell, stmt, trained)
            if persisted:
                first = ast.unparse(stmt.node).splitlines()[0]
                warnings.append(CellWarning(f"`{first}` is left out: {persisted}", cell.ref,
                                            stmt.start))
                dropped.append(Piece(cell, stmt, codes[cell.index]))
            elif cell.role in EXPORTED and is_display_only(stmt.node, number == len(stmts) - 1,
                                                            plot_names):
                dropped.append(Piece(cell, stmt, codes[cell.index]))
            else:
                kept[cell.index].append(stmt)
    _drop_display_inputs(nb, codes, kept, dropped)
    return kept, dropped, warnings


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
            if cell.role == "evaluation" and (is_metric_value(node.value) or any(
                    is_metric_value(v) for v in getattr(node.value, "elts", ()))):
                continue
            # read by a kept statement other than this one (`x = x + 1` reads itself)
            if not any(readers[n] - (n in stmt.reads) for n in stmt.writes):
                kept[cell.index].remove(stmt)
                dropped.append(Piece(cell, stmt, codes[cell.index]))


def _is_seed(stmt: Statement) -> bool:
    node = stmt.node
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and _calls(node.value)[0] in _SEEDS)


def _setup_piece(nb: Notebook, piece: Piece, sorted_: dict) -> None:
    """A setup cell's statement: a module-level definition, a seed, or a warning."""
    stmt, cell = piece.statement, piece.cell
    if stmt.kind in ("def", "assign"):
        loads = [c for c in _calls(stmt.node) if c.startswith(_LOADS_DATA)]
        if stmt.kind == "assign" and loads:
            raise DataflowError(
                f"loads data (`{loads[0]}`) in an mlops:setup cell, which would run on every "
                "import of the package; move it to a cell tagged mlops:data",
                path=nb.path, cell=cell.ref, line=stmt.start,
            )
        sorted_["defs"].setdefault("common", []).append(piece)
    elif _is_seed(stmt):
        sorted_["seeds"].append(piece)  # replayed at the start of training, as in the notebook
    else:
        first = ast.unparse(stmt.node).splitlines()[0]
        sorted_["warnings"].append(CellWarning(
            f"`{first}` runs only for its side effect and is not exported (generated modules "
            "have no side effects at import)", cell.ref, stmt.start))


def _sort_pieces(nb: Notebook, codes, kept, adopted: frozenset[Position]) -> dict:
    """Kept statements -> inline code, module-level defs, imports and seeds; the adopted
    helpers of untagged cells among the defs and imports, in notebook order."""
    sorted_: dict = {"inline": [], "defs": {}, "imports": {}, "seeds": [], "warnings": []}
    for cell in nb.code_cells:
        if cell.role not in EXPORTED:
            stmts = [s for s in kept[cell.index] if (cell.index, s.start) in adopted]
        elif cell.role == "parameters":
            continue
        else:
            stmts = kept[cell.index]
        for stmt in stmts:
            piece = Piece(cell, stmt, codes[cell.index])
            if stmt.kind == "import":
                for name in stmt.writes:
                    sorted_["imports"][name] = piece
            elif cell.role == "setup":
                _setup_piece(nb, piece, sorted_)
            elif stmt.kind == "def":
                # every module may call it, so it lives where none imports another
                sorted_["defs"].setdefault("common", []).append(piece)
            else:
                sorted_["inline"].append(piece)
    return sorted_


def _parameters_used_by_setup(nb: Notebook, statements, module_defs: dict) -> None:
    """Setup code reading a parameter needs it at module level too: emit it in common.py."""
    setup_reads: set[str] = set()
    for piece in module_defs.get("common", ()):
        setup_reads |= piece.statement.reads
    extra = [Piece(cell, stmt, cell.source) for cell in nb.tagged("parameters")
             for stmt in statements[cell.index] if stmt.writes & setup_reads]
    if extra:
        module_defs["common"] = extra + list(module_defs.get("common", ()))


def read_program(nb: Notebook) -> Program:
    """Parse, clean and sort every exported statement of ``nb``."""
    codes, requirements, warnings = _clean_codes(nb)
    logged = _logged_metrics(nb, codes)
    mutators: dict[str, frozenset[int]] = {}
    for code in codes.values():
        if code:
            mutators.update(function_mutators(ast.parse(code)))
    statements = {i: cell_statements(code, mutators) if code else () for i, code in codes.items()}
    kept, dropped, kept_warnings = _keep(nb, codes, statements)
    adopted = adopted_statements(nb, statements, kept, EXPORTED)
    sorted_ = _sort_pieces(nb, codes, kept, adopted)
    _parameters_used_by_setup(nb, statements, sorted_["defs"])
    return Program(
        notebook=nb,
        parameters=parameters_of(nb, statements),
        statements=statements,
        kept={i: tuple(s) for i, s in kept.items()},
        inline=tuple(sorted_["inline"]),
        module_defs={k: tuple(v) for k, v in sorted_["defs"].items()},
        imports=sorted_["imports"],
        seeds=tuple(sorted_["seeds"]),
        dropped=tuple(dropped),
        requirements=tuple(dict.fromkeys(requirements)),
        warnings=tuple(warnings + kept_warnings + sorted_["warnings"]
                       + _adoption_warnings(nb, statements, adopted)),
        logged_metrics=logged,
        codes=codes,
        adopted=adopted,
    )


def _adoption_warnings(nb: Notebook, statements, adopted: frozenset[Position]
                       ) -> list[CellWarning]:
    """One line per untagged cell and kind (imports, definitions) adopted: the reviewer
    learns why an untagged cell's code is in the package, without a line per import."""
    found = []
    for cell in nb.code_cells:
        groups: dict[str, list[Statement]] = {}
        for stmt in statements[cell.index]:
            if (cell.index, stmt.start) in adopted:
                groups.setdefault("import" if stmt.kind == "import" else "definition",
                                  []).append(stmt)
        for what, stmts in groups.items():
            names = ", ".join(f"`{n}`" for stmt in stmts for n in sorted(stmt.writes))
            many = len(stmts) > 1 or len(stmts[0].writes) > 1
            found.append(CellWarning(
                f"the {what}{'s' if many else ''} of {names} in this untagged cell "
                f"{'are' if many else 'is'} exported to common.py: tagged cells use "
                f"{'them' if many else 'it'}", cell.ref, stmts[0].start))
    return found
