"""Models not fit with a plain sklearn fit: native LightGBM/XGBoost, statsmodels formulas, search
objects, a model refit, one never used to predict.
"""

import pytest

from .proof import assert_proven, notebooks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("nb_path", notebooks(
    "lightgbm_native_train_on_numpy_arrays_breast_cancer_auc",
    "lightgbm_native_train_on_dataframe_early_stopping_bike_rentals",
    "xgboost_native_train_dmatrix_wine_multiclass_under_time_magic",
    "xgboost_native_train_on_dataframe_loan_defaults_threshold_in_scoring",
    "statsmodels_formula_ols_on_train_frame_rent_with_district_levels",
    "grid_search_cv_pipeline_predicts_with_search_object_breast_cancer",
    "randomized_search_best_estimator_predicts_loan_defaults",
    "ridge_fit_on_train_split_then_refit_on_all_rows_diabetes",
    "gradient_boosting_only_fit_cross_val_score_and_train_score_never_predicts",
))
def test_native_models_productionizes_with_equivalence_proven(nb_path, tmp_path, forked_pytest):
    assert_proven(nb_path, tmp_path, forked_pytest)
