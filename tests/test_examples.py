"""The bundled examples productionize cleanly, and the committed packages are what they give."""

import shutil

import pytest

from jupyter_mlops.generate.builder import plain_module, template
from jupyter_mlops.package.writer import read_manifest
from jupyter_mlops.productionize import check, generator_sha256, productionize
from jupyter_mlops.quality.lint import PylintRun

from .conftest import EXAMPLES

pytestmark = pytest.mark.slow
NOTEBOOKS = sorted(EXAMPLES.glob("*/*.ipynb"))


def test_the_bundled_examples_are_there():
    assert [nb.stem for nb in NOTEBOOKS] == ["boosting", "churn", "diabetes", "spam"]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_example_gives_a_clean_passing_package(nb, tmp_path):
    out = tmp_path / "package"
    result = productionize(nb, out)
    assert result.proven and result.lint.score == 10.0 and not result.lint.findings, \
        result.summary()
    assert result.tests.failed == result.tests.skipped == 0 and result.tests.passed >= 14
    committed = nb.parent / "package"
    # Modules depend only on the notebook and the tool (pins depend on the machine).
    for module in sorted((out / result.package).glob("*.py")):
        mine = committed / result.package / module.name
        assert mine.read_bytes() == module.read_bytes(), f"{mine} is not what productionize gives"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_example_package_is_up_to_date(nb):
    status = check(nb, nb.parent / "package")
    assert status.ok, status.summary()
    # the tests that copy an example (pipelines, serving) reuse its package as cached: a
    # generator change without regenerating would silently productionize in each of them
    assert read_manifest(nb.parent / "package")["generator_sha256"] == generator_sha256(), (
        "the generator changed since the examples were written: regenerate them with "
        "`jupyter mlops productionize NOTEBOOK --out examples/NAME/package --force`")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_example_runs_top_to_bottom_as_a_plain_notebook(nb):
    import nbformat  # pylint: disable=import-outside-toplevel
    from nbclient import NotebookClient  # pylint: disable=import-outside-toplevel

    node = nbformat.read(nb, as_version=4)
    NotebookClient(node, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(nb.parent)}}).execute()
    errors = [o for c in node.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors


def test_the_template_modules_lint_clean(tmp_path):
    """Productionize lints the modules the notebook's code went into; the ones written from
    templates alone are linted here, in the package they ship in, with its ``.pylintrc``."""
    root = tmp_path / "package"
    shutil.copytree(EXAMPLES / "churn" / "package", root)
    state = plain_module("churn/state.py",
                         template("state.py.tmpl").substitute(notebook="churn.ipynb"))
    (root / state.path).write_text(state.text, encoding="utf-8")
    templates = ("churn/serve.py", "churn/onnx_model.py", state.path)
    report = PylintRun(root, "churn", None, {}, templates).report()
    assert report.score == 10.0 and not report.findings, report.findings
