"""The corpus: notebooks written the way data scientists write them, tagged the way they tag
them (issues 10 and 11). Each must productionize into a package whose equivalence with the
notebook is proven: its equivalence and score tests run and pass, nothing is "not proven".

The notebooks live in tests/notebooks/realistic/ and realistic_more/ (one file per behaviour,
named by it; the CSVs they read are made by data/make_data.py there). The test modules beside
this one take them by theme, so the slow productionize runs spread over pytest-xdist workers.
"""

from pathlib import Path

import pytest

from jupyter_mlops.errors import MlopsError
from jupyter_mlops.productionize import productionize

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CORPUS = {p.stem: p for folder in ("realistic", "realistic_more")
          for p in sorted((NOTEBOOKS / folder).glob("*.ipynb"))}


def notebooks(*stems: str) -> list:
    """pytest parameters for the named corpus notebooks."""
    return [pytest.param(CORPUS[stem], id=stem) for stem in stems]


#: The generated tests that prove equivalence and the score contract. The serving and import
#: tests are the same templates for every package: the examples and test_productionize run
#: them; here they would start two more interpreters per notebook.
PROOF_TESTS = ("tests/test_equivalence.py", "tests/test_score.py")


def assert_proven(nb_path: Path, tmp_path: Path, forked_pytest) -> None:
    """Productionize ``nb_path``; its equivalence and score tests run (in a child of the warm
    ``forked_pytest`` process) and pass, all is proven."""
    try:
        # pylint of generated code is the examples' and the engine tests' job; here the
        # question is equivalence
        result = productionize(nb_path, out=tmp_path / "out", force=True, checks=False)
    except MlopsError as exc:
        pytest.fail(f"productionize refused the notebook: {exc}")
    summary = result.summary()
    assert result.proven, summary
    out = Path(result.out_dir)
    tests = forked_pytest.run(out, out / "reports" / "proof.xml", PROOF_TESTS)
    assert tests.cases, summary
    failed = [c for c in tests.cases if c.outcome != "passed"]
    assert not failed, summary + "".join(
        f"\n  {c.outcome.upper()} {c.name}: {c.message}" for c in failed)
    equivalence = {c.name.rsplit("::", 1)[-1] for c in tests.cases if "equivalence" in c.name}
    assert {"test_features_match_notebook", "test_predictions_match_notebook"} <= equivalence, \
        summary
