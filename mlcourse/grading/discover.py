"""Step 1 of grading: find the submissions and read what they claim to be.

A submission is one ``.ipynb`` file. Its **learner id** is the name of the
folder holding it; for a notebook directly inside a folder named on the command
line, it is the file's stem. Its **lesson** comes from the notebook's metadata
(``mlcourse.lesson``), not from its file name; when that metadata is missing,
the exercise ids or prompt lines in its cells tell.

A file that cannot be read as a notebook is still a submission: it carries the
reason in :attr:`Submission.error` and scores 0 with that message.

Examples
--------
>>> safe_name("Ann Lee/../x")
'Ann_Lee_.._x'
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlcourse.exercises import notebook as nbio

# Big enough for any notebook with its outputs (images included); a larger file
# is refused before it is parsed, so a hostile upload cannot exhaust memory.
MAX_BYTES = 100 * 1024 * 1024

PROMPT = re.compile(r"^[ \t]*#\s*Exercise\s+([A-Za-z0-9_.\-]+)\s*:", re.M)


@dataclass
class Submission:
    """One notebook to grade.

    Attributes
    ----------
    path : Path
        The file.
    learner : str
        Who submitted it (a safe folder name).
    lesson : str
        The lesson it belongs to, or, for a file that cannot be read, the
        file's stem (only used to name its results).
    sha256 : str
        Hash of the file's bytes (empty when unreadable).
    notebook : dict or None
        The parsed notebook, None when :attr:`error` is set.
    error : str or None
        Why this file cannot be graded.
    note : str
        How the lesson was found when the metadata did not say.
    """

    path: Path
    learner: str
    lesson: str
    sha256: str = ""
    size: int = 0
    notebook: dict | None = None
    error: str | None = None
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.learner}/{self.lesson}"


def safe_name(text: str) -> str:
    """A string usable as one path component (letters, digits, ``._@+-``)."""
    name = re.sub(r"[^A-Za-z0-9._@+\-]", "_", text).strip()
    return name if name and name not in (".", "..") else "_"


def find_notebooks(paths: Sequence[Path | str]) -> list[tuple[Path, str]]:
    """Every notebook under ``paths``, with its learner id, sorted and without repeats.

    Raises
    ------
    FileNotFoundError
        For a path that does not exist.
    """
    found: dict[Path, str] = {}
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such file or folder")
        if root.is_file():
            holder = root.resolve().parent.name
            found.setdefault(root, safe_name(holder or root.stem))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            # Checkpoints and hidden folders are Jupyter's copies, not submissions.
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            here = Path(dirpath)
            for name in sorted(filenames):
                if not name.endswith(".ipynb") or name.startswith("."):
                    continue
                path = here / name
                learner = path.stem if here == root else here.name
                found.setdefault(path, safe_name(learner))
    return sorted(found.items(), key=lambda item: str(item[0]))


def _lesson_from_cells(nb: dict, lessons: Iterable[str]) -> str | None:
    from mlcourse.exercises import lesson_of

    known = set(lessons)
    for cell in nb.get("cells", []):
        ids = [nbio.exercise_id(cell), *PROMPT.findall(nbio.source(cell))]
        for ex_id in ids:
            if not ex_id:
                continue
            try:
                lesson = lesson_of(ex_id)
            except KeyError:
                continue
            if lesson in known:
                return lesson
    return None


def load(path: Path, learner: str) -> Submission:
    """Read one notebook; never raises for a bad file (see :attr:`Submission.error`)."""
    from mlcourse.exercises import LESSONS

    sub = Submission(path=path, learner=learner, lesson=safe_name(path.stem))
    try:
        size = path.stat().st_size
        sub.size = size
        if size > MAX_BYTES:
            sub.error = f"{path.name}: the file is {size / 2**20:.0f} MB; notebooks over {MAX_BYTES // 2**20} MB are not graded"
            return sub
        data = path.read_bytes()
    except OSError as exc:
        sub.error = f"{path.name}: cannot read the file ({exc.strerror or exc})"
        return sub
    sub.sha256 = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        sub.error = f"{path.name}: not a text file (a notebook is JSON text)"
        return sub
    try:
        nb = nbio.loads(text, path.name)
    except nbio.NotebookError as exc:
        sub.error = str(exc)
        return sub
    except (RecursionError, MemoryError, ValueError) as exc:  # pathological JSON
        sub.error = f"{path.name}: the notebook cannot be parsed ({type(exc).__name__})"
        return sub
    for cell in nb["cells"]:
        # Only sources and metadata are graded; dropping outputs now keeps a
        # batch of notebooks full of images small in memory.
        cell.pop("outputs", None)
        cell.pop("attachments", None)
    claimed = nbio.lesson_of(nb)
    if claimed in LESSONS:
        sub.lesson = claimed
    else:
        inferred = _lesson_from_cells(nb, LESSONS)
        if inferred is None:
            why = f"its metadata names an unknown lesson {claimed!r}" if claimed else "its metadata names no lesson"
            sub.error = f"{path.name}: cannot tell which lesson this notebook belongs to ({why}, and no cell names an exercise)"
            return sub
        sub.lesson = inferred
        sub.note = (
            f"The notebook's metadata does not name a lesson ({claimed!r}); its exercises say it is {inferred}."
            if claimed
            else f"The notebook's metadata was missing; its exercises say it is lesson {inferred}."
        )
    sub.notebook = nb
    return sub


def discover(paths: Sequence[Path | str]) -> list[Submission]:
    """Find and read every submission under ``paths``."""
    return [load(path, learner) for path, learner in find_notebooks(paths)]
