"""diabetes: production package generated from diabetes.ipynb by jupyter-mlops."""
