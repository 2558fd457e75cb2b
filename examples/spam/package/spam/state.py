"""What training learned that scoring reuses: fitted objects by name, statistics by column.

Generated from spam.ipynb by jupyter-mlops. In the notebook, statements on the way from the raw
records to the model's input compute values from the training data: ``df["age"].median()``,
``vectorizer.fit_transform(X_train)``. At scoring time the input is a request's few records, so
recomputing them there would featurize one record differently from the same record in the
training set. Training therefore keeps each value here (``save()`` writes it beside the model)
and scoring reuses it (``load()``): ``state.median("age", df["age"])`` computes and keeps the
median of "age" while training and returns the kept one while scoring; ``state.vectorizer`` is
the vectorizer as training fitted it.
"""

import copy
import pickle
from pathlib import Path

STATE_FILE = "state.pkl"


class TrainedState:
    """Fitted objects and column statistics from training (see the module docstring)."""

    def __init__(self, objects=None, statistics=None, learning: bool = True) -> None:
        self.objects = dict(objects or {})
        self.statistics = {kind: dict(values) for kind, values in (statistics or {}).items()}
        self.learning = learning

    def __getattr__(self, name: str):
        objects = self.__dict__.get("objects", {})
        if name in objects:
            return objects[name]
        raise AttributeError(f"training kept no fitted object named {name!r}")

    def keep(self, **objects) -> None:
        """Keep fitted objects (at the end of training) for scoring."""
        self.objects.update(objects)

    def _statistic(self, kind: str, key, data, *args, **kwargs):
        kept = self.statistics.setdefault(kind, {})
        if self.learning:
            value = getattr(data, kind)(*args, **kwargs)
            kept.setdefault(key, value)
            return value
        if key not in kept:
            raise ValueError(
                f"training computed no {kind} for {key!r} (there it was not needed, e.g. the "
                "column had no gaps), so this record cannot be featurized as the notebook would"
            )
        return kept[key]

    def median(self, key, data, *args, **kwargs):
        """``data.median()`` while training; the kept value of ``key`` while scoring."""
        return self._statistic("median", key, data, *args, **kwargs)

    def mean(self, key, data, *args, **kwargs):
        """``data.mean()`` while training; the kept value of ``key`` while scoring."""
        return self._statistic("mean", key, data, *args, **kwargs)

    def std(self, key, data, *args, **kwargs):
        """``data.std()`` while training; the kept value of ``key`` while scoring."""
        return self._statistic("std", key, data, *args, **kwargs)

    def var(self, key, data, *args, **kwargs):
        """``data.var()`` while training; the kept value of ``key`` while scoring."""
        return self._statistic("var", key, data, *args, **kwargs)

    def quantile(self, key, data, *args, **kwargs):
        """``data.quantile(q)`` while training; the kept value of ``key`` while scoring."""
        return self._statistic("quantile", key, data, *args, **kwargs)

    def mode(self, key, data, *args, **kwargs):
        """``data.mode()`` while training; the kept value of ``key`` while scoring."""
        return self._statistic("mode", key, data, *args, **kwargs)

    def min(self, key, data, *args, **kwargs):
        """``data.min()`` while training; the kept value of ``key`` while scoring."""
        return self._statistic("min", key, data, *args, **kwargs)

    def max(self, key, data, *args, **kwargs):
        """``data.max()`` while training; the kept value of ``key`` while scoring."""
        return self._statistic("max", key, data, *args, **kwargs)

    def fit_transform(self, key, transformer, data, *args, **kwargs):
        """``transformer.fit_transform(data)`` while training, keeping a copy of the fitted
        transformer for the columns of ``data`` (else ``key``); the kept one's
        ``transform(data)`` while scoring. For a transformer refit in a loop over columns."""
        columns = getattr(data, "columns", None)
        slot = (key,) + tuple(str(c) for c in columns) if columns is not None else (key,)
        kept = self.statistics.setdefault("fitted", {})
        if self.learning:
            result = transformer.fit_transform(data, *args, **kwargs)
            kept.setdefault(slot, copy.deepcopy(transformer))
            return result
        if slot not in kept:
            raise ValueError(f"training fitted no {key} for {slot[1:] or key}")
        return kept[slot].transform(data, *args, **kwargs)

    def save(self, folder) -> None:
        """Write the state beside the model."""
        with open(Path(folder) / STATE_FILE, "wb") as stream:
            pickle.dump({"objects": self.objects, "statistics": self.statistics}, stream)

    @classmethod
    def load(cls, folder) -> "TrainedState":
        """The state training saved in ``folder``, for scoring."""
        path = Path(folder) / STATE_FILE
        if not path.exists():
            raise FileNotFoundError(
                f"no {STATE_FILE} beside the model in {folder}: train with this package's "
                "train module, which saves what scoring reuses there"
            )
        with open(path, "rb") as stream:
            saved = pickle.load(stream)
        return cls(saved["objects"], saved["statistics"], learning=False)
