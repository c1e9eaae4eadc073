"""A model that takes seconds to unpickle: a large model's load time, made on purpose (not a test module).

Imported as ``_slow_model`` both by the tests and by the server process they
start (its PYTHONPATH holds this folder), so the pickle finds the class.
"""
from __future__ import annotations

import time
from typing import Any


class SlowToLoad:
    """Predicts like ``model``; unpickling it sleeps ``seconds`` first."""

    def __init__(self, model: Any, seconds: float) -> None:
        self.model = model
        self.seconds = seconds
        for attribute in ("classes_", "feature_names_in_", "n_features_in_"):
            if hasattr(model, attribute):
                setattr(self, attribute, getattr(model, attribute))

    def __setstate__(self, state: dict[str, Any]) -> None:
        time.sleep(state["seconds"])
        self.__dict__.update(state)

    def predict(self, X: Any) -> Any:
        return self.model.predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self.model.predict_proba(X)
