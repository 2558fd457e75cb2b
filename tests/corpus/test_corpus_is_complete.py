"""Every corpus notebook is taken by exactly one theme, and the corpus is as large as the
issues ask (at least 12 for the dataflow patterns, 10 more for inputs and models)."""

import ast
from pathlib import Path

from .proof import CORPUS, NOTEBOOKS


def _listed() -> list[str]:
    stems = []
    for module in sorted(Path(__file__).parent.glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "notebooks":
                stems += [arg.value for arg in node.args]
    return stems


def test_every_notebook_is_tested_once():
    listed = _listed()
    assert sorted(listed) == sorted(CORPUS), set(listed) ^ set(CORPUS)


def test_the_corpus_is_large_enough():
    assert len(list((NOTEBOOKS / "realistic").glob("*.ipynb"))) >= 12
    assert len(list((NOTEBOOKS / "realistic_more").glob("*.ipynb"))) >= 10
