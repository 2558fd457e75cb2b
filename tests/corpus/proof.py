"""The corpus: notebooks written the way data scientists write them, tagged the way they tag
them (issues 10 and 11). Each must productionize into a package whose equivalence with the
notebook is proven: every generated test runs and passes, nothing is "not proven".

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


def assert_proven(nb_path: Path, tmp_path: Path) -> None:
    """Productionize ``nb_path``; every generated test runs and passes, all is proven."""
    try:
        # pylint of generated code is the examples' and the engine tests' job; here the
        # question is equivalence, and leaving pylint out keeps the suite in its budget
        result = productionize(nb_path, out=tmp_path / "out", force=True, lint=False)
    except MlopsError as exc:
        pytest.fail(f"productionize refused the notebook: {exc}")
    summary = result.summary()
    assert result.proven, summary
    assert result.tests is not None and result.tests.cases, summary
    assert all(c.outcome == "passed" for c in result.tests.cases), summary + "".join(
        f"\n  {c.outcome.upper()} {c.name}: {c.message}" for c in result.tests.cases
        if c.outcome != "passed")
    equivalence = {c.name.rsplit("::", 1)[-1] for c in result.tests.cases
                   if "equivalence" in c.name}
    assert {"test_features_match_notebook", "test_predictions_match_notebook"} <= equivalence, \
        summary
