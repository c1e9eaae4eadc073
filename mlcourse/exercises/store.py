"""The learner's progress: a small local JSON file, never sent anywhere.

Each exercise's latest status and score, how many hints were revealed and
whether the solution was viewed, kept in ``$MLCOURSE_HOME/progress.json``.
Writes are atomic, so an interrupted kernel never leaves a corrupt file.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlcourse.paths import progress_file


def load(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Read the progress file; an unreadable one is reported and treated as empty."""
    path = path or progress_file()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return {k: v for k, v in data.items() if isinstance(v, dict)}
    except (OSError, ValueError) as exc:
        warnings.warn(f"mlcourse: ignoring unreadable progress file {path} ({exc}); progress starts afresh", stacklevel=2)
        return {}


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
    data = load()
    entry = data.setdefault(exercise_id, {})
    entry.update(changes)
    entry["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        _save(data)
    except OSError as exc:  # progress is a convenience: never fail a check over it
        warnings.warn(f"mlcourse: could not save progress ({exc})", stacklevel=3)
    return entry


def record(result: Any) -> None:
    """Store a check's outcome (a :class:`~mlcourse.exercises.engine.Result`)."""
    previous = load().get(result.exercise, {})
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
