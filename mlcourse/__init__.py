"""mlcourse: the machine-learning system lifecycle, Data -> Train -> Deploy -> Monitor.

The package holds one module per lifecycle stage (``data``, ``validation``,
``training``, ``registry``, ``serving``, ``monitoring``), the exercise engine
(``exercises``), the grader and the ``mlcourse`` command line.

Importing ``mlcourse`` stays light on purpose: a learner's check cell must answer
at once, so heavy libraries (pandas, scikit-learn, nbformat) are imported only by
the stage modules that need them.
"""
from __future__ import annotations

import logging
from typing import Any

__version__ = "0.1.0"

# A library logs; the application decides where it goes. Without this,
# Python's last-resort handler would print the package's warnings to stderr,
# interleaving with notebook output.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__", "home", "progress"]


def home():
    """Return the root folder of everything mlcourse writes for this user.

    See :func:`mlcourse.paths.home`.
    """
    from mlcourse.paths import home as _home

    return _home()


def progress(lesson: str | None = None) -> Any:
    """Show the exercises of a lesson and their status.

    See :func:`mlcourse.exercises.progress`.
    """
    from mlcourse.exercises import progress as _progress

    return _progress(lesson)
