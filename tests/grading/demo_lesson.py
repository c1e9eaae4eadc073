"""A small lesson for the grader's tests: three exercises of each answer kind.

Loaded by ``tests/grading/conftest.py`` as ``mlcourse.exercises.demo.checks`` (lesson
``99_demo``); the grader's children load it from this file.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mlcourse.exercises.engine import Exercise, Function, Value, returns, value_is


def _double(x):
    return 2 * x


def _clean(df):
    return df.dropna().reset_index(drop=True)


def _random_frame(rng):
    values = rng.normal(size=12).round(3)
    values[rng.choice(12, size=3, replace=False)] = np.nan
    return (pd.DataFrame({"a": values[:6], "b": values[6:]}),)


DOUBLE = Exercise(
    id="demo.double",
    title="Double a number",
    points=2,
    answer=Function("double"),
    tests=[
        returns("3", lambda rng: (3,), _double),
        returns("a random integer", lambda rng: (int(rng.integers(-1000, 1000)),), _double),
    ],
    hints=["Multiply by two."],
)

TOTAL = Exercise(
    id="demo.total",
    title="Add up 0..10",
    points=1,
    answer=Value("total"),
    tests=[value_is("total", lambda: 55)],
)

CLEAN = Exercise(
    id="demo.clean",
    title="Drop rows with missing values",
    points=2,
    answer=Function("clean"),
    tests=[
        returns("a frame with one missing value", lambda rng: (pd.DataFrame({"a": [1.0, None, 3.0]}),), _clean),
        returns("a random frame with missing values", _random_frame, _clean),
    ],
)
