"""boosting: production package generated from boosting.ipynb by jupyter-mlops."""
