"""The engine's generic probes: named functions the grading child can load by name.

A test's probe runs where the learner's objects live (see
:mod:`mlcourse.exercises.engine`). In the grader that is the sandboxed child,
which never loads the answer key, so every probe is a plain function at the
top of a module the child may import, and a test names it by its qualified
name. Only two kinds of module qualify (see :func:`allowed_module`): this one,
for the probes :func:`~mlcourse.exercises.engine.returns`,
:func:`~mlcourse.exercises.engine.value_is` and most value exercises use, and a
lesson's own ``probes.py``.

Examples
--------
>>> call(lambda x, y: x + y, (1, 2))
3
>>> qualified_name(call)
'mlcourse.exercises.probes.call'
>>> allowed_module("mlcourse.exercises.data.probes"), allowed_module("mlcourse.exercises.data.checks")
(True, False)
"""
from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

_ALLOWED = re.compile(r"^mlcourse\.exercises\.(?:[A-Za-z_][A-Za-z0-9_]*\.)?probes$")


def call(fn: Callable[..., Any], args: tuple) -> Any:
    """Call the learner's function with the test's positional arguments."""
    return fn(*args)


def call_keeping_inputs(fn: Callable[..., Any], args: tuple) -> dict:
    """Call the learner's function and report which arguments it changed in place.

    For tasks that ask for a new object (``returns(..., keeps_inputs=True)``):
    each argument is turned into plain data before and after the call, and
    the positions whose plain data differ are listed in ``"changed"``.

    Examples
    --------
    >>> call_keeping_inputs(lambda xs: xs.append(1) or len(xs), ([0],))
    {'returned': 2, 'changed': [0]}
    >>> call_keeping_inputs(lambda xs: xs + [1], ([0],))
    {'returned': [0, 1], 'changed': []}
    """
    from mlcourse.exercises.compare import Compare
    from mlcourse.exercises.plain import to_plain

    before = [to_plain(a) for a in args]
    returned = fn(*args)
    same = Compare()
    changed = [i for i, (a, b) in enumerate(zip(before, args)) if same(a, to_plain(b)) is not None]
    return {"returned": returned, "changed": changed}


def inputs_problem(got: Any, in_place: str) -> str | None:
    """What a verdict on a report of :func:`call_keeping_inputs`'s form says before it judges the returned value:
    that the report cannot be read, or ``in_place`` when the call changed an argument; None when neither.

    Examples
    --------
    >>> inputs_problem(call_keeping_inputs(lambda xs: xs.sort(), ([2, 1],)), "sorted in place")
    'sorted in place'
    >>> inputs_problem(call_keeping_inputs(sorted, ([2, 1],)), "sorted in place") is None
    True
    """
    if not (isinstance(got, dict) and set(got) == {"returned", "changed"}):
        return "the check could not read what your function returned"
    return in_place if got["changed"] else None


def as_given(value: Any, inputs: Any) -> Any:
    """The learner's value, as it is (value exercises; ``inputs`` is unused)."""
    return value


def allowed_module(name: str) -> bool:
    """Whether the grading child may load probes from module ``name``."""
    return isinstance(name, str) and bool(_ALLOWED.match(name))


def qualified_name(fn: Any) -> str:
    """``module.function`` of a probe; ValueError when the grading child could not load it by that name."""
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(name, str)):
        raise ValueError(f"{fn!r} is not a function")
    qualified = f"{module}.{name}"
    if not allowed_module(module):
        raise ValueError(
            f"the probe {qualified} lives outside the modules the grading child may load: define it at the top of "
            "the lesson's probes.py, or use one of mlcourse.exercises.probes"
        )
    owner = sys.modules.get(module)
    if "." in name or "<" in name or owner is None or getattr(owner, name, None) is not fn:
        raise ValueError(f"the probe {qualified} is not a function at the top of {module}, so it cannot be loaded by name")
    return qualified


def resolve(qualified: str, modules: Mapping[str, Any]) -> Callable[..., Any]:
    """The probe called ``qualified``, looked up only in ``modules`` (name -> module), all allowed ones.

    Examples
    --------
    >>> resolve("mlcourse.exercises.probes.as_given", {__name__: sys.modules[__name__]}) is as_given
    True
    """
    module, _, name = str(qualified).rpartition(".")
    if not allowed_module(module) or module not in modules:
        raise ValueError(f"probe {qualified!r} is not in a module the grading child loaded")
    fn = getattr(modules[module], name, None)
    if not callable(fn) or getattr(fn, "__module__", None) != module or name.startswith("__"):
        raise ValueError(f"{module} has no probe {name!r}")
    return fn
