"""``mlcourse start``: the learner's own working copy of the course.

The generated learner notebooks are templates; a learner never edits them in
place. ``start`` copies them into a workspace folder (``./mlcourse-work`` by
default) without ever overwriting a file already there, then opens JupyterLab
in that folder.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mlcourse.paths import lessons_dir


def populate(workspace: Path) -> tuple[list[Path], list[Path]]:
    """Copy the learner notebooks into ``workspace``.

    Returns
    -------
    (copied, kept) : tuple of lists of Path
        Files newly copied, and the learner's existing files left untouched.

    Examples
    --------
    >>> import tempfile
    >>> copied, kept = populate(Path(tempfile.mkdtemp()))
    >>> len(kept)
    0
    """
    from mlcourse.errors import CLIError

    source = lessons_dir("notebooks")
    templates = sorted(source.glob("*.ipynb"))
    if not templates:
        raise CLIError(f"no lesson notebooks found in {source}; reinstall mlcourse")
    if workspace.exists() and not workspace.is_dir():
        raise CLIError(f"{workspace} is a file; choose a folder with --dir")
    try:
        workspace.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create the workspace {workspace}: {exc.strerror or exc}") from None
    copied, kept = [], []
    for template in templates:
        target = workspace / template.name
        if target.exists():
            kept.append(target)
            continue
        shutil.copyfile(template, target)
        copied.append(target)
    return copied, kept


def start(workspace: Path, launch: bool = True, port: int | None = None) -> int:
    """Copy the lessons into ``workspace`` and open JupyterLab there."""
    copied, kept = populate(workspace)
    print(f"Your workspace: {workspace.resolve()}")
    for path in copied:
        print(f"  added {path.name}")
    if kept:
        print(f"  kept your own copies of {len(kept)} notebook(s): {', '.join(p.name for p in kept)}")
    if not launch:
        return 0
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workspace.resolve()}"]
    if port:
        cmd.append(f"--ServerApp.port={port}")
    first = sorted(workspace.glob("0*.ipynb"))
    if first:
        cmd.append(str(first[0].resolve()))
    print("Starting JupyterLab (Ctrl+C to stop)...")
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0
