"""spam: production package generated from spam.ipynb by jupyter-mlops."""
