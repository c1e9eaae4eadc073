"""Where the answer key lives, so the grader can keep it from learner code.

The answer key is every lesson's ``checks.py`` (references, reference data,
verdicts) with its compiled copies, any ``reference/`` data folder beside it,
and the solutions notebooks (the repository's ``solutions/`` and an installed
wheel's ``mlcourse/_lessons/solutions``). A source checkout holds correct
answers in more places: its tests, its benchmarks and its git history.

The grader keeps them from the grading child two ways:

* with namespaces, :func:`answer_key_paths` goes to the child's hide list: the
  files are covered inside the child's view of the filesystem;
* without namespaces (a grader running as root in a container, such as
  Gradescope's), the child drops to an unprivileged user, and
  :func:`protect_answer_key`, called by the grader at start, makes the answer
  key readable by its owner only. It says what it could not do rather than
  pretend: as an ordinary user (the child then runs as that same user) or on
  a read-only installation the files stay readable to learner code.

Examples
--------
>>> import mlcourse.exercises.answer_key as key
>>> any(p.name == "checks.py" for p in key.answer_key_paths())
True
"""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from mlcourse.exercises import catalog

#: In a lesson package, the modules and folders that are the answer key.
KEY_MODULES = ("checks",)
KEY_FOLDERS = ("reference",)


def _package_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _lesson_key(package: str) -> list[Path]:
    folder = Path(__file__).resolve().parent / package
    found: list[Path] = []
    for module in KEY_MODULES:
        found.append(folder / f"{module}.py")
        found += sorted((folder / "__pycache__").glob(f"{module}.*.pyc"))
        loaded = sys.modules.get(f"mlcourse.exercises.{package}.{module}")
        where = getattr(loaded, "__file__", None)
        if isinstance(where, str):  # a lesson registered from elsewhere (the grader's tests do that)
            found.append(Path(where).resolve())
    found += [folder / name for name in KEY_FOLDERS]
    return found


def _checkout_extras(root: Path) -> list[Path]:
    """A source checkout's other copies of correct answers: tests, benchmarks, git history."""
    if not (root / "pyproject.toml").is_file():
        return []
    found = [root / "tests", root / "benchmarks", root / ".git"]
    git = root / ".git"
    if git.is_file():  # a worktree: .git names the real git folder, and that its common one
        text = git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            gitdir = (root / text[len("gitdir:"):].strip()).resolve()
            found.append(gitdir)
            common = gitdir / "commondir"
            if common.is_file():
                found.append((gitdir / common.read_text(encoding="utf-8").strip()).resolve())
    return found


def answer_key_paths() -> list[Path]:
    """Files and folders the grading child must not see (those that exist), without duplicates.

    Every lesson's answer key (see :data:`KEY_MODULES`, :data:`KEY_FOLDERS`),
    the solutions notebooks of the repository and of an installed wheel, and,
    in a source checkout, its tests, benchmarks and git folders.
    """
    package = _package_root()
    checkout = package.parent
    paths: list[Path] = []
    for name in catalog.LESSONS.values():
        paths += _lesson_key(name)
    paths += [package / "_lessons" / "solutions", checkout / "solutions", *_checkout_extras(checkout)]
    unique = dict.fromkeys(p for p in paths if p.exists())
    return list(unique)


def _key_files() -> list[Path]:
    """The answer key proper (what :func:`protect_answer_key` makes private)."""
    package = _package_root()
    paths: list[Path] = []
    for name in catalog.LESSONS.values():
        paths += _lesson_key(name)
    paths += [package / "_lessons" / "solutions", package.parent / "solutions"]
    return list(dict.fromkeys(p for p in paths if p.exists()))


def protect_answer_key() -> list[str]:
    """Make the answer key readable by its owner only; return what could not be done (empty: all done).

    Meant for the grader, once at start. As root it removes every permission
    of group and others from each answer-key file and folder (mode 0600 or
    0700), so a grading child that dropped to an unprivileged user cannot read
    them; a folder's files are made private too. As an ordinary user it
    changes nothing and says why that would not help.
    """
    if not hasattr(os, "geteuid"):
        return ["this system has no user ids: the answer key stays readable to learner code without namespaces"]
    if os.geteuid() != 0:
        return [
            "the grader runs as an ordinary user, so a child without namespaces runs as that user too and can read "
            "the answer key: grade with namespaces, or as root in a container"
        ]
    problems: list[str] = []
    for path in _key_files():
        targets = [path]
        if path.is_dir():
            targets += [p for p in path.rglob("*") if not p.is_symlink()]
        for target in targets:
            try:
                mode = stat.S_IMODE(target.lstat().st_mode)
                if mode & 0o077:
                    os.chmod(target, mode & 0o700)
            except OSError as exc:
                problems.append(f"could not make {target} private ({exc.strerror or exc}): learner code can read it without namespaces")
                break
    return problems
