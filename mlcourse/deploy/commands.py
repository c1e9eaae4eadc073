"""Stage 3, deploy: ``mlcourse registry``, the model registry from the command line.

One subcommand per job, each a thin layer over :mod:`mlcourse.deploy.registry`
(and :mod:`mlcourse.deploy.default_model` for ``train``):

==========================================  =====================================
``mlcourse registry list``                  every version: aliases, date, metrics
``mlcourse registry show NAME [VERSION]``   one version: metadata, schema, checks
``mlcourse registry promote NAME VERSION``  move ``production`` (hashes checked)
``mlcourse registry rollback NAME``         undo the last move of ``production``
``mlcourse registry alias set N V ALIAS``   point any alias at a version
``mlcourse registry train --alias A``       retrain the course's model with other
                                            settings and register it as ``A``
==========================================  =====================================

A missing model, version or alias is an error that names the registry and
what it does hold; a damaged ``aliases.json`` is set aside and rebuilt from
the alias history first, and said. Only :mod:`argparse` is imported at module
level, so ``mlcourse --help`` stays instant.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

__all__ = ["add_registry_parser", "run"]

_COMMANDS: dict[str, tuple[str, str]] = {
    "list": (
        "List every version in the registry, with its aliases, its creation date and its headline metrics.",
        "example:\n  mlcourse registry list",
    ),
    "show": (
        "Show one version: where it is, its aliases, metrics, the feature schema serving checks requests "
        "against (types, ranges, categories), the training data's fingerprint, and whether its files still "
        "match their recorded sha256. VERSION is a number, v3, or an alias (default: production, else the latest).",
        "examples:\n  mlcourse registry show fraud-detector\n  mlcourse registry show fraud-detector candidate",
    ),
    "promote": (
        "Point an alias (production by default) at a version after checking its files against their sha256: "
        "a running `mlcourse serve` switches to it within about a second, without a restart.",
        "examples:\n  mlcourse registry promote fraud-detector candidate\n"
        "  mlcourse registry promote fraud-detector v2 --note 'beat v1 on last week'",
    ),
    "rollback": (
        "Undo the last move of an alias (production by default): it points at the version it pointed at before. "
        "Rollbacks stack: two rollbacks undo two promotions.",
        "example:\n  mlcourse registry rollback fraud-detector",
    ),
    "alias": (
        "Point any alias (candidate, staging...) at a version, as `alias set NAME VERSION ALIAS`.",
        "example:\n  mlcourse registry alias set fraud-detector v1 candidate",
    ),
    "train": (
        "Retrain the course's model (fraud-detector: a random forest on mlcourse.data.make_transactions) with "
        "other settings and register it under an alias, candidate by default: a candidate for a canary. "
        "On a registry without a production fraud-detector, the default model is trained first as production, "
        "so the candidate has something to compete with.",
        "example:\n  mlcourse registry train --alias candidate --seed 1 --max-depth 8\n"
        "  mlcourse serve --candidate candidate --canary 0.1",
    ),
}


def _wrap(text: str) -> str:
    import shutil
    import textwrap

    return textwrap.fill(text, max(min(shutil.get_terminal_size().columns - 2, 100), 40), break_on_hyphens=False)


def _parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    description, epilog = _COMMANDS[name]
    parser = sub.add_parser(name, help=help_text, description=_wrap(description), epilog=epilog,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", default=None, help="registry folder (default: $MLCOURSE_HOME/registry)")
    return parser


def add_registry_parser(sub: argparse._SubParsersAction, handler: Any) -> None:
    """Add ``mlcourse registry`` and its subcommands to the CLI's subparsers."""
    registry = sub.add_parser(
        "registry", help="list, inspect, promote, roll back and train registered models",
        description=_wrap("The model registry from the command line: list versions, show one, promote or roll back "
                          "an alias, set any alias, and train a candidate. The registry is a folder "
                          "($MLCOURSE_HOME/registry)."),
        epilog="examples:\n  mlcourse registry list\n  mlcourse registry train --alias candidate --seed 1\n"
        "  mlcourse registry promote fraud-detector candidate\n  mlcourse registry rollback fraud-detector",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    registry.set_defaults(func=handler, registry_command=None)
    commands = registry.add_subparsers(dest="registry_command", metavar="SUBCOMMAND")

    _parser(commands, "list", "every version, with aliases and metrics")

    p = _parser(commands, "show", "one version: metadata, feature schema, integrity")
    p.add_argument("name", metavar="NAME")
    p.add_argument("version", nargs="?", default=None, metavar="VERSION")

    p = _parser(commands, "promote", "point production (or --alias) at a version, hashes checked")
    p.add_argument("name", metavar="NAME")
    p.add_argument("version", metavar="VERSION", help="a number, v3, or another alias (candidate)")
    p.add_argument("--alias", default="production", help="the alias to move (default: production)")
    p.add_argument("--note", default=None, help="why, kept in the alias history")

    p = _parser(commands, "rollback", "undo the last move of production (or --alias)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--alias", default="production", help="the alias to move back (default: production)")
    p.add_argument("--note", default=None, help="why, kept in the alias history")

    p = _parser(commands, "alias", "set an alias: alias set NAME VERSION ALIAS")
    p.add_argument("action", choices=["set"], metavar="set")
    p.add_argument("name", metavar="NAME")
    p.add_argument("version", metavar="VERSION")
    p.add_argument("alias", metavar="ALIAS")

    p = _parser(commands, "train", "retrain the course's model with other settings, as a candidate")
    p.add_argument("--alias", default="candidate", help="the alias to give it (default: candidate)")
    p.add_argument("--seed", type=int, default=1, help="seed of the data and the forest (default: 1; production used 0)")
    p.add_argument("--rows", type=int, default=20_000, help="training rows generated (default: 20000)")
    p.add_argument("--n-estimators", type=int, default=100, help="trees in the forest (default: 100)")
    p.add_argument("--max-depth", type=int, default=10, help="depth of each tree (default: 10)")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Carry out ``mlcourse registry ...``; errors are :class:`mlcourse.errors.CLIError` (one line)."""
    from mlcourse.deploy.registry import CorruptFileError, ModelIntegrityError, ModelNotFoundError, registry_root
    from mlcourse.errors import CLIError

    out = out or sys.stdout
    if args.registry_command is None:
        raise CLIError("choose a subcommand: list, show, promote, rollback, alias set, train "
                       "(mlcourse registry --help)")
    root = registry_root(args.registry)
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    try:
        if getattr(args, "name", None):
            recover_and_say(root, args.name, say)
        return _RUN[args.registry_command](args, root, say)
    except (ModelNotFoundError, ModelIntegrityError, CorruptFileError, ValueError) as exc:
        raise CLIError(str(exc)) from None


def recover_and_say(root: Path, name: str, say: Any) -> None:
    """Set the model's unreadable aliases file aside and rebuild it (:func:`mlcourse.deploy.registry.recover_aliases`),
    and ``say`` so; nothing when the file reads fine or the model does not exist."""
    from mlcourse.deploy.registry import recover_aliases

    if not (root / name).is_dir():
        return
    recovered = recover_aliases(name, registry=root)
    if recovered is not None:
        moved, rebuilt = recovered
        shown = ", ".join(f"{a} -> v{v}" for a, v in sorted(rebuilt.items())) or "none (no history)"
        say(f"The aliases of {name!r} could not be read: the file was set aside as {moved} and rebuilt from the "
            f"alias history: {shown}")


#: Metrics shown first by ``list`` when a version has them.
_HEADLINE = ("roc_auc", "pr_auc", "recall", "accuracy")


def _list(args: argparse.Namespace, root: Path, say: Any) -> int:
    from mlcourse.deploy.registry import list_models, model_names

    for name in model_names(root):
        recover_and_say(root, name, say)
    table = list_models(root)
    if table.empty:
        say(f"The registry {root} holds no model yet: `mlcourse serve` trains the course's default one, "
            "`mlcourse registry train` a candidate.")
        return 0
    say(f"Registry {root}")
    say(f"{'model':<20} {'version':>7}  {'created (UTC)':<19}  {'aliases':<22} metrics")
    for row in table.itertuples(index=False):
        numbers = {k: v for k, v in (row.metrics or {}).items() if isinstance(v, (int, float))}
        headline = [k for k in _HEADLINE if k in numbers] + [k for k in numbers if k not in _HEADLINE]
        metrics = ", ".join(f"{k} {numbers[k]:.3f}" for k in headline[:3])
        created = (row.created_at or "?")[:19].replace("T", " ")
        say(f"{row.name:<20} {'v' + str(row.version):>7}  {created:<19}  {row.aliases or '-':<22} {metrics}")
    return 0


def _default_ref(root: Path, name: str) -> str | None:
    from mlcourse.deploy.registry import get_aliases

    return "production" if "production" in get_aliases(name, registry=root) else None


def _show(args: argparse.Namespace, root: Path, say: Any) -> int:
    from mlcourse.deploy.registry import ModelIntegrityError, get_aliases, get_version, verify_model

    ref = args.version if args.version is not None else _default_ref(root, args.name)
    version = get_version(args.name, ref, registry=root)
    meta = version.metadata
    aliases = [a for a, v in sorted(get_aliases(args.name, registry=root).items()) if v == version.version]
    try:
        verify_model(args.name, version.version, registry=root)
        integrity = "files match their recorded sha256"
    except ModelIntegrityError as exc:
        integrity = f"FAILS: {exc}"
    say(f"{version.label}  ({', '.join(aliases) or 'no alias'})")
    say(f"  folder        {version.path}")
    say(f"  created       {meta.get('created_at')}   model {meta.get('model_class')}")
    say(f"  integrity     {integrity}")
    say(f"  backend       {'onnx (model.onnx) and ' if meta.get('onnx') else ''}joblib (model.joblib)")
    metrics = meta.get("metrics") or {}
    say("  metrics       " + (", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                       for k, v in metrics.items()) or "none recorded"))
    say(f"  data          {meta.get('data_fingerprint') or 'no fingerprint recorded'}")
    names = meta.get("feature_names") or []
    dtypes = meta.get("feature_dtypes") or {}
    ranges = meta.get("feature_ranges") or {}
    categories = meta.get("feature_categories") or {}
    margin = meta.get("range_margin")
    say(f"  features      {len(names)}" + (f" (numeric ranges: seen in training, widened by {margin:g} of their width)"
                                            if margin is not None else ""))
    for feature in names:
        accepted = ""
        if feature in ranges:
            accepted = f"{ranges[feature]['min']:g} to {ranges[feature]['max']:g}"
        elif feature in categories:
            accepted = ", ".join(categories[feature])
        say(f"    {feature:<20} {dtypes.get(feature, '?'):<8} {accepted}")
    return 0


def _promote(args: argparse.Namespace, root: Path, say: Any) -> int:
    from mlcourse.deploy.registry import promote, resolve_version

    number = resolve_version(args.name, args.version, registry=root)
    previous = promote(args.name, number, args.alias, registry=root, note=args.note)
    was = "new" if previous is None else f"was v{previous}"
    say(f"{args.name}: {args.alias} -> v{number} ({was}); files checked against their sha256. "
        "A running `mlcourse serve` switches within about a second.")
    return 0


def _rollback(args: argparse.Namespace, root: Path, say: Any) -> int:
    from mlcourse.deploy.registry import get_alias, rollback

    before = get_alias(args.name, args.alias, registry=root)
    now = rollback(args.name, args.alias, registry=root, note=args.note)
    say(f"{args.name}: {args.alias} -> v{now} (rolled back from v{before})")
    return 0


def _alias(args: argparse.Namespace, root: Path, say: Any) -> int:
    from mlcourse.deploy.registry import resolve_version, set_alias

    number = resolve_version(args.name, args.version, registry=root)
    previous = set_alias(args.name, args.alias, number, registry=root)
    was = "new" if previous is None else f"was v{previous}"
    say(f"{args.name}: {args.alias} -> v{number} ({was})")
    return 0


def _train(args: argparse.Namespace, root: Path, say: Any) -> int:
    import time

    from mlcourse.deploy.default_model import train_default_model
    from mlcourse.deploy.registry import get_aliases, get_version
    from mlcourse.errors import CLIError
    from mlcourse.train.fraud_model import DEFAULT_MODEL

    for option in ("rows", "n_estimators", "max_depth"):
        if getattr(args, option) < 1:
            raise CLIError(f"--{option.replace('_', '-')} must be at least 1")
    if args.alias != "production" and "production" not in get_aliases(DEFAULT_MODEL, registry=root):
        say(f"The registry {root} has no production {DEFAULT_MODEL} yet: training the course's default model first "
            "(a few seconds), so the candidate has something to compete with...")
        first = train_default_model(registry=root)
        say(f"Registered {first.label} as 'production'.")
    say(f"Training {DEFAULT_MODEL} with seed {args.seed}, {args.rows} rows, {args.n_estimators} trees of depth "
        f"{args.max_depth}...")
    t0 = time.perf_counter()
    version = train_default_model(registry=root, n_rows=args.rows, seed=args.seed, n_estimators=args.n_estimators,
                                  max_depth=args.max_depth, alias=args.alias)
    metrics = version.metadata.get("metrics", {})
    say(f"Registered {version.label} as {args.alias!r} in {time.perf_counter() - t0:.1f} s "
        f"(test ROC-AUC {metrics.get('roc_auc', float('nan')):.3f}, recall {metrics.get('recall', float('nan')):.3f}).")
    if args.alias != "production":
        production = get_version(DEFAULT_MODEL, "production", registry=root)
        theirs = production.metadata.get("metrics", {})
        say(f"Production is {production.label} (test ROC-AUC {theirs.get('roc_auc', float('nan')):.3f}). "
            f"Try it on a share of users: mlcourse serve --candidate {args.alias} --canary 0.1")
    return 0


_RUN = {"list": _list, "show": _show, "promote": _promote, "rollback": _rollback, "alias": _alias, "train": _train}
