"""Scoring cells: predictions on the held-out split read by evaluation, probability thresholds,
literal new records.
"""

import pytest

from .proof import assert_proven, notebooks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("nb_path", notebooks(
    "diabetes_regression_scoring_cell_predicts_held_out_split",
    "iris_multiclass_predict_proba_confidence_threshold_in_scoring",
    "predict_proba_threshold_flags_risky_loans_in_scoring_cell",
    "iris_return_X_y_knn_literal_feature_rows_predicted_in_scoring",
    "feedback_texts_tolist_tfidf_linear_svc_new_texts_scored",
))
def test_scoring_cells_productionizes_with_equivalence_proven(nb_path, tmp_path, forked_pytest):
    assert_proven(nb_path, tmp_path, forked_pytest)
