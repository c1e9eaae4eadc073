"""The learner's progress: a small local JSON file, never sent anywhere.

Each exercise's latest status and score, how many hints were revealed and
whether the solution was viewed, kept in ``$MLCOURSE_HOME/progress.json``.
Writes are atomic, so an interrupted kernel never leaves a corrupt file. A
file that cannot be read all the same (edited by hand, a full disk) is set
aside under a timestamped name and reported, never silently overwritten; a
reset (``mlcourse progress --reset``) first keeps a copy of the file.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlcourse.paths import progress_file


def load(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Read the progress file; an unreadable one is set aside and reported."""
    return _load(path or progress_file())[0]


def _load(path: Path) -> tuple[dict[str, dict[str, Any]], bool]:
    """The progress, and whether it may be saved over ``path``.

    False only when the file could neither be read nor moved aside: saving
    then would destroy it.
    """
    if not path.exists():
        return {}, True
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return {k: v for k, v in data.items() if isinstance(v, dict)}, True
    except (OSError, ValueError) as exc:
        aside = _beside(path, "unreadable")
        try:
            os.rename(path, aside)
        except OSError as move:
            warnings.warn(
                f"mlcourse: cannot read your progress file {path} ({exc}) nor move it aside ({move.strerror or move}); "
                "progress is not saved until that file is fixed or removed",
                stacklevel=3,
            )
            return {}, False
        warnings.warn(
            f"mlcourse: your progress file {path} could not be read ({exc}); it was set aside as {aside} "
            "and progress starts afresh (your earlier results are in that file)",
            stacklevel=3,
        )
        return {}, True


def _beside(path: Path, label: str) -> Path:
    """A new name beside ``path``: ``progress.<label>-20261204-101500.json``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.stem}.{label}-{stamp}{path.suffix}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.{label}-{stamp}-{n}{path.suffix}")
        n += 1
    return candidate


def reset(select: Callable[[str], bool] | None = None, path: Path | None = None) -> tuple[list[str], Path | None]:
    """Clear the progress of the exercises ``select`` picks (every one without it).

    Returns the exercise ids cleared and the copy of the file as it was
    before (``progress.before-reset-<time>.json``; put it back to undo).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "progress.json"
    >>> _save({"data.a": {"status": "passed"}, "train.b": {"status": "failed"}}, f)
    >>> cleared, backup = reset(lambda ex: ex.startswith("data."), f)
    >>> cleared, sorted(load(f)), json.loads(backup.read_text())["data.a"]
    (['data.a'], ['train.b'], {'status': 'passed'})
    """
    path = path or progress_file()
    data, writable = _load(path)
    if not writable:
        raise OSError(f"{path} can neither be read nor moved aside")
    cleared = sorted(k for k in data if select is None or select(k))
    if not cleared:
        return [], None
    backup = _beside(path, "before-reset")
    shutil.copyfile(path, backup)
    _save({k: v for k, v in data.items() if k not in cleared}, path)
    return cleared, backup


def _save(data: dict, path: Path | None = None) -> None:
    path = path or progress_file()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".progress-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _update(exercise_id: str, **changes: Any) -> dict:
    data, writable = _load(progress_file())
    entry = data.setdefault(exercise_id, {})
    entry.update(changes)
    entry["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if not writable:
        return entry
    try:
        _save(data)
    except OSError as exc:  # progress is a convenience: never fail a check over it
        warnings.warn(f"mlcourse: could not save progress ({exc})", stacklevel=3)
    return entry


#: The statuses of a check that judged an answer.
JUDGED = ("passed", "failed", "error")


def record(result: Any) -> None:
    """Store a check's outcome (a :class:`~mlcourse.exercises.engine.Result`).

    A "not attempted" check (the answer is missing or still the stub, as in a
    fresh copy of a lesson) judged nothing, so it never replaces a judged
    result: the progress keeps the last answer that was checked.

    Examples
    --------
    >>> import tempfile, os
    >>> from types import SimpleNamespace as R
    >>> os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp()
    >>> record(R(exercise="demo.a", status="passed", score=2.0, points=2.0))
    >>> record(R(exercise="demo.a", status="not attempted", score=0.0, points=2.0))
    >>> load()["demo.a"]["status"], load()["demo.a"]["score"]
    ('passed', 2.0)
    """
    previous = load().get(result.exercise, {})
    if str(result.status) not in JUDGED and previous.get("status") in JUDGED:
        return
    best = max(float(previous.get("best_score", 0.0)), float(result.score))
    _update(
        result.exercise,
        status=result.status,
        score=result.score,
        points=result.points,
        best_score=best,
        checks=int(previous.get("checks", 0)) + 1,
    )


def next_hint(exercise_id: str, n_hints: int) -> int:
    """Reveal one more hint; return its number (1-based, capped at ``n_hints``)."""
    shown = int(load().get(exercise_id, {}).get("hints_shown", 0))
    n = min(shown + 1, n_hints)
    _update(exercise_id, hints_shown=n)
    return n


def note_solution(exercise_id: str) -> None:
    _update(exercise_id, solution_viewed=True)
