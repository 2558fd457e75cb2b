"""Which statements only display something (tables, plots) and so stay out of modules."""

from __future__ import annotations

import ast

from .dataflow import MUTATING_METHODS, base_name

PLOT_MODULES = frozenset({"plt", "sns", "px", "go", "alt", "pyplot", "matplotlib", "seaborn"})
PLOT_METHODS = frozenset({"plot", "hist", "boxplot", "scatter", "imshow", "heatmap", "show",
                          "savefig", "bar", "barh", "pie", "kde", "figure", "subplots"})
DISPLAY_METHODS = frozenset(
    {"head", "tail", "describe", "info", "sample", "value_counts", "nunique", "unique",
     "isna", "isnull", "corr", "memory_usage", "style", "to_markdown", "display"}
) | PLOT_METHODS
DISPLAY_FUNCTIONS = frozenset({"display", "HTML", "Markdown"})
#: jupyter-mlops' own run recording: meaningful in a job, not in the package (whose evaluate()
#: returns the metrics and whose train.main() writes them).
INSTRUMENTATION = frozenset({"log_metric", "log_artifact"})
#: Calls kept even as a cell's last expression: they write files, record or change state.
EFFECT_METHODS = MUTATING_METHODS | frozenset(
    {"to_csv", "to_parquet", "to_json", "to_pickle", "to_excel", "to_sql", "to_feather",
     "save", "save_model", "dump", "write", "write_text", "write_bytes", "mkdir", "unlink",
     "log_param", "log_params", "log_metrics", "seed", "close",
     # process-wide settings a setup cell often ends with
     "filterwarnings", "simplefilter", "set_option", "set_config", "manual_seed",
     "set_random_seed", "set_seed", "basicConfig", "setLevel", "disable_eager_execution"}
)


def _chain_attrs(node: ast.AST) -> list[str]:
    attrs = []
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            node = node.value
    return attrs


def _is_plotting(expr: ast.AST, plot_names: set[str]) -> bool:
    root = base_name(expr)
    attrs = _chain_attrs(expr)
    return root in PLOT_MODULES or root in plot_names or bool(set(attrs) & PLOT_METHODS)


def _inplace(call: ast.Call) -> bool:
    return any(k.arg == "inplace" for k in call.keywords)


def _expression_is_display(value: ast.expr, last_in_cell: bool, plot_names: set[str]) -> bool:
    """An expression statement: a call that only shows, plots or instruments."""
    if not isinstance(value, ast.Call):
        return not isinstance(value, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr))
    attrs = set(_chain_attrs(value))
    if _inplace(value) or attrs & EFFECT_METHODS:
        return False
    func = value.func
    if isinstance(func, ast.Name) and func.id in DISPLAY_FUNCTIONS | INSTRUMENTATION:
        return True
    if isinstance(func, ast.Attribute) and func.attr in INSTRUMENTATION and (
        base_name(func) in ("jupyter_mlops", "mlops")
    ):
        return True
    if _is_plotting(value, plot_names) or attrs & DISPLAY_METHODS:
        return True
    # A discarded method result at the end of a cell is what Jupyter displays.
    return last_in_cell and isinstance(func, ast.Attribute)


def is_display_only(node: ast.stmt, last_in_cell: bool, plot_names: set[str]) -> bool:
    """True if dropping ``node`` cannot change any value the module computes.

    ``plot_names`` collects names bound to figures/axes so later ``ax.set_title()`` goes too.
    """
    if isinstance(node, ast.Expr):
        return _expression_is_display(node.value, last_in_cell, plot_names)
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        if isinstance(node.value, ast.Call) and _is_plotting(node.value, plot_names):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                plot_names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
            return True
        return False
    if isinstance(node, (ast.For, ast.With, ast.If)):
        body = list(node.body) + list(getattr(node, "orelse", []))
        return bool(body) and all(is_display_only(s, False, plot_names) for s in body)
    return False
