"""Raw records that are not a DataFrame: numpy rows, lists of texts, sparse matrices."""

import pytest

from .proof import assert_proven, notebooks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("nb_path", notebooks(
    "scaler_and_pca_fit_on_numpy_train_split_digits_multiclass",
    "breast_cancer_return_X_y_numpy_arrays_split_random_forest",
    "digits_return_X_y_scaler_fit_on_train_split_logistic_regression",
    "ticket_subjects_countvectorizer_sparse_matrix_split_complement_nb",
    "statsmodels_ols_add_constant_on_numpy_diabetes",
))
def test_array_and_text_inputs_productionizes_with_equivalence_proven(nb_path, tmp_path, forked_pytest):
    assert_proven(nb_path, tmp_path, forked_pytest)
