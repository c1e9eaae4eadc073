"""The Gradescope bundle's wheel, written from the installed mlcourse itself.

``mlcourse gradescope-bundle`` (:mod:`mlcourse.grading.gradescope`) ships an
mlcourse wheel for the autograder image to install. :func:`build_wheel` writes
it from the files of the mlcourse this Python imports, so the bundle can be
made after a plain ``pip install`` (no repository, no build tool) as well as
from a checkout, and holds exactly the code that grades here.

A wheel is a zip (the "binary distribution format" of the Python packaging
specifications): the package's files, and a ``mlcourse-VERSION.dist-info``
folder with ``METADATA`` (copied from the installed distribution: name,
version, dependencies), ``WHEEL``, ``entry_points.txt`` (the ``mlcourse``
command and the pytest plugin) and ``RECORD`` (each file's sha256 and size).
The lessons go to ``mlcourse/_lessons/``, where an installed wheel keeps them
(:func:`mlcourse.paths.lessons_dir` looks there first). Dates inside the zip
are fixed, so the same installation always gives the same wheel.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

DIST = "mlcourse"
TAG = "py3-none-any"  # pure Python
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold
_SKIP_DIRS = {"__pycache__", "_lessons"}  # _lessons is added from lessons_dir()


class WheelError(RuntimeError):
    """The installed mlcourse cannot be turned into a wheel (one line for the user)."""


def _walk(folder: Path, prefix: str) -> list[tuple[str, Path]]:
    """(name in the wheel, file) for every file under ``folder``, caches and hidden files left out."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath) / name
            found.append((f"{prefix}/{path.relative_to(folder).as_posix()}", path))
    return found


def package_files() -> list[tuple[str, Path]]:
    """The installed package's files and the lessons, as (name in the wheel, file)."""
    import mlcourse
    from mlcourse.paths import lessons_dir

    files = _walk(Path(mlcourse.__file__).resolve().parent, DIST)
    for kind in ("notebooks", "solutions"):
        files += _walk(lessons_dir(kind), f"{DIST}/_lessons/{kind}")
    return files


def is_answer_key(name: str) -> bool:
    """Whether a file of the wheel (by its name in it) is answer key: a lesson's ``checks.py``, its
    reference data, a solutions notebook. The graded edition leaves them all out.

    Examples
    --------
    >>> is_answer_key("mlcourse/exercises/data/checks.py"), is_answer_key("mlcourse/exercises/data/probes.py")
    (True, False)
    >>> is_answer_key("mlcourse/_lessons/solutions/01_data.ipynb")
    True
    """
    from mlcourse.exercises.answer_key import KEY_FOLDERS, KEY_MODULES

    parts = name.split("/")
    if parts[:3] == [DIST, "_lessons", "solutions"]:
        return True
    if len(parts) >= 4 and parts[:2] == [DIST, "exercises"]:
        if len(parts) == 4 and parts[3] in {f"{m}.py" for m in KEY_MODULES}:
            return True
        if parts[3] in KEY_FOLDERS:
            return True
    return False


def learner_files(notebooks: Mapping[str, str], extra: Mapping[str, bytes]) -> list[tuple[str, bytes]]:
    """The graded edition's files: the installed package without its answer key, the given learner
    notebooks (file name -> text) and extra files under ``mlcourse/_lessons/`` (``edition.json``)."""
    import mlcourse

    files = [
        (name, path.read_bytes())
        for name, path in _walk(Path(mlcourse.__file__).resolve().parent, DIST)
        if not is_answer_key(name)
    ]
    files += [(f"{DIST}/_lessons/notebooks/{name}", text.encode("utf-8")) for name, text in sorted(notebooks.items())]
    files += [(f"{DIST}/_lessons/{name}", data) for name, data in sorted(extra.items())]
    return files


def _metadata() -> tuple[str, str, str]:
    """The installed distribution's version, METADATA and entry_points.txt."""
    from importlib import metadata

    import mlcourse

    try:
        dist = metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        raise WheelError(
            "mlcourse is importable but not installed (no package metadata); install it with pip, or pass --wheel FILE"
        ) from None
    text = dist.read_text("METADATA") or ""
    entry_points = dist.read_text("entry_points.txt") or ""
    if dist.version != mlcourse.__version__ or "[console_scripts]" not in entry_points:
        raise WheelError(
            f"the installed mlcourse's metadata (version {dist.version}) does not match its code "
            f"(version {mlcourse.__version__}); reinstall it (pip install .) or pass --wheel FILE"
        )
    return dist.version, text, entry_points


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(dest: Path, files: list[tuple[str, bytes]] | None = None, local: str = "") -> Path:
    """Write ``mlcourse-VERSION-py3-none-any.whl`` into ``dest``; return its path.

    ``files`` (name in the wheel, bytes) replaces the installed package and
    lessons (:func:`package_files`); ``local`` adds a local version label
    (``0.1.0+graded``), so the two editions' wheels never share a name.
    """
    version, metadata_text, entry_points = _metadata()
    if local:
        version = f"{version}+{local}"
        metadata_text = re.sub(r"(?m)^Version: .*$", f"Version: {version}", metadata_text, count=1)
    info = f"{DIST}-{version}.dist-info"
    contents: list[tuple[str, bytes]] = (
        list(files) if files is not None else [(name, path.read_bytes()) for name, path in package_files()]
    )
    wheel_text = f"Wheel-Version: 1.0\nGenerator: mlcourse {version} (mlcourse.grading.wheel)\nRoot-Is-Purelib: true\nTag: {TAG}\n"
    contents += [
        (f"{info}/METADATA", metadata_text.encode()),
        (f"{info}/WHEEL", wheel_text.encode()),
        (f"{info}/entry_points.txt", entry_points.encode()),
    ]
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in contents:
        writer.writerow([name, _digest(data), len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    contents.append((f"{info}/RECORD", record.getvalue().encode()))

    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{DIST}-{version}-{TAG}.whl"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents:
            entry = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            entry.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            entry.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(entry, data)
    return out
