"""A small lesson whose first exercise forbids the package's own version (lesson ``98_shortcut``).

``shortcut.bucket`` asks for :func:`mlcourse.deploy.rollout.canary_bucket` written by
hand, and forbids calling it; ``shortcut.double`` forbids nothing. Loaded by
``tests/grading/test_answer_key.py`` as ``mlcourse.exercises.shortcut.checks``;
both tests use the engine's generic probe, so the grading child needs no
probes module of this lesson.
"""
from __future__ import annotations

from mlcourse.deploy.rollout import canary_bucket
from mlcourse.exercises.engine import Exercise, Function, returns


def _user(rng):
    return (f"user-{int(rng.integers(0, 10**9))}",)


BUCKET = Exercise(
    id="shortcut.bucket",
    title="A user's canary bucket, by hand",
    points=2,
    answer=Function("bucket"),
    tests=[returns("user-42", lambda rng: ("user-42",), canary_bucket), returns("a fresh user id", _user, canary_bucket)],
    forbid=("mlcourse.deploy.rollout.canary_bucket", "rollout.canary_bucket"),
)

DOUBLE = Exercise(
    id="shortcut.double",
    title="Double a number",
    points=1,
    answer=Function("double"),
    tests=[returns("a random integer", lambda rng: (int(rng.integers(-99, 99)),), lambda x: 2 * x)],
)
