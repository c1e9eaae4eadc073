"""``mlcourse start``, step 1: the learner's own copy of the lessons.

The generated learner notebooks are templates; a learner never edits them in
place. :func:`sync` copies them into a workspace folder (``./mlcourse-work``
by default) and never overwrites anything the learner changed:

* a lesson not in the workspace yet is copied (after a course update, too);
* a copy still byte for byte what was copied is refreshed when the course
  changed that lesson (nothing of the learner's is in it);
* a copy the learner changed is kept; if the course changed that lesson since,
  :func:`sync` says so, once, and ``mlcourse start --fresh LESSON`` puts the
  new version beside it (:func:`fresh_copy`).

What was copied is recorded in the workspace, in ``.mlcourse-manifest.json``
(each file's sha256 as copied), which is how a later ``start`` tells the
learner's edits from the course's updates. :func:`start` then picks the lesson
to open (:func:`next_lesson`: the first one not finished) and hands over to
step 2, :mod:`mlcourse.launch`, which starts JupyterLab.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from mlcourse.errors import CLIError
from mlcourse.paths import lessons_dir

MANIFEST = ".mlcourse-manifest.json"


@dataclass
class Sync:
    """What :func:`sync` did to each lesson file of the workspace."""

    added: list[Path] = field(default_factory=list)
    refreshed: list[Path] = field(default_factory=list)  # untouched copies brought up to date
    kept: list[Path] = field(default_factory=list)  # the learner's own, left alone
    changed_upstream: list[Path] = field(default_factory=list)  # kept, and newer in the course


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def templates() -> list[Path]:
    """The learner notebooks of the installed course, in course order."""
    source = lessons_dir("notebooks")
    found = sorted(source.glob("*.ipynb"))
    if not found:
        raise CLIError(f"no lesson notebooks found in {source}; reinstall mlcourse")
    return found


def _read_manifest(workspace: Path) -> dict[str, dict]:
    try:
        data = json.loads((workspace / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
        return {k: v for k, v in files.items() if isinstance(v, dict) and isinstance(v.get("sha256"), str)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # Only our own bookkeeping is lost; the files themselves are untouched
        # and an unknown copy is never overwritten (see sync).
        return {}


def _write_manifest(workspace: Path, files: dict[str, dict]) -> None:
    fd, tmp = tempfile.mkstemp(dir=workspace, prefix=".mlcourse-manifest-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"format": 1, "files": files}, fh, indent=1, sort_keys=True)
        os.replace(tmp, workspace / MANIFEST)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy(template: Path, target: Path) -> dict:
    shutil.copyfile(template, target)
    return {"sha256": _sha256(template), "copied": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def sync(workspace: Path) -> Sync:
    """Bring the workspace up to date with the course, keeping the learner's work.

    Examples
    --------
    >>> import tempfile
    >>> work = Path(tempfile.mkdtemp())
    >>> first = sync(work)
    >>> len(first.added) == len(templates()), first.kept
    (True, [])
    >>> again = sync(work)
    >>> again.added, len(again.kept) == len(templates())
    ([], True)
    """
    if workspace.exists() and not workspace.is_dir():
        raise CLIError(f"{workspace} is a file; choose a folder with --dir")
    try:
        workspace.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create the workspace {workspace}: {exc.strerror or exc}") from None
    manifest = _read_manifest(workspace)
    result = Sync()
    try:
        for template in templates():
            target = workspace / template.name
            upstream = _sha256(template)
            entry = manifest.get(template.name)
            if not target.exists():
                manifest[template.name] = _copy(template, target)
                result.added.append(target)
                continue
            mine = _sha256(target)
            if entry is None:
                # A workspace from before the manifest: what it was copied from
                # is unknown, so the course's current version is the baseline.
                manifest[template.name] = {"sha256": upstream}
                result.kept.append(target)
            elif mine == upstream:
                entry["sha256"] = upstream
                result.kept.append(target)
            elif mine == entry["sha256"]:
                manifest[template.name] = _copy(template, target)
                result.refreshed.append(target)
            else:
                result.kept.append(target)
                if upstream != entry["sha256"] and entry.get("reported") != upstream:
                    entry["reported"] = upstream
                    result.changed_upstream.append(target)
        _write_manifest(workspace, manifest)
    except OSError as exc:
        raise CLIError(f"cannot write in the workspace {workspace}: {exc.strerror or exc}") from None
    return result


def populate(workspace: Path) -> tuple[list[Path], list[Path]]:
    """Copy the learner notebooks into ``workspace``: ``(copied, kept)``.

    Examples
    --------
    >>> import tempfile
    >>> copied, kept = populate(Path(tempfile.mkdtemp()))
    >>> len(kept)
    0
    """
    result = sync(workspace)
    return result.added + result.refreshed, result.kept


def resolve_lesson(name: str, lessons: Sequence[str] | None = None) -> str:
    """The lesson a learner means: ``01_data``, ``01_data.ipynb``, ``01`` or ``data``.

    Examples
    --------
    >>> resolve_lesson("01"), resolve_lesson("data"), resolve_lesson("01_data.ipynb")
    ('01_data', '01_data', '01_data')
    """
    lessons = list(lessons) if lessons is not None else [t.stem for t in templates()]
    wanted = name.strip().removesuffix(".ipynb")
    for lesson in lessons:
        number, _, topic = lesson.partition("_")
        if wanted in (lesson, topic) or (wanted.isdigit() and number.isdigit() and int(wanted) == int(number)):
            return lesson
    raise CLIError(f"unknown lesson {name!r}; the lessons are: {', '.join(lessons)}")


def fresh_copy(workspace: Path, lesson: str, today: date | None = None) -> Path:
    """Copy the course's version of ``lesson`` beside the learner's, never over it.

    The copy is named ``01_data (fresh 2026-12-04).ipynb``; a second one the
    same day gets ``... 2).ipynb`` and so on.

    Examples
    --------
    >>> import tempfile
    >>> work = Path(tempfile.mkdtemp())
    >>> fresh_copy(work, "01_data", date(2026, 12, 4)).name
    '01_data (fresh 2026-12-04).ipynb'
    >>> fresh_copy(work, "01_data", date(2026, 12, 4)).name
    '01_data (fresh 2026-12-04 2).ipynb'
    """
    lesson = resolve_lesson(lesson)
    template = lessons_dir("notebooks") / f"{lesson}.ipynb"
    stamp = (today or date.today()).isoformat()
    try:
        workspace.mkdir(parents=True, exist_ok=True)
        n = 1
        while True:
            suffix = f" {n}" if n > 1 else ""
            target = workspace / f"{lesson} (fresh {stamp}{suffix}).ipynb"
            try:
                # "x": an existing file is never replaced, even in a race.
                with open(target, "xb") as out, open(template, "rb") as src:
                    shutil.copyfileobj(src, out)
                return target
            except FileExistsError:
                n += 1
    except OSError as exc:
        raise CLIError(f"cannot write the fresh copy in {workspace}: {exc.strerror or exc}") from None


def next_lesson(workspace: Path) -> Path | None:
    """The first lesson in the workspace whose exercises are not all passed.

    Once every lesson is finished, the first one (for review); ``None`` for a
    workspace with no lesson.
    """
    from mlcourse.exercises import LESSONS, progress_table

    present = [workspace / f"{lesson}.ipynb" for lesson in LESSONS if (workspace / f"{lesson}.ipynb").is_file()]
    for path in present:
        rows = progress_table(path.stem)
        if not rows or any(r["status"] != "passed" for r in rows):
            return path
    return present[0] if present else None


def report(result: Sync, workspace: Path) -> None:
    """Say what :func:`sync` did, in a few lines."""
    print(f"Your workspace: {workspace.resolve()}")
    for path in result.added:
        print(f"  added {path.name}")
    for path in result.refreshed:
        print(f"  updated {path.name} to the course's new version (you had not changed it)")
    if result.kept:
        print(f"  kept your own copies of {len(result.kept)} notebook(s): {', '.join(p.name for p in result.kept)}")
    for path in result.changed_upstream:
        print(
            f"  the course has a new version of {path.name}; your copy is kept as it is."
            f" To get the new one beside it: mlcourse start --fresh {path.stem}"
        )


def start(
    workspace: Path,
    launch: bool = True,
    port: int | None = None,
    *,
    fresh: str | None = None,
    open_browser: bool = True,
    allow_root: bool = False,
    jupyter_args: Sequence[str] = (),
) -> int:
    """``mlcourse start``: sync the workspace, then open JupyterLab on a lesson."""
    lesson = resolve_lesson(fresh) if fresh else None  # a typo fails before anything is written
    result = sync(workspace)
    report(result, workspace)
    if lesson:
        target = fresh_copy(workspace, lesson)
        print(f"  a fresh copy of {lesson}: {target.name} (your {lesson}.ipynb is untouched)")
    else:
        target = next_lesson(workspace)
    if not launch:
        return 0
    from mlcourse import launch as jupyter

    plan = jupyter.plan(
        workspace.resolve(),
        target.resolve() if target else None,
        uid=os.geteuid() if hasattr(os, "geteuid") else -1,
        port=port,
        extra=jupyter_args,
        open_browser=open_browser,
        allow_root=allow_root,
        has_display=jupyter.has_display(),
    )
    return jupyter.run(plan)
