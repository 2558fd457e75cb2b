"""Static dataflow of cell code: which names each top-level statement reads and writes.

Writes include in-place mutation, because notebooks mutate more than they assign:
``df["x"] = ...``, ``df.dropna(inplace=True)``, ``model.fit(X, y)``, ``add_column(df)``.
"""

from __future__ import annotations

import ast
import builtins
import symtable
from dataclasses import dataclass

#: Methods that change their receiver in place.
MUTATING_METHODS = frozenset(
    {
        "fit", "partial_fit", "set_params", "append", "extend", "insert", "update", "pop",
        "popitem", "remove", "clear", "sort", "reverse", "add", "discard", "setdefault",
        "drop_duplicates_inplace", "rename_axis_inplace", "set_index_inplace",
    }
)
BUILTIN_NAMES = frozenset(dir(builtins)) | {"display", "get_ipython", "In", "Out", "__file__"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a cell with its dataflow."""

    node: ast.stmt
    start: int  # first line within the cell (1-based), leading comments included
    end: int
    reads: frozenset[str]
    writes: frozenset[str]
    binds_only: frozenset[str]  # names bound before use inside the statement (loop targets)

    @property
    def kind(self) -> str:
        """``import``, ``def`` (function/class), ``assign`` or ``other``."""
        if isinstance(self.node, (ast.Import, ast.ImportFrom)):
            return "import"
        if isinstance(self.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return "def"
        if isinstance(self.node, (ast.Assign, ast.AnnAssign)):
            return "assign"
        return "other"


def base_name(node: ast.AST) -> str | None:
    """``df`` for ``df["a"].b[0]``; None when the chain does not start at a name."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _receiver(node: ast.AST) -> str | None:
    """``df`` for ``df["a"].b``; None for a call's result (``Estimator().fit(...)`` changes a new
    object, not ``Estimator``)."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _scope_globals(table: symtable.SymbolTable) -> set[str]:
    names = set()
    for child in table.get_children():
        names |= {s.get_name() for s in child.get_symbols()
                  if s.is_global() and s.is_referenced()}
        names |= _scope_globals(child)
    return names


def _walk_same_scope(node: ast.AST):
    """ast.walk that does not enter nested functions, classes, lambdas or comprehensions."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(child, _SCOPES):
                stack.append(child)


def _mutations(node: ast.stmt) -> set[str]:
    if isinstance(node, _SCOPES):
        return set()  # a definition changes nothing until it is called
    names = set()
    for sub in _walk_same_scope(node):
        if isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(
            sub.ctx, (ast.Store, ast.Del)
        ):
            names.add(base_name(sub.value))
        elif isinstance(sub, ast.Call):
            func = sub.func
            inplace = any(
                k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in sub.keywords
            )
            if isinstance(func, ast.Attribute) and (inplace or func.attr in MUTATING_METHODS):
                names.add(_receiver(func.value))
    names.discard(None)
    return names


def helper_mutations(node: ast.stmt, mutators: dict[str, frozenset[int]]) -> set[str]:
    """Names changed by calling a notebook-defined helper that mutates its arguments."""
    names = set()
    for sub in _walk_same_scope(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            positions = mutators.get(sub.func.id, frozenset())
            names |= {a.id for i, a in enumerate(sub.args)
                      if i in positions and isinstance(a, ast.Name)}
    return names


def function_mutators(tree: ast.Module) -> dict[str, frozenset[int]]:
    """For each top-level function, the positions of the parameters its body mutates."""
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = [a.arg for a in node.args.posonlyargs + node.args.args]
            changed = set()
            for stmt in node.body:
                changed |= _mutations(stmt)
            positions = frozenset(i for i, p in enumerate(params) if p in changed)
            if positions:
                found[node.name] = positions
    return found


def _bound_before_use(node: ast.stmt) -> set[str]:
    targets: list[ast.AST] = []
    if isinstance(node, (ast.For, ast.AsyncFor)):
        targets.append(node.target)
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets.extend(i.optional_vars for i in node.items if i.optional_vars is not None)
    names = set()
    for target in targets:
        names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.For, ast.AsyncFor)):
        names -= {n.id for n in ast.walk(node.iter) if isinstance(n, ast.Name)}
    return names


def _loop_aliases(node: ast.stmt, writes: set[str]) -> set[str]:
    """``for frame in [train, test]: frame["x"] = ...`` changes ``train`` and ``test``."""
    if (isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name)
            and node.target.id in writes and isinstance(node.iter, (ast.List, ast.Tuple))):
        return {e.id for e in node.iter.elts if isinstance(e, ast.Name)}
    return set()


def analyze_statement(
    node: ast.stmt, mutators: dict[str, frozenset[int]] | None = None
) -> tuple[frozenset, frozenset, frozenset]:
    """Return (reads, writes, names bound before their use) of one statement."""
    # unparse, not the source segment: it keeps decorators and never carries cell indentation.
    table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    top = table.get_symbols()
    reads = {s.get_name() for s in top if s.is_referenced()} | _scope_globals(table)
    writes = {s.get_name() for s in top if s.is_assigned() or s.is_imported()}
    for sub in _walk_same_scope(node):
        if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
            reads.add(sub.target.id)
    writes |= _mutations(node) | helper_mutations(node, mutators or {})
    writes |= _loop_aliases(node, writes)
    bound = _bound_before_use(node)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        reads.discard(node.name)  # recursion is not a read from an earlier cell
    return frozenset(reads - BUILTIN_NAMES - bound), frozenset(writes), frozenset(bound)


def ordered_reads(stmt: Statement) -> list[str]:
    """The statement's reads in the order they appear in the code (stable signatures)."""
    seen = {}
    names = [n for n in ast.walk(stmt.node) if isinstance(n, ast.Name)]
    for node in sorted(names, key=lambda n: (n.lineno, n.col_offset)):
        if node.id in stmt.reads:
            seen.setdefault(node.id, None)
    return list(seen) + sorted(stmt.reads - set(seen))


def cell_statements(
    code: str, mutators: dict[str, frozenset[int]] | None = None
) -> tuple[Statement, ...]:
    """Split parsed cell code into top-level statements with their line ranges and dataflow."""
    tree = ast.parse(code)
    statements = []
    previous_end = 0
    lines = code.split("\n")
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        start = first
        # Comment lines right above a statement travel with it.
        while start - 1 > previous_end and lines[start - 2].strip().startswith("#"):
            start -= 1
        reads, writes, bound = analyze_statement(node, mutators)
        statements.append(Statement(node, start, node.end_lineno, reads, writes, bound))
        previous_end = node.end_lineno
    return tuple(statements)
