"""Importing the generated modules has no side effects: no output, no files."""

import importlib
import sys

MODULES = ['common', 'data', 'featurize', 'evaluate', 'state', 'train', 'score', 'serve', 'onnx_model']


def test_import_has_no_side_effects(tmp_path, monkeypatch, capfd):
    # Each module is imported afresh, so its top-level code runs again; the libraries it
    # imports stay loaded (a new interpreter would spend seconds importing them again).
    for name in [n for n in sys.modules if n == "spam" or n.startswith("spam.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.chdir(tmp_path)
    capfd.readouterr()
    for name in MODULES:
        importlib.import_module(f"spam.{name}")
    assert capfd.readouterr().out == ""
    assert not list(tmp_path.iterdir())
