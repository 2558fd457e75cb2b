"""What is fit on training rows (a vectorizer, a scaler, an imputer, an encoder, column statistics)
is trained state: applied at scoring, never refit.
"""

import pytest

from .proof import assert_proven, notebooks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("nb_path", notebooks(
    "countvectorizer_fit_on_train_split_label_in_training_new_reviews_scored",
    "tfidf_fit_on_train_split_in_featurization_then_new_tickets_scored",
    "tfidf_fit_on_all_reviews_before_split_label_in_training",
    "imputer_and_onehot_encoder_fit_on_train_split_then_new_rows_scored",
    "imputer_fit_on_whole_table_in_featurization_then_split_houses",
    "scaler_fit_on_whole_table_before_split_wine_knn",
    "median_fillna_and_zscore_in_featurization_id_and_date_columns_unused",
    "mean_fill_loop_over_gappy_columns_and_zscore_random_forest_regression",
    "word_and_char_tfidf_sparse_hstack_fit_on_train_texts_logistic_regression",
))
def test_trained_state_productionizes_with_equivalence_proven(nb_path, tmp_path, forked_pytest):
    assert_proven(nb_path, tmp_path, forked_pytest)
