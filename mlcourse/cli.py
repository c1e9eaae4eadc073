"""The ``mlcourse`` command line: one command, one subcommand per job.

Each subcommand imports its implementation only when it runs, so
``mlcourse --help`` answers at once.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from mlcourse.errors import CLIError  # noqa: F401 - re-exported for subcommands


def _cmd_start(args: argparse.Namespace) -> int:
    from mlcourse.workspace import start

    return start(
        Path(args.dir),
        launch=not args.no_launch,
        port=args.port,
        fresh=args.fresh,
        open_browser=not args.no_browser,
        allow_root=args.allow_root,
        jupyter_args=args.jupyter_args,
    )


def _cmd_lifecycle(args: argparse.Namespace) -> int:
    from mlcourse.lifecycle import main as lifecycle_main

    return lifecycle_main(Path(args.out))


def _cmd_release(args: argparse.Namespace) -> int:
    if args.edition == "graded":
        from mlcourse.release import graded_main

        if args.check or args.execute:
            raise CLIError("--edition graded writes a new edition into --out; run --check or --execute without it")
        return graded_main(
            Path(args.out) if args.out else None,
            lessons=args.lessons or None,
            hints_off=_hints_off(args.no_hints),
            solutions=Path(args.solutions) if args.solutions else None,
        )
    if args.out or args.no_hints is not None:
        raise CLIError("--out and --no-hints belong to --edition graded")
    from mlcourse.release import main as release_main

    return release_main(
        solutions=Path(args.solutions) if args.solutions else None,
        notebooks=Path(args.notebooks) if args.notebooks else None,
        check=args.check,
        run=args.execute,
        lessons=args.lessons,
    )


def _hints_off(values: list[str] | None) -> list[str]:
    """``--no-hints`` alone: every lesson; ``--no-hints A B``: those; absent: none."""
    if values is None:
        return []
    if values:
        return values
    from mlcourse.exercises.catalog import LESSONS

    return list(LESSONS)


def _cmd_progress(args: argparse.Namespace) -> int:
    from mlcourse.exercises import LESSONS, progress

    if args.lesson and args.lesson not in LESSONS:
        raise CLIError(f"unknown lesson {args.lesson!r}; the lessons are: {', '.join(LESSONS)}")
    if args.reset:
        return _reset_progress(args.lesson)
    progress(args.lesson)
    return 0


def _reset_progress(lesson: str | None) -> int:
    """``progress --reset [LESSON]``: no question asked (scripts); a backup is kept instead."""
    from mlcourse.exercises import lesson_of, store

    def chosen(exercise_id: str) -> bool:
        try:
            return lesson is None or lesson_of(exercise_id) == lesson
        except KeyError:  # an exercise no lesson holds any more: only a full reset clears it
            return False

    try:
        cleared, backup = store.reset(chosen)
    except OSError as exc:
        raise CLIError(f"cannot reset the progress file: {exc.strerror or exc}") from None
    what = lesson or "all lessons"
    if not cleared:
        print(f"Nothing to reset: no progress recorded for {what}.")
        return 0
    print(f"Reset the progress of {what}: {len(cleared)} exercise(s) cleared ({', '.join(cleared)}).")
    print(f"The progress before the reset is kept in {backup}.")
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    from mlcourse.grading.batch import GradingError, Options
    from mlcourse.grading.batch import main as grade_main
    from mlcourse.grading.limits import OPTIONS, from_options

    if args.jobs is not None and args.jobs < 1:
        raise CLIError("--jobs must be at least 1")
    if args.checkpoints is not None and args.checkpoints < 0:
        raise CLIError("--checkpoints must be 0 (none) or more")
    if args.checkpoint_memory is not None and args.checkpoint_memory <= 0:
        raise CLIError("--checkpoint-memory must be positive")
    for opt in OPTIONS:
        value = getattr(args, opt.name)
        if value is not None and value <= 0 and opt.name != "total_timeout":
            raise CLIError(f"{opt.flag} must be positive")
    opts = Options(
        paths=[Path(p) for p in args.paths],
        out=Path(args.out),
        jobs=args.jobs or 0,
        limits=from_options({opt.name: getattr(args, opt.name) for opt in OPTIONS}),
        force=args.force,
        junit=Path(args.junit) if args.junit else None,
        progress=not args.quiet,
        secret_file=Path(args.secret_file) if args.secret_file else None,
        run_demos=args.run_demo_cells,
    )
    if args.checkpoints is not None:
        opts.checkpoints = args.checkpoints
    if args.checkpoint_memory is not None:
        opts.checkpoint_mb = args.checkpoint_memory
    try:
        return grade_main(opts)
    except GradingError as exc:
        raise CLIError(str(exc)) from None


def _cmd_gradebook(args: argparse.Namespace) -> int:
    from mlcourse.grading.results import Gradebook, GradebookError

    db = Path(args.dir) / "gradebook.db"
    if not db.is_file():
        raise CLIError(f"no gradebook at {db}; run `mlcourse grade ... --out {args.dir}` first")
    if args.wide and args.all:
        raise CLIError("--wide takes each learner's latest submission of each lesson; it cannot be combined with --all")
    try:
        book = Gradebook(db)
        try:
            if args.wide:
                from mlcourse.grading.export import export_wide_csv

                n = export_wide_csv(book, Path(args.csv))
            else:
                n = book.export_csv(Path(args.csv), latest=not args.all)
        finally:
            book.close()
    except (GradebookError, OSError) as exc:
        raise CLIError(str(exc)) from None
    print(f"wrote {n} row(s) to {args.csv}")
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from mlcourse.dashboard.app import serve

    if not 0 <= args.below <= 100:
        raise CLIError("--below is a percentage, from 0 to 100")
    return serve(Path(args.dir), host=args.host, port=args.port, token=args.token, reviewer=args.reviewer,
                 threshold=args.below / 100)


def _cmd_gradescope_bundle(args: argparse.Namespace) -> int:
    from mlcourse.grading.gradescope import BundleError
    from mlcourse.grading.gradescope import main as bundle_main

    if args.learner_edition:
        # First, and only if it can be written: the graded edition of the same lessons, for the cohort.
        from mlcourse.release import ReleaseError, graded_release

        try:
            edition = graded_release(Path(args.learner_edition), args.lessons or None)
        except ReleaseError as exc:
            raise CLIError(f"the graded edition for learners cannot be written: {exc}") from None
        print(f"wrote the learners' graded edition into {args.learner_edition}: {edition.wheel.name} and "
              f"{len(edition.notebooks)} notebook(s), no solutions, public tests only")
    try:
        return bundle_main(Path(args.out), lessons=args.lessons, wheel=Path(args.wheel) if args.wheel else None)
    except BundleError as exc:
        raise CLIError(str(exc)) from None


def _cmd_serve(args: argparse.Namespace) -> int:
    from mlcourse.deploy.server import serve

    return serve(
        registry=args.registry,
        model=args.model,
        host=args.host,
        port=args.port,
        candidate=args.candidate,
        canary=args.canary,
        prediction_log=False if args.no_log else args.log,
        log_durability=args.log_durability,
        max_batch=args.max_batch,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections=args.max_connections,
    )


def _add_limit_options(p: argparse.ArgumentParser) -> None:
    # The grader's limits, with their defaults and help, come from one place.
    from mlcourse.grading.limits import OPTIONS

    for opt in OPTIONS:
        p.add_argument(opt.flag, dest=opt.name, type=opt.type, default=None, metavar=opt.metavar, help=opt.help)


def _cmd_registry(args: argparse.Namespace) -> int:
    from mlcourse.deploy.commands import run

    return run(args)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlcourse",
        description="The ML system lifecycle course: Data -> Train -> Deploy -> Monitor.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("start", help="copy the lessons into your workspace and open JupyterLab")
    p.add_argument("--dir", default="mlcourse-work", help="workspace folder (default: ./mlcourse-work)")
    p.add_argument("--no-launch", action="store_true", help="copy the notebooks but do not start JupyterLab")
    p.add_argument("--port", type=int, default=None, help="port for JupyterLab (default: the first free one from 8888)")
    p.add_argument("--no-browser", action="store_true",
                   help="do not open a browser; print the URL and the SSH tunnel command (a remote machine)")
    p.add_argument("--fresh", default=None, metavar="LESSON",
                   help="put a fresh copy of LESSON beside yours (never over it) and open it")
    p.add_argument("--allow-root", action="store_true", help=argparse.SUPPRESS)  # added by itself as root
    p.add_argument("jupyter_args", nargs="*", metavar="-- JUPYTER_OPTION",
                   help="options passed on to JupyterLab, after --")
    p.set_defaults(func=_cmd_start)

    p = sub.add_parser("lifecycle", help="run Data -> Train -> Deploy -> Monitor end to end and report")
    p.add_argument("--out", default="mlcourse-run", help="folder for the run's artifacts (default: ./mlcourse-run)")
    p.set_defaults(func=_cmd_lifecycle)

    p = sub.add_parser("progress", help="show your exercise progress (all lessons, or one); --reset clears it")
    p.add_argument("lesson", nargs="?", default=None, metavar="LESSON", help="a lesson, e.g. 01_data")
    p.add_argument("--reset", action="store_true",
                   help="clear the progress of LESSON, or of every lesson without one (a backup is kept)")
    p.set_defaults(func=_cmd_progress)

    p = sub.add_parser("release", help="regenerate the learner notebooks from solutions/")
    p.add_argument("--check", action="store_true", help="only report learner notebooks that are out of date")
    p.add_argument("--execute", action="store_true", help="first re-run the solutions and store their outputs")
    p.add_argument("lessons", nargs="*", metavar="LESSON",
                   help="with --execute: only these lessons (e.g. 02_train); with --edition graded: the lessons it holds")
    p.add_argument("--solutions", default=None, help="solutions folder (default: ./solutions)")
    p.add_argument("--notebooks", default=None, help="learner notebooks folder (default: ./notebooks)")
    p.add_argument("--edition", choices=("self-paced", "graded"), default="self-paced",
                   help="self-paced (default): notebooks/ as always; graded: a learner wheel and notebooks without "
                        "solutions or answer key, into --out")
    p.add_argument("--out", default=None, metavar="DIR", help="with --edition graded: the folder to write it into")
    p.add_argument("--no-hints", nargs="*", default=None, metavar="LESSON",
                   help="with --edition graded: turn hints off in these lessons (alone: in every lesson)")
    p.set_defaults(func=_cmd_release)

    from mlcourse.grading.sandbox import CHECKPOINT_MB, CHECKPOINTS

    p = sub.add_parser("grade", help="grade submitted notebooks (files, or folders searched recursively)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="notebooks, or folders holding them")
    p.add_argument("--out", default="graded", help="folder for results and the gradebook (default: ./graded)")
    p.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: the CPU count)")
    _add_limit_options(p)
    p.add_argument("--force", action="store_true", help="grade again submissions already in the gradebook")
    p.add_argument("--junit", default=None, metavar="FILE", help="also write JUnit XML to FILE")
    p.add_argument("--secret-file", default=None, metavar="FILE",
                   help="the grader secret the hidden test inputs derive from (default: $MLCOURSE_GRADER_SECRET,"
                        " else OUT/grader-secret.key, made once)")
    p.add_argument("--checkpoints", type=int, default=None, metavar="N",
                   help="shared checkpoints of the lessons' trusted cells kept at once, 0 for none (default: "
                        f"{CHECKPOINTS})")
    p.add_argument("--checkpoint-memory", type=float, default=None, metavar="MB",
                   help=f"memory the checkpoints may hold together (default: {CHECKPOINT_MB:g})")
    p.add_argument("--run-demo-cells", action="store_true",
                   help="run the lessons' demonstration cells too (default: only those a learner's cell reads "
                        "from; grades are the same, this is slower)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("gradebook", help="export the gradebook written by `mlcourse grade`")
    p.add_argument("dir", metavar="DIR", help="the --out folder of `mlcourse grade`")
    p.add_argument("--csv", required=True, metavar="FILE", help="CSV file to write")
    p.add_argument("--all", action="store_true", help="every graded submission, not only each learner's latest")
    p.add_argument("--wide", action="store_true",
                   help="one row per learner, one column per lesson and per exercise, and a total (for an LMS)")
    p.set_defaults(func=_cmd_gradebook)

    p = sub.add_parser("dashboard", help="the class's results, common mistakes and the review queue in the browser")
    p.add_argument("dir", metavar="GRADED_DIR", help="the --out folder of `mlcourse grade`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    p.add_argument("--token", default=None,
                   help="a secret every request must carry (needed for any --host but this machine; default: "
                        "$MLCOURSE_DASHBOARD_TOKEN)")
    p.add_argument("--reviewer", default=None, help="the name reviews are stored under (default: your user name)")
    p.add_argument("--below", type=float, default=50.0, metavar="PERCENT",
                   help="list learners below this share of the points (default: 50)")
    p.set_defaults(func=_cmd_dashboard)

    p = sub.add_parser("gradescope-bundle", help="write a Gradescope autograder zip that runs `mlcourse grade`")
    p.add_argument("out", metavar="OUT.zip", help="the zip file to write")
    p.add_argument("--lessons", nargs="+", default=None, metavar="LESSON",
                   help="the lessons the assignment grades (default: any lesson submitted)")
    p.add_argument("--wheel", default=None, metavar="FILE",
                   help="an mlcourse wheel to ship (default: one built from the installed mlcourse)")
    p.add_argument("--learner-edition", default=None, metavar="DIR",
                   help="also write the graded edition of the same lessons into DIR (as `mlcourse release --edition "
                        "graded`): the learner wheel and notebooks, without solutions, that go with this autograder")
    p.set_defaults(func=_cmd_gradescope_bundle)

    p = sub.add_parser("serve", help="serve the registry's production model over HTTP (FastAPI + uvicorn)")
    p.add_argument("--registry", default=None, help="registry folder (default: $MLCOURSE_HOME/registry)")
    p.add_argument("--model", default=None,
                   help="model to serve, NAME or NAME:VERSION_OR_ALIAS (default: the one with a production alias;"
                        " on an empty registry the course's fraud-detector is trained first)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--candidate", default=None, metavar="VERSION_OR_ALIAS",
                   help="start a canary with this version of the served model (v2, candidate) or NAME:ALIAS")
    p.add_argument("--canary", type=_fraction, default=None, metavar="FRACTION",
                   help="share of users sent to the candidate (default with --candidate: 0.1)")
    p.add_argument("--log", default=None, metavar="PATH",
                   help="prediction log database (default: $MLCOURSE_HOME/predictions.db)")
    p.add_argument("--no-log", action="store_true", help="do not write a prediction log")
    p.add_argument("--log-durability", choices=("batch", "request"), default="batch",
                   help="batch (default): rows written every 0.2 s off the request path, a crash loses the last "
                        "fraction of a second; request: each prediction answered only once its row is committed "
                        "and fsynced, a crash loses none")
    p.add_argument("--max-batch", type=int, default=1000, help="most records per /predict/batch (default: 1000)")
    p.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="close a connection whose request headers take longer (default: 10)")
    p.add_argument("--body-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="answer 408 to a request whose body takes longer (default: 10)")
    p.add_argument("--max-connections", type=int, default=1000,
                   help="connections served at once; more get a 503 (default: 1000)")
    p.set_defaults(func=_cmd_serve)

    from mlcourse.deploy.commands import add_registry_parser

    add_registry_parser(sub, _cmd_registry)

    for extra in _EXTRA_COMMANDS:
        extra(sub)
    _describe(sub)
    return parser


# What each subcommand does and an example, shown by `mlcourse COMMAND --help`.
# Kept apart from the options above so each subcommand's options stay easy to read.
_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "start": (
        "Copy the lessons into your workspace and open JupyterLab on the first lesson you have not finished. "
        "Your own copies are never overwritten: after a course update, new lessons are added and lessons "
        "that changed are named (--fresh gets the new version beside yours). As root (containers) it adds "
        "Jupyter's --allow-root by itself; if port 8888 is busy it takes the next free one.",
        "examples:\n"
        "  mlcourse start                        # ./mlcourse-work, opens the browser\n"
        "  mlcourse start --dir ~/ml-work --no-browser   # a remote machine: prints the URL and the SSH tunnel\n"
        "  mlcourse start --fresh 01_data        # a clean copy of a broken lesson, beside yours\n"
        "  mlcourse start -- --ip 0.0.0.0        # options after -- go to JupyterLab",
    ),
    "lifecycle": (
        "Run Data -> Train -> Deploy -> Monitor end to end on the outline's data and print a report for each "
        "stage (accuracy 0.9350, the drift checks), keeping the run's artifacts in --out.",
        "example:\n  mlcourse lifecycle --out ./mlcourse-run",
    ),
    "progress": (
        "Show your exercise progress: each exercise's status, points, hints used and whether you viewed the "
        "solution. Progress is a small local file ($MLCOURSE_HOME/progress.json), never sent anywhere. "
        "--reset clears it (for one lesson, or all) and keeps a backup of what it cleared.",
        "the lessons:\n  @LESSONS@\n\n"
        "examples:\n"
        "  mlcourse progress                  # every lesson\n"
        "  mlcourse progress 01_data\n"
        "  mlcourse progress --reset 01_data  # start 01_data's exercises again",
    ),
    "release": (
        "Authors: regenerate the learner notebooks in notebooks/ from the executed solutions in solutions/ "
        "(solution regions become prompts and stubs). Instructors: --edition graded writes what a graded cohort "
        "installs: the learner notebooks and a wheel with no solutions and no answer key, whose checks run each "
        "exercise's public tests only (the grader runs the hidden ones too); solutions are off, hints per lesson.",
        "examples:\n"
        "  mlcourse release --check             # report what is out of date, change nothing\n"
        "  mlcourse release --execute 02_train  # re-run the solution first, then regenerate\n"
        "  mlcourse release --edition graded --out cohort/ --no-hints 06_interview_prep\n"
        "                                       # a graded cohort's wheel: no solutions, public tests only",
    ),
    "grade": (
        "Instructors: grade submitted notebooks with the same checks as in the lessons, on fresh inputs from "
        "a secret seed, each notebook in its own limited process. Writes per-learner results.json and "
        "feedback.md, and a gradebook (SQLite) in --out.",
        "example:\n  mlcourse grade submissions/ --out graded/ --jobs 2",
    ),
    "gradebook": (
        "Instructors: export the gradebook written by `mlcourse grade` as CSV, one row per exercise, or one "
        "row per learner with --wide (for an LMS).",
        "examples:\n  mlcourse gradebook graded/ --csv grades.csv\n  mlcourse gradebook graded/ --csv lms.csv --wide",
    ),
    "dashboard": (
        "Instructors: a local web page over the gradebook of `mlcourse grade`: per lesson and exercise the share "
        "passed, failed and not attempted, score distributions, the most frequent mistakes with the learners who "
        "made them, learners below a threshold, resubmissions, and the queue of free-text answers to review (a "
        "score within the exercise's points and a comment; exports and feedback.md follow). It writes nothing "
        "else. Bound to another address than this machine it needs --token.",
        "examples:\n"
        "  mlcourse dashboard graded/                       # http://localhost:8765/\n"
        "  mlcourse dashboard graded/ --host 0.0.0.0 --token \"$(openssl rand -hex 16)\"",
    ),
    "gradescope-bundle": (
        "Instructors: write a Gradescope autograder zip (setup.sh, run_autograder and an mlcourse wheel built "
        "from this installation) that grades uploads with `mlcourse grade`. Works from a plain pip install.",
        "examples:\n  mlcourse gradescope-bundle autograder.zip --lessons 01_data\n"
        "  mlcourse gradescope-bundle ag.zip --lessons 06_interview_prep --learner-edition cohort/",
    ),
    "serve": (
        "Serve the registry's production model over HTTP (FastAPI + uvicorn) with input validation against "
        "the schema recorded at training, Prometheus metrics and a prediction log. On an empty registry it first "
        "trains and registers the course's fraud-detector. GET /health is for liveness, GET /ready for "
        "readiness (200 once the model is loaded). A version that fails its checks on start is refused and the "
        "last good version of the alias served. API docs at http://HOST:PORT/docs.",
        "examples:\n"
        "  mlcourse serve --port 8000\n"
        "  mlcourse registry train --alias candidate           # a second version to try...\n"
        "  mlcourse serve --candidate candidate --canary 0.1   # ...on a sticky 10 % of users\n"
        "  mlcourse serve --log-durability request             # answer only once each prediction is logged",
    ),
}


def _describe(sub: argparse._SubParsersAction) -> None:
    """Give every subcommand its description and examples (``--help``).

    A subcommand not in the table keeps what ``add_parser`` gave it;
    tests/test_cli.py checks that every one has both.
    """
    for name, parser in sub.choices.items():
        if name not in _DESCRIPTIONS or parser.description:
            continue
        description, epilog = _DESCRIPTIONS[name]
        if "@LESSONS@" in epilog:
            epilog = epilog.replace("@LESSONS@", ", ".join(_released_lessons()))
        width = max(min(shutil.get_terminal_size().columns - 2, 100), 40)
        parser.description = textwrap.fill(description, width, break_on_hyphens=False)
        parser.epilog = epilog
        parser.formatter_class = argparse.RawDescriptionHelpFormatter


def _released_lessons() -> list[str]:
    # The templates folder rather than mlcourse.exercises: --help stays instant.
    from mlcourse.paths import lessons_dir

    return sorted(p.stem for p in lessons_dir("notebooks").glob("*.ipynb"))


# Later stages register their subcommands here (grading, serving), keeping this
# module the single entry point.
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def _version() -> str:
    from mlcourse import __version__

    return f"mlcourse {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        hint = ""
        if getattr(args, "command", None) == "start":
            hint = "; JupyterLab's own options go after --, e.g. mlcourse start -- --ip 0.0.0.0"
        parser.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"mlcourse {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mlcourse {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
