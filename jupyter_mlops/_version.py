"""Version of jupyter-mlops (read by hatch and written into every manifest)."""

__version__ = "0.1.0"
