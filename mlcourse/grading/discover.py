"""Step 1 of grading: find the submissions and read what they claim to be.

A submission is one ``.ipynb`` file. Its **learner id** is the path of the
folder holding it, relative to the folder named on the command line
(``zed/alice`` for ``subs/zed/alice/x.ipynb`` when ``subs`` was named); for a
notebook directly inside the named folder, it is the file's stem; for a file
named on the command line, the name of its folder. Ids are kept exactly as
written (``Zoë`` and ``Zoé`` are two learners); where a folder name is needed,
:func:`mlcourse.grading.text.folder_name` encodes one reversibly. Its
**lesson** comes from the notebook's metadata (``mlcourse.lesson``), not from
its file name; when that metadata is missing, the exercise ids or prompt lines
in its cells tell.

Discovery reads only regular files, never through a symbolic link, never more
than :data:`MAX_BYTES`, and never waits on a FIFO or a device. A file that
cannot be read as a notebook (a link, a FIFO, broken JSON...) is still a
submission: it carries the reason in :attr:`Submission.error` and scores 0
with that message. A submission whose identity is in doubt is **refused**
(:attr:`Submission.refused`): a learner id that is not valid text, or two
notebooks of the same learner and lesson (neither is graded: which one counts
is the instructor's call, not the grader's).

Examples
--------
>>> learner_id(Path("subs/zed/alice/x.ipynb"), Path("subs"))
'zed/alice'
>>> learner_id(Path("subs/bob.ipynb"), Path("subs"))
'bob'
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlcourse.exercises import notebook as nbio
from mlcourse.grading import text

log = logging.getLogger("mlcourse.grading")

# Big enough for any notebook with its outputs (images included); a larger file
# is refused before it is parsed, so a hostile upload cannot exhaust memory.
MAX_BYTES = 100 * 1024 * 1024

PROMPT = nbio.PROMPT_LINE


@dataclass
class Submission:
    """One notebook to grade.

    Attributes
    ----------
    path : Path
        The file.
    learner : str
        Who submitted it (see the module docstring).
    lesson : str
        The lesson it belongs to, or, for a file that cannot be read, the
        file's stem (only used to name its results).
    sha256 : str
        Hash of the file's bytes (empty when unreadable).
    notebook : dict or None
        The parsed notebook, None when :attr:`error` is set.
    error : str or None
        Why this file cannot be graded (it scores 0 with this message).
    note : str
        How the lesson was found when the metadata did not say.
    refused : str or None
        Why this file is not graded at all (nothing is written for it).
    """

    path: Path
    learner: str
    lesson: str
    sha256: str = ""
    size: int = 0
    notebook: dict | None = None
    error: str | None = None
    note: str = ""
    refused: str | None = None

    @property
    def key(self) -> str:
        return f"{self.learner}/{self.lesson}"


def learner_id(path: Path, root: Path) -> str:
    """The learner id of a notebook found under the folder ``root``."""
    rel = path.relative_to(root)
    return "/".join(rel.parts[:-1]) if len(rel.parts) > 1 else path.stem


def learner_of_file(path: Path) -> str:
    """The learner id of a notebook named on its own: the name of its folder."""
    holder = Path(os.path.abspath(path)).parent.name
    return holder or path.stem


def find_notebooks(paths: Sequence[Path | str]) -> list[tuple[Path, str]]:
    """Every ``*.ipynb`` under ``paths``, with its learner id, sorted and without repeats.

    Symbolic links and other non-regular files are listed too (:func:`load`
    refuses them with a reason); linked folders are not entered.

    Raises
    ------
    FileNotFoundError
        For a path that does not exist.
    """
    found: dict[str, tuple[Path, str]] = {}

    def add(path: Path, learner: str) -> None:
        # The same file reached from two named paths is graded once.
        real = os.path.join(os.path.realpath(path.parent), path.name)
        found.setdefault(real, (path, learner))

    def unreadable(exc: OSError) -> None:
        log.warning(f"cannot read the folder {text.terminal(exc.filename)} ({exc.strerror}); its notebooks are not graded")

    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise FileNotFoundError(f"{root}: no such file or folder")
        if root.is_symlink() or not root.is_dir():
            add(root, learner_of_file(root))
            continue
        for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
            # Checkpoints and hidden folders are Jupyter's copies, not submissions.
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            here = Path(dirpath)
            for name in sorted(filenames):
                if not name.endswith(".ipynb") or name.startswith("."):
                    continue
                path = here / name
                add(path, learner_id(path, root))
    return sorted(found.values(), key=lambda item: str(item[0]))


def read_capped(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file, never through a link, never more than ``limit``.

    Raises
    ------
    OSError
        With a learner-readable ``strerror``: a link, not a regular file, too
        large, or unreadable.
    """
    limit = MAX_BYTES if limit is None else limit
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise OSError(errno.ELOOP, "it is a symbolic link; links are not graded: submit the notebook itself") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file (a FIFO, a device or a socket)")
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"the file is {st.st_size / 2**20:.0f} MB; notebooks over {limit // 2**20} MB are not graded")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise OSError(errno.EFBIG, f"the file is over {limit // 2**20} MB; notebooks over that are not graded")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


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

    sub = Submission(path=path, learner=learner, lesson=text.clean(path.stem))
    why = text.problem_in_name(learner)
    if why:
        sub.refused = (
            f"{text.terminal(path)}: cannot tell who submitted it: the learner id "
            f"{text.terminal(learner)!r} is refused ({why}); rename the folder"
        )
        return sub
    name = text.clean(path.name)
    try:
        data = read_capped(path)
    except OSError as exc:
        why = exc.strerror or str(exc)
        sub.error = f"{name}: {why}" if exc.errno in (errno.ELOOP, errno.EINVAL, errno.EFBIG) else f"{name}: cannot read the file ({why})"
        return sub
    sub.size = len(data)
    sub.sha256 = hashlib.sha256(data).hexdigest()
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        sub.error = f"{name}: not a text file (a notebook is JSON text)"
        return sub
    try:
        nb = nbio.loads(content, name)
    except nbio.NotebookError as exc:
        sub.error = text.clean(exc)
        return sub
    except (RecursionError, MemoryError, ValueError) as exc:  # pathological JSON
        sub.error = f"{name}: the notebook cannot be parsed ({type(exc).__name__})"
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
            why = f"its metadata names an unknown lesson {text.clean(repr(claimed))}" if claimed else "its metadata names no lesson"
            sub.error = f"{name}: cannot tell which lesson this notebook belongs to ({why}, and no cell names an exercise)"
            return sub
        sub.lesson = inferred
        sub.note = (
            f"The notebook's metadata does not name a lesson ({text.clean(repr(claimed))}); its exercises say it is {inferred}."
            if claimed
            else f"The notebook's metadata was missing; its exercises say it is lesson {inferred}."
        )
    sub.notebook = nb
    return sub


def refuse_duplicates(subs: Sequence[Submission]) -> None:
    """Two notebooks for one learner and lesson: refuse all of them, saying which."""
    groups: dict[tuple[str, str], list[Submission]] = defaultdict(list)
    for sub in subs:
        if sub.refused is None:
            groups[(sub.learner, sub.lesson)].append(sub)
    for (learner, lesson), same in groups.items():
        if len(same) < 2:
            continue
        files = ", ".join(text.terminal(s.path) for s in same)
        for sub in same:
            sub.refused = (
                f"{len(same)} notebooks of lesson {text.terminal(lesson)} for learner {text.terminal(learner)!r} ({files}); "
                "none was graded: keep one notebook per lesson in each learner's folder"
            )


def discover(paths: Sequence[Path | str]) -> list[Submission]:
    """Find and read every submission under ``paths``; refuse those in doubt."""
    subs = [_load_or_error(path, learner) for path, learner in find_notebooks(paths)]
    refuse_duplicates(subs)
    return subs


def _load_or_error(path: Path, learner: str) -> Submission:
    try:
        return load(path, learner)
    except Exception as exc:  # noqa: BLE001 - a bug here must cost one submission, not the batch
        log.error(f"reading {text.terminal(path)} failed: {type(exc).__name__}: {text.terminal(exc)}")
        return Submission(path, learner, text.clean(path.stem), error=f"the grader could not read this file ({type(exc).__name__})")
