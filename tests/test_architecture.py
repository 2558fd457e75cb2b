"""The core never imports the adapters (CLI, server, widgets, nbconvert exporter)."""

import ast
from pathlib import Path

import jupyter_mlops

PACKAGE = Path(jupyter_mlops.__file__).parent
ADAPTERS = {"cli", "cli_common", "cli_jobs", "cli_models", "cli_pipeline", "cli_serving", "server",
            "widgets", "nbconvert_exporter", "__main__"}
FORBIDDEN = ("tornado", "jupyter_server", "ipywidgets", "argparse", "jupyter_mlops.cli", "jupyter_mlops.cli_models",
             "jupyter_mlops.cli_pipeline",
             "jupyter_mlops.server", "jupyter_mlops.widgets")


#: jupyter_server's registration hook: the one place the package root names its server
#: extension app (as jupyter-scheduler does), imported only when a server asks for it.
HOOKS = {"_jupyter_server_extension_points"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for hook in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in HOOKS]:
        hook.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = path.relative_to(PACKAGE).parent.parts
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(("jupyter_mlops",) + tuple(parts) + ((base,) if base else ()))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def test_core_never_imports_adapters():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0].removesuffix(".py") in ADAPTERS:
            continue
        for name in _imports(path):
            if name.startswith(FORBIDDEN):
                offenders.append(f"{rel}: {name}")
    assert not offenders
