"""Gradescope: ``mlcourse gradescope-bundle OUT.zip`` and the bundle's autograder.

``mlcourse gradescope-bundle OUT.zip [--lessons LESSON...] [--wheel FILE]``
writes a zip to upload as a Gradescope "autograder" (programming assignment):

* ``setup.sh``: run once by Gradescope while it builds the image. It installs
  Python, creates a virtual environment at ``/autograder/venv``, installs the
  mlcourse wheel shipped in the zip with its dependencies from PyPI (pinned by
  ``constraints.txt`` to the instructor's versions when the image's Python can
  install them), then grades the bundled solutions once and fails the build
  unless they get full marks;
* ``run_autograder``: run for every submission. It finds the notebooks in
  ``/autograder/submission``, grades them with the very same grader
  (``mlcourse grade ... --out <tmp>``) and writes
  ``/autograder/results/results.json`` in Gradescope's format. An empty
  submission, or one with no readable notebook, still gets a ``results.json``:
  score 0 and a message saying what to upload;
* ``mlcourse-autograder.json``: the lessons the assignment grades, their
  exercises and points, the options passed to ``mlcourse grade``;
* the wheel, ``constraints.txt`` and a short ``README.md``.

``run_autograder`` is this very module, with a ``#!`` line: the part below up to
"Building the bundle" uses only the standard library, so it runs under any
Python 3.8+ and calls the grader as a command. ``MLCOURSE_AUTOGRADER_ROOT``
(default ``/autograder``) moves the whole tree, for tests and local dry runs.

Examples
--------
>>> upload_hint(["06_interview_prep"])  # doctest: +ELLIPSIS
'Upload your notebook 06_interview_prep.ipynb (the .ipynb file...'
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT_ENV = "MLCOURSE_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
CONFIG_NAME = "mlcourse-autograder.json"
RUNNER_NAME = "run_autograder"
SETUP_NAME = "setup.sh"
# Under Gradescope's default 10-minute limit, so the learner gets a message
# rather than a bare "the autograder timed out". Each notebook also has the
# grader's own limits (per cell, per notebook).
DEFAULT_TIME_LIMIT = 540.0
STATUS_PREFIX = {"not attempted": "Not attempted", "error": "Error"}
# mlcourse.grading.seeds.ENV (this part of the module imports nothing from mlcourse).
SECRET_ENV = "MLCOURSE_GRADER_SECRET"


class AutograderError(RuntimeError):
    """The autograder could not grade (not the learner's fault)."""


# ==========================================================================
# The autograder: run_autograder (standard library only)
# ==========================================================================
def autograder_root() -> Path:
    """``$MLCOURSE_AUTOGRADER_ROOT``, or ``/autograder``."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def load_config(root: Path, here: Path | None = None) -> dict:
    """The bundle's ``mlcourse-autograder.json``: next to the running script
    (``/autograder/source`` when run from there), else in ``ROOT/source``
    (Gradescope copies ``run_autograder`` to ``/autograder``). Missing: grade
    any lesson with the grader's defaults."""
    places = [p for p in (here, root / "source") if p is not None]
    for folder in places:
        path = folder / CONFIG_NAME
        if path.is_file():
            try:
                os.chmod(path, 0o600)  # it holds the grader secret; unzipping may have lost the mode
            except OSError:
                pass
            return json.loads(path.read_text(encoding="utf-8"))
    return {}


def submitted_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The notebooks in a submission, and its other files (for the message).

    Hidden folders (``.ipynb_checkpoints``), ``__MACOSX`` and symbolic links
    are ignored: a link could point at a file the learner did not write.
    """
    notebooks: list[Path] = []
    others: list[Path] = []
    if not folder.is_dir():
        return notebooks, others
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and d not in ("__MACOSX", "__pycache__") and not os.path.islink(os.path.join(dirpath, d))
        )
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            (notebooks if name.lower().endswith(".ipynb") else others).append(path)
    return notebooks, others


def upload_hint(lessons: list | None) -> str:
    """What to upload, in one sentence."""
    how = (
        "(the .ipynb file you worked on in JupyterLab: right-click it in the file browser and choose "
        "Download), then submit again."
    )
    if lessons:
        names = " and ".join(f"{lesson}.ipynb" for lesson in lessons)
        return f"Upload your notebook {names} {how}"
    return f"Upload your lesson notebook, e.g. 01_data.ipynb {how}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+\-]", "_", name).strip(".") or "notebook.ipynb"


def _missing_tests(lesson: str, config: dict, why: str) -> list[dict]:
    """Every exercise of a lesson at 0, so the total stays the assignment's."""
    return [
        {
            "name": f"{ex['title']} ({ex['id']})",
            "score": 0.0,
            "max_score": ex["points"],
            "status": "failed",
            "output": why,
            "extra_data": {"exercise": ex["id"], "status": "not submitted"},
        }
        for ex in config.get("exercises", {}).get(lesson, [])
    ]


def nothing_to_grade(config: dict, message: str) -> dict:
    """A ``results.json`` with score 0 and a message (nothing could be graded)."""
    lessons = config.get("lessons") or []
    tests: list[dict] = []
    for lesson in lessons:
        tests += _missing_tests(lesson, config, "Not graded: see the message above.")
    if not tests:
        tests = [{"name": "Notebook", "score": 0.0, "max_score": 0.0, "status": "failed", "output": message}]
    return {"score": 0.0, "output": message, "tests": tests, "extra_data": {"mlcourse": config.get("mlcourse_version")}}


def _test(t: dict) -> dict:
    """A test of the grader's results.json, its status spelled out for learners."""
    t = dict(t)
    status = (t.get("extra_data") or {}).get("status")
    prefix = STATUS_PREFIX.get(status or "")
    output = str(t.get("output") or "")
    if prefix and not output.lower().startswith(prefix.lower()):
        t["output"] = f"{prefix}: {output}" if output else prefix + "."
    return t


_BROKEN = "Your notebook could not be graded"  # how the grader's results.json says so


def _broken(data: dict) -> bool:
    return str(data.get("output") or "").startswith(_BROKEN)


def merge(graded: list[tuple[str, dict]], config: dict) -> dict:
    """One ``results.json`` from the grader's, one per submitted notebook.

    ``graded`` holds (the file as submitted, its results.json). With lessons
    in the config, exactly those count: a lesson with no notebook scores 0 on
    each exercise, a notebook of another lesson is named and not counted.
    Two notebooks of one lesson: the better one counts.
    """
    lessons = list(config.get("lessons") or [])
    by_lesson: dict[str, list[tuple[str, dict]]] = {}
    unreadable: list[tuple[str, str]] = []
    for name, data in graded:
        tests = data.get("tests") or []
        if not any((t.get("extra_data") or {}).get("exercise") for t in tests):
            reason = str(data.get("output") or "the grader wrote no result for it")
            reason = reason.replace(_BROKEN + ": ", "", 1)
            unreadable.append((name, reason))
            continue
        lesson = str((data.get("extra_data") or {}).get("lesson") or "")
        by_lesson.setdefault(lesson, []).append((name, data))
    wanted = lessons or sorted(by_lesson)
    score = 0.0
    tests_out: list[dict] = []
    parts: list[str] = []
    notes: list[str] = []
    counted: list[str] = []
    broken: list[str] = []  # counted, though the file could not be read as a notebook
    for lesson in wanted:
        candidates = by_lesson.get(lesson, [])
        if not candidates:
            why = f"Not submitted: no notebook of lesson {lesson} was found in your submission."
            parts.append(why)
            tests_out += _missing_tests(lesson, config, why)
            continue
        # The better notebook counts; on a tie, one that could be read.
        name, best = max(candidates, key=lambda c: (float(c[1].get("score") or 0.0), not _broken(c[1])))
        if len(candidates) > 1:
            others = ", ".join(n for n, _ in candidates if n != name)
            notes.append(f"Several notebooks of lesson {lesson} were submitted; the best one, {name}, counts (not {others}).")
        score += float(best.get("score") or 0.0)
        tests_out += [_test(t) for t in best.get("tests") or []]
        parts.append(f"{name}: {best.get('output') or ''}".rstrip())
        counted.append(name)
        if _broken(best):
            broken.append(name)
    for lesson, candidates in sorted(by_lesson.items()):
        if lesson not in wanted:
            for name, _ in candidates:
                notes.append(
                    f"{name} is lesson {lesson}, which this assignment does not grade "
                    f"(it grades {', '.join(wanted)}); it was not counted."
                )
    for name, reason in unreadable:
        notes.append(f"{name} could not be graded: {reason}")
    if not counted:
        if not tests_out:
            message = unreadable[0][1] if len(unreadable) == 1 else "No notebook in your submission could be graded."
            tests_out = [{"name": "Notebook", "score": 0.0, "max_score": 0.0, "status": "failed", "output": message}]
    if not counted or broken:
        notes.append(upload_hint(lessons or None))
    output = "\n".join(parts)
    if notes:
        output = (output + "\n\n" if output else "") + "\n".join(f"- {n}" for n in notes)
    return {
        "score": round(score, 6),
        "output": output,
        # Learner text is shown as text, never rendered as HTML or Markdown.
        "output_format": "text",
        "test_output_format": "text",
        "tests": tests_out,
        "extra_data": {
            "mlcourse": config.get("mlcourse_version"),
            "counted": counted,
            "notebooks": [name for name, _ in graded],
            "graded_by": sorted({str((d.get("extra_data") or {}).get("grader_version") or "") for _, d in graded} - {""}),
            # "namespaces", or "fallback" where the container does not allow them (see docs/instructors.md).
            "isolation": sorted({str((d.get("extra_data") or {}).get("isolation") or "") for _, d in graded} - {""}),
        },
    }


def find_mlcourse(root: Path) -> str | None:
    """The ``mlcourse`` command: setup.sh's virtual environment, else PATH."""
    venv = root / "venv" / "bin" / "mlcourse"
    if venv.is_file() and os.access(venv, os.X_OK):
        return str(venv)
    return shutil.which("mlcourse")


def _run_grader(cmd: list[str], env: dict, time_limit: float) -> tuple[int, str]:
    """Run ``mlcourse grade``; on time out, kill its whole process group."""
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=env, text=True, start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=time_limit)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        out, _ = proc.communicate()
        print(out, flush=True)  # for the instructor; the learner gets the one line below
        raise AutograderError(f"grading took longer than {time_limit:g} s and was stopped") from None
    return proc.returncode, out


def grade_submission(root: Path, config: dict, mlcourse: str | None = None) -> dict:
    """Grade ``ROOT/submission``; return the results.json to write."""
    submission = root / "submission"
    lessons = list(config.get("lessons") or [])
    notebooks, others = submitted_files(submission)
    if not notebooks:
        if others:
            names = ", ".join(str(p.relative_to(submission)) for p in others[:5])
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            found = f"Your submission has no Jupyter notebook (.ipynb); it holds {names}{more}."
        else:
            found = "Your submission is empty: no file was uploaded."
        return nothing_to_grade(config, f"{found} {upload_hint(lessons or None)}")
    exe = mlcourse or find_mlcourse(root)
    if not exe:
        raise AutograderError("the mlcourse command is not installed (setup.sh installs it in ROOT/venv)")
    with tempfile.TemporaryDirectory(prefix="mlcourse-gradescope-") as tmp:
        subs, out, home = Path(tmp, "submissions"), Path(tmp, "graded"), Path(tmp, "home")
        origin: dict[str, str] = {}
        for i, nb in enumerate(notebooks, 1):
            key = f"notebook-{i}"
            target = subs / key / _safe(nb.name)
            target.parent.mkdir(parents=True)
            shutil.copyfile(nb, target)
            origin[key] = str(nb.relative_to(submission))
        cmd = [exe, "grade", str(subs), "--out", str(out), "--quiet", *[str(a) for a in config.get("grade_args", [])]]
        env = dict(os.environ, MLCOURSE_HOME=str(home))
        if config.get("grader_secret"):
            # The bundle's secret: a resubmitted notebook is checked on the same hidden inputs.
            env[SECRET_ENV] = str(config["grader_secret"])
        print("$ " + " ".join(cmd), flush=True)
        status, text = _run_grader(cmd, env, float(config.get("time_limit") or DEFAULT_TIME_LIMIT))
        print(text, flush=True)
        if status != 0:
            last = next((line for line in reversed(text.splitlines()) if line.strip()), "")
            raise AutograderError(f"`mlcourse grade` failed with exit status {status}: {last}")
        graded: list[tuple[str, dict]] = []
        for key, name in origin.items():
            found = sorted((out / key).glob("*/results.json"))
            if not found:
                graded.append((name, {"output": "the grader wrote no result for it", "tests": []}))
            for path in found:
                graded.append((name, json.loads(path.read_text(encoding="utf-8"))))
    return merge(graded, config)


def write_results(root: Path, results: dict) -> Path:
    """Write ``ROOT/results/results.json`` atomically."""
    path = root / "results" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def run_autograder(root: Path | None = None, config: dict | None = None, mlcourse: str | None = None, here: Path | None = None) -> dict:
    """Grade the submission and always write a results.json; return it."""
    started = time.monotonic()
    root = Path(root) if root is not None else autograder_root()
    try:
        config = config if config is not None else load_config(root, here)
    except (OSError, ValueError) as exc:
        print(f"run_autograder: cannot read {CONFIG_NAME} ({exc}); grading any lesson with the defaults", flush=True)
        config = {}
    try:
        results = grade_submission(root, config, mlcourse)
    except Exception as exc:  # noqa: BLE001 - the learner must get a results.json whatever happens
        traceback.print_exc()
        results = nothing_to_grade(
            config,
            f"The autograder could not grade your submission ({exc}). This is not your fault: "
            "please tell your instructor, who can see the details in the autograder's output.",
        )
    for key in ("visibility", "stdout_visibility"):
        if config.get(key):
            results.setdefault(key, config[key])
    results["execution_time"] = round(time.monotonic() - started, 3)
    path = write_results(root, results)
    print(f"run_autograder: score {results['score']:g}; wrote {path}", flush=True)
    return results


def autograder_main(argv: list | None = None) -> int:
    """``run_autograder``: grade ``$MLCOURSE_AUTOGRADER_ROOT/submission``."""
    here = Path(sys.argv[0]).resolve().parent if sys.argv and sys.argv[0] else None
    run_autograder(here=here)
    return 0


# ==========================================================================
# Building the bundle: ``mlcourse gradescope-bundle`` (needs mlcourse itself)
# ==========================================================================
class BundleError(RuntimeError):
    """The bundle cannot be built (one line for the user)."""


def released_lessons() -> list[str]:
    """The lessons with both a learner template and a solution, in course order."""
    from mlcourse.exercises import LESSONS
    from mlcourse.paths import lessons_dir

    return [
        lesson for lesson in LESSONS
        if (lessons_dir("notebooks") / f"{lesson}.ipynb").is_file() and (lessons_dir("solutions") / f"{lesson}.ipynb").is_file()
    ]


def check_lessons(lessons: list | None) -> list[str] | None:
    """The lessons asked for, each released once; None for any lesson."""
    if not lessons:
        return None
    released = released_lessons()
    chosen: list[str] = []
    for lesson in lessons:
        if lesson not in released:
            raise BundleError(f"unknown or unreleased lesson {lesson!r}; the lessons are: {', '.join(released)}")
        if lesson not in chosen:
            chosen.append(lesson)
    return chosen


def bundle_config(lessons: list[str] | None) -> dict:
    """The content of ``mlcourse-autograder.json``."""
    import mlcourse
    from mlcourse.exercises import exercises_of
    from mlcourse.grading.limits import default_args

    exercises = {
        lesson: [{"id": ex.id, "title": ex.title, "points": ex.points} for ex in exercises_of(lesson)]
        for lesson in (lessons or released_lessons())
    }
    return {
        "mlcourse_version": mlcourse.__version__,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "lessons": lessons,
        "points": {lesson: sum(ex["points"] for ex in exs) for lesson, exs in exercises.items()},
        "exercises": exercises,
        "grade_args": default_args(),
        "time_limit": DEFAULT_TIME_LIMIT,
        # The seeds of the hidden test inputs derive from it (mlcourse.grading.seeds).
        "grader_secret": secrets.token_hex(32),
    }


def build_wheel(dest: Path) -> Path:
    """The mlcourse wheel, written from the installed mlcourse (:mod:`mlcourse.grading.wheel`)."""
    from mlcourse.grading.wheel import WheelError
    from mlcourse.grading.wheel import build_wheel as write_wheel

    try:
        return write_wheel(dest)
    except WheelError as exc:
        raise BundleError(str(exc)) from None
    except OSError as exc:
        raise BundleError(f"cannot write the mlcourse wheel: {exc.strerror or exc}") from None


def check_wheel(wheel: Path, lessons: list[str] | None) -> None:
    """The wheel is an mlcourse wheel carrying the lessons the bundle grades."""
    import zipfile

    if not wheel.is_file() or not re.match(r"mlcourse-[^-]+-.+\.whl$", wheel.name):
        raise BundleError(f"{wheel} is not an mlcourse wheel (mlcourse-<version>-...whl)")
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"cannot read the wheel {wheel}: {exc}") from None
    needed = [f"mlcourse/_lessons/notebooks/{lesson}.ipynb" for lesson in (lessons or [])]
    needed += ["mlcourse/grading/batch.py", "mlcourse/grading/gradescope.py"]
    missing = [n for n in needed if n not in names]
    if missing:
        raise BundleError(
            f"the wheel {wheel.name} lacks {', '.join(missing)}; leave out --wheel to ship one written from the installed mlcourse"
        )


def constraints(wheel: Path) -> str:
    """``constraints.txt``: this environment's versions of the wheel's dependencies."""
    import zipfile
    from email.parser import Parser
    from importlib import metadata

    with zipfile.ZipFile(wheel) as zf:
        name = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
        text = zf.read(name).decode("utf-8") if name else ""
    requires = Parser().parsestr(text).get_all("Requires-Dist") or []
    lines = ["# The versions installed where the bundle was built (mlcourse's direct dependencies)."]
    seen: set[str] = set()
    for req in requires:
        if "extra ==" in req.replace('"', "").replace("'", ""):
            continue
        m = re.match(r"[A-Za-z0-9][A-Za-z0-9._\-]*", req.strip())
        if not m or m.group(0).lower() in seen:
            continue
        dist = m.group(0)
        seen.add(dist.lower())
        try:
            lines.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            lines.append(f"# {dist}: not installed here, left to pip")
    return "\n".join(lines) + "\n"


SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image
# (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
# Written by `mlcourse gradescope-bundle` (mlcourse @VERSION@).
#
# 1. Python and a virtual environment at $ROOT/venv (ROOT: /autograder);
# 2. the mlcourse wheel of this bundle, with its dependencies from PyPI,
#    pinned to the instructor's versions (constraints.txt) when this image's
#    Python can install them;
# 3. a self-check: the bundled solutions must get full marks here, or the
#    build fails now rather than on a learner's submission.
set -euo pipefail
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${MLCOURSE_AUTOGRADER_ROOT:-/autograder}"
wheel="$source_dir/@WHEEL@"
venv="$root/venv"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip ca-certificates
python=python3
# The course is built and tested with Python @PYTHON@: use it when the image offers it.
if apt-get install -y -q --no-install-recommends python@PYTHON@ python@PYTHON@-venv; then
    python=python@PYTHON@
fi
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
if ! "$venv/bin/python" -m pip install -c "$source_dir/constraints.txt" "$wheel"; then
    echo "setup.sh: the pinned versions do not install with $("$venv/bin/python" -V); letting pip choose" >&2
    "$venv/bin/python" -m pip install "$wheel"
fi
if [ "$root" = /autograder ]; then
    ln -sf "$venv/bin/mlcourse" /usr/local/bin/mlcourse  # for a debugging shell on Gradescope
fi
"$venv/bin/mlcourse" --version

# Self-check: grade the bundled solutions exactly as a submission is graded.
check="$(mktemp -d)"
mkdir -p "$check/submission" "$check/results"
solutions="$("$venv/bin/python" -c 'from mlcourse.paths import lessons_dir; print(lessons_dir("solutions"))')"
for lesson in @LESSONS@; do
    cp "$solutions/$lesson.ipynb" "$check/submission/"
done
PATH="$venv/bin:$PATH" MLCOURSE_AUTOGRADER_ROOT="$check" "$venv/bin/python" "$source_dir/run_autograder"
"$venv/bin/python" - "$check/results/results.json" "$source_dir/mlcourse-autograder.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
config = json.load(open(sys.argv[2]))
expected = sum(config["points"][lesson] for lesson in (config["lessons"] or config["points"]))
if abs(results["score"] - expected) > 1e-6:
    sys.exit(f"setup.sh: self-check failed: the solutions got {results['score']:g}/{expected:g}\\n{results['output']}")
print(f"setup.sh: self-check passed: the solutions get {expected:g}/{expected:g}")
PY
rm -rf "$check"
"""

README = """# mlcourse autograder for Gradescope

Written by `mlcourse gradescope-bundle` (mlcourse @VERSION@). Upload this zip as
the autograder of a Gradescope programming assignment ("Zip file upload").

- `setup.sh`: installs Python, a virtual environment at /autograder/venv, and
  `@WHEEL@` with its dependencies from PyPI; then checks that the bundled
  solutions get full marks.
- `run_autograder`: grades the notebooks in /autograder/submission with
  `mlcourse grade` and writes /autograder/results/results.json.
- `mlcourse-autograder.json`: what is graded. Edit before uploading if needed:
  `lessons` (null: any lesson submitted counts), `grade_args` (passed to
  `mlcourse grade`: --timeout per cell, --memory, --total-timeout),
  `time_limit` (seconds before run_autograder gives up; keep it under the
  assignment's autograder timeout), and optionally `visibility` /
  `stdout_visibility` (Gradescope's settings for results.json).
- `constraints.txt`: the package versions of the environment it was built in.

Graded lessons and points: @POINTS@.
Set the assignment's total points to match, and in Autograder Settings give
the container 2 GB of memory (the default 768 MB is about what grading the
heaviest lesson takes). Learners upload their lesson notebook (.ipynb), as
downloaded from JupyterLab. More: docs/instructors.md in the course repository.
"""


def setup_sh(wheel_name: str, config: dict) -> str:
    lessons = config["lessons"] or list(config["points"])
    return (
        SETUP_SH.replace("@VERSION@", str(config["mlcourse_version"]))
        .replace("@WHEEL@", wheel_name)
        .replace("@PYTHON@", str(config["python"]))
        .replace("@LESSONS@", " ".join(lessons))
    )


def runner_source(version: str) -> str:
    """``run_autograder``: this module's source, with a ``#!`` line."""
    head = (
        "#!/usr/bin/env python3\n"
        f"# run_autograder, written by `mlcourse gradescope-bundle` (mlcourse {version}):\n"
        "# mlcourse/grading/gradescope.py itself. Standard library only; it calls `mlcourse grade`.\n"
    )
    return head + Path(__file__).read_text(encoding="utf-8")


def build_bundle(out: Path, lessons: list | None = None, wheel: Path | None = None) -> dict:
    """Write the Gradescope bundle ``out``; return its config (what it grades)."""
    import zipfile

    out = Path(out)
    if out.is_dir():
        raise BundleError(f"{out} is a folder; give the zip file to write, e.g. {out / 'autograder.zip'}")
    chosen = check_lessons(lessons)
    config = bundle_config(chosen)
    with tempfile.TemporaryDirectory(prefix="mlcourse-bundle-") as tmp:
        whl = Path(wheel) if wheel else build_wheel(Path(tmp))
        check_wheel(whl, chosen or list(config["exercises"]))
        points = ", ".join(f"{lesson} {p:g}" for lesson, p in config["points"].items())
        files = {
            SETUP_NAME: (setup_sh(whl.name, config), 0o755),
            RUNNER_NAME: (runner_source(config["mlcourse_version"]), 0o755),
            # Readable by the grading user only: it holds the grader secret.
            CONFIG_NAME: (json.dumps(config, indent=1) + "\n", 0o600),
            "constraints.txt": (constraints(whl), 0o644),
            "README.md": (
                README.replace("@VERSION@", str(config["mlcourse_version"])).replace("@WHEEL@", whl.name).replace("@POINTS@", points),
                0o644,
            ),
        }
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
            os.close(fd)
        except OSError as exc:
            raise BundleError(f"cannot write {out}: {exc.strerror or exc}") from None
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, (text, mode) in files.items():
                    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                    info.external_attr = (0o100000 | mode) << 16  # a regular file, with its mode
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, text)
                zf.write(whl, whl.name)
            os.replace(partial, out)
        except OSError as exc:
            try:
                os.unlink(partial)
            except OSError:
                pass
            raise BundleError(f"cannot write {out}: {exc.strerror or exc}") from None
    config["wheel"] = whl.name
    return config


def main(out: Path, lessons: list | None = None, wheel: Path | None = None) -> int:
    """``mlcourse gradescope-bundle``: build, then say what was built."""
    config = build_bundle(out, lessons, wheel)
    graded = ", ".join(f"{lesson} ({p:g} points)" for lesson, p in config["points"].items())
    which = "" if config["lessons"] else "any of "
    print(f"wrote {out}: a Gradescope autograder grading {which}{graded}, with {config['wheel']}")
    print("Upload it as the assignment's autograder (Configure Autograder > Zip file upload).")
    return 0


if __name__ == "__main__":
    sys.exit(autograder_main())
