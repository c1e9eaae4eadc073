"""The ``mlcourse`` command line: one command, one subcommand per job.

Each subcommand imports its implementation only when it runs, so
``mlcourse --help`` answers at once.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence


from mlcourse.errors import CLIError  # noqa: F401 - re-exported for subcommands


def _cmd_start(args: argparse.Namespace) -> int:
    from mlcourse.workspace import start

    return start(Path(args.dir), launch=not args.no_launch, port=args.port)


def _cmd_lifecycle(args: argparse.Namespace) -> int:
    from mlcourse.lifecycle import main as lifecycle_main

    return lifecycle_main(Path(args.out))


def _cmd_release(args: argparse.Namespace) -> int:
    from mlcourse.release import main as release_main

    return release_main(
        solutions=Path(args.solutions) if args.solutions else None,
        notebooks=Path(args.notebooks) if args.notebooks else None,
        check=args.check,
        run=args.execute,
        lessons=args.lessons,
    )


def _cmd_progress(args: argparse.Namespace) -> int:
    from mlcourse.exercises import LESSONS, progress

    if args.lesson and args.lesson not in LESSONS:
        raise CLIError(f"unknown lesson {args.lesson!r}; the lessons are: {', '.join(LESSONS)}")
    progress(args.lesson)
    return 0


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
    p.add_argument("--port", type=int, default=None, help="port for JupyterLab")
    p.set_defaults(func=_cmd_start)

    p = sub.add_parser("lifecycle", help="run Data -> Train -> Deploy -> Monitor end to end and report")
    p.add_argument("--out", default="mlcourse-run", help="folder for the run's artifacts (default: ./mlcourse-run)")
    p.set_defaults(func=_cmd_lifecycle)

    p = sub.add_parser("progress", help="show your exercise progress (all lessons, or one)")
    p.add_argument("lesson", nargs="?", default=None, help="a lesson, e.g. 01_data")
    p.set_defaults(func=_cmd_progress)

    p = sub.add_parser("release", help="regenerate the learner notebooks from solutions/")
    p.add_argument("--check", action="store_true", help="only report learner notebooks that are out of date")
    p.add_argument("--execute", action="store_true", help="first re-run the solutions and store their outputs")
    p.add_argument("lessons", nargs="*", metavar="LESSON", help="with --execute: only these lessons (e.g. 02_train)")
    p.add_argument("--solutions", default=None, help="solutions folder (default: ./solutions)")
    p.add_argument("--notebooks", default=None, help="learner notebooks folder (default: ./notebooks)")
    p.set_defaults(func=_cmd_release)

    for extra in _EXTRA_COMMANDS:
        extra(sub)
    return parser


# Later stages register their subcommands here (grading, serving), keeping this
# module the single entry point.
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def _version() -> str:
    from mlcourse import __version__

    return f"mlcourse {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
