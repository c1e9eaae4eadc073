"""The learner's cells as a check sees them: how each answer cell's last run ended, and which cell a line is in.

Where it stands: the notebook side of a check, between the kernel and
:meth:`~mlcourse.exercises.engine.Exercise.check`. ``lesson(...)`` calls
:func:`watch`, which registers two IPython event hooks; from then on every
cell that carries an answer's prompt line (``# Exercise <id>: ...``, see
:data:`mlcourse.exercises.notebook.PROMPT`; cell metadata never reaches the
kernel) leaves a :class:`Run` here. A check whose answer cell's last run
failed says so instead of judging the older definition still in memory.

:func:`place` names the cell a traceback line belongs to as the learner
sees it in JupyterLab (``answer cell [7]``) instead of IPython's temporary
file name. The grader never calls :func:`watch` (its child runs the rebuilt
notebook, and judges what it finds there).

Examples
--------
>>> from types import SimpleNamespace as Info
>>> cell = "# Exercise demo.k: Pick k (1 point).\\nk = (\\n"
>>> forget()
>>> _before(Info(raw_cell=cell))
>>> bad = SyntaxError("invalid syntax", ("<cell>", 2, 5, "k = (", 2, 6))
>>> _after(Info(info=Info(raw_cell=cell), execution_count=7, error_before_exec=bad, error_in_exec=None))
>>> last_run("demo.k")
Run(exercise='demo.k', count=7, ok=False, error='SyntaxError: invalid syntax (line 2)')
>>> place("<ipython-input-7-0123abcd>")
'answer cell [7]'
>>> forget()
"""
from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlcourse.exercises.notebook import PROMPT_LINE


@dataclass(frozen=True)
class Run:
    """The last run of one exercise's answer cell.

    ``ok`` is None while the cell runs (a check inside the answer cell itself
    judges what the cell has defined so far), then True or False; ``error``
    says what went wrong (``SyntaxError: invalid syntax (line 3)``).
    """

    exercise: str
    count: int | None
    ok: bool | None
    error: str = ""


_runs: dict[str, Run] = {}
# Exercise id -> the name its answer defines (to notice a fix made in a cell without the prompt line).
_names: dict[str, str] = {}
# Execution count -> the exercises whose answer cell ran with that count.
_answer_counts: dict[int, tuple[str, ...]] = {}
# IPython's name for a cell it compiled without a kernel: <ipython-input-N-hash>.
_INPUT_NAME = re.compile(r"^<ipython-input-(\d+)-[0-9a-f]+>$")


def answer_ids(source: str) -> list[str]:
    """The exercises whose prompt line a cell's source carries.

    Examples
    --------
    >>> answer_ids("import hashlib\\n\\n# Exercise data.fingerprint: Fingerprint a dataset (2 points).\\ndef f(): ...")
    ['data.fingerprint']
    """
    return PROMPT_LINE.findall(source) if isinstance(source, str) else []


def _shell() -> Any:
    """The running IPython shell, or None; IPython is never imported just to ask."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    return get() if callable(get) else None


def watch(shell: Any = None, answers: Mapping[str, str] | None = None) -> bool:
    """Record how each answer cell's runs end, from now on (once per shell).

    ``answers`` maps exercise ids to the names their answers define: a cell
    without the prompt line that runs and defines such a name supersedes a
    failed run (a learner who deleted the prompt line while fixing the cell).
    Returns False outside IPython (a plain script has no cells).
    """
    _names.update(answers or {})
    shell = shell if shell is not None else _shell()
    events = getattr(shell, "events", None)
    if events is None:
        return False
    for name, hook in (("pre_run_cell", _before), ("post_run_cell", _after)):
        if hook not in events.callbacks.get(name, []):
            events.register(name, hook)
    return True


def unwatch(shell: Any = None) -> None:
    """Stop recording (the tests' clean-up)."""
    shell = shell if shell is not None else _shell()
    events = getattr(shell, "events", None)
    for name, hook in (("pre_run_cell", _before), ("post_run_cell", _after)):
        if events is not None and hook in events.callbacks.get(name, []):
            events.unregister(name, hook)


def _before(info: Any) -> None:
    for ex_id in answer_ids(getattr(info, "raw_cell", "")):
        _runs[ex_id] = Run(ex_id, None, None)


def _after(result: Any) -> None:
    source = getattr(getattr(result, "info", None), "raw_cell", "")
    ids = answer_ids(source)
    count = result.execution_count if isinstance(result.execution_count, int) else None
    error = result.error_before_exec or result.error_in_exec
    if not ids:
        if error is None:
            for ex_id, run in list(_runs.items()):
                if run.ok is False and ex_id in _names and defines(source, _names[ex_id]):
                    _runs[ex_id] = Run(ex_id, count, True)
        return
    if count is not None:
        _answer_counts[count] = tuple(ids)
    for ex_id in ids:
        _runs[ex_id] = Run(ex_id, count, error is None, describe(error) if error is not None else "")


def defines(source: str, name: str) -> bool:
    """Whether a cell's top level defines ``name`` (``def name``, ``class name``, ``name = ...``).

    Examples
    --------
    >>> defines("import x\\ndef fingerprint(df):\\n    return 1\\n", "fingerprint"), defines("k: int = 3", "k")
    (True, True)
    >>> defines("print(fingerprint(df))\\nk == 3", "fingerprint"), defines("k == 3", "k")
    (False, False)
    """
    word = re.escape(name)
    pattern = rf"^(?:(?:async\s+)?def\s+{word}\b|class\s+{word}\b|{word}\s*(?::[^=\n]*)?=(?!=)|{word}\s*,)"
    return isinstance(source, str) and re.search(pattern, source, re.M) is not None


def describe(error: BaseException) -> str:
    """One line for a cell's error: ``NameError: name 'pd' is not defined``, a syntax error with its line.

    Examples
    --------
    >>> describe(ZeroDivisionError("division by zero"))
    'ZeroDivisionError: division by zero'
    """
    name = type(error).__name__
    if isinstance(error, SyntaxError):
        where = f" (line {error.lineno})" if isinstance(error.lineno, int) else ""
        return f"{name}: {error.msg}{where}"
    if isinstance(error, KeyboardInterrupt):
        return "the run was interrupted"
    try:
        text = str(error)
    except Exception:
        text = ""
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{name}: {text}" if text else name


def last_run(exercise_id: str) -> Run | None:
    """How the answer cell of ``exercise_id`` last ran in this kernel (None: not seen since :func:`watch`)."""
    return _runs.get(exercise_id)


def place(filename: str) -> str | None:
    """The cell a code object's ``filename`` names, as JupyterLab shows it: ``answer cell [7]``, ``cell [3]``.

    None for a file that is not a cell (a module of the learner's own).
    """
    count = None
    shell = _shell()
    mapping = getattr(getattr(shell, "compile", None), "_filename_map", None)
    if isinstance(mapping, dict):
        count = mapping.get(filename)
    if count is None:
        match = _INPUT_NAME.match(filename)
        count = int(match.group(1)) if match else None
    if not isinstance(count, int):
        return None
    return f"answer cell [{count}]" if count in _answer_counts else f"cell [{count}]"


def forget() -> None:
    """Forget every recorded run (a new kernel session, and tests)."""
    _runs.clear()
    _answer_counts.clear()
    _names.clear()
