"""churn: production package generated from churn.ipynb by jupyter-mlops."""
