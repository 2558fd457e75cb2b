"""The realistic corpus, part 2 (issue 11): notebooks whose raw data is not a DataFrame (numpy
arrays, lists of texts, sparse matrices, literal feature rows), whose models are not fit with an
sklearn ``.fit`` (native LightGBM/XGBoost ``train``, statsmodels, search objects, a model fit
twice, a model never used to predict), with ``%`` continuation lines and ``%%time`` cells, and
with one-hot columns on small categorical data. Each must productionize into a package whose
equivalence tests all run and pass, with nothing reported as not proven.

The notebooks live in tests/notebooks/realistic_more/ (one file per behaviour, named by it; the
CSVs they read are made by data/make_data.py).
"""

from pathlib import Path

import pytest

from jupyter_mlops.errors import MlopsError
from jupyter_mlops.productionize import productionize

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parent / "notebooks" / "realistic_more"
NOTEBOOKS = sorted(CORPUS.glob("*.ipynb"))


def test_the_corpus_is_there():
    assert len(NOTEBOOKS) >= 12


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_realistic_more_notebook_productionizes_with_equivalence_proven(nb_path, tmp_path):
    try:
        result = productionize(nb_path, out=tmp_path / "out", force=True)
    except MlopsError as exc:
        pytest.fail(f"productionize refused the notebook: {exc}")
    summary = result.summary()
    assert result.ok, summary
    assert not result.not_proven, summary
    assert result.tests is not None, summary
    assert result.tests.skipped == 0, summary + "".join(
        f"\n  SKIPPED {c.name}: {c.message}" for c in result.tests.cases
        if c.outcome == "skipped")
    assert result.tests.failed == 0 and result.tests.errors == 0, summary
    equivalence = [c for c in result.tests.cases if "equivalence" in c.name]
    assert any(c.outcome == "passed" for c in equivalence), summary
