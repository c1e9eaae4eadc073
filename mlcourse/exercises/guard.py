"""Shortcut detection: an answer may not use the package's own version of what it is asked to write.

Exercises that ask the learner to re-create something the package (or
scikit-learn) provides name the forbidden functions (``Exercise.forbid``).
Two pieces of evidence decide, in the notebook's check and in the grader
alike:

1. **Run time** (:class:`Sentinels`). While such an exercise is probed, the
   code of each forbidden function is replaced *in place* by a sentinel that
   refuses to compute and records the call; afterwards the real code is put
   back. In place, so every path to the function is covered: an import, an
   alias, ``getattr(importlib.import_module(...), name)``, a reference taken
   long before the probe. A class is covered through its methods, a wrapped
   function through what it wraps.
2. **The source** (:func:`source_problem`). The answer's own cell naming a
   forbidden function; and any learner cell that could take the sentinels
   away: code objects and frames (``__code__``, ``__globals__``,
   ``f_back``...), the import machinery (``importlib``, ``sys.modules``),
   memory and introspection (``gc``, ``ctypes``, ``inspect``), code built at
   run time (``exec``, ``getattr`` with a computed name), another interpreter
   (``subprocess``, a shell escape), or the engine's own modules.

In the grader the source is the trusted rebuild's (never what the sandboxed
child reports), and the sentinels are installed by code the child set up
before any learner code ran; undoing them needs one of the constructs the
source check refuses.

Examples
--------
>>> shortcut_message(["mlcourse.data.load_sources"])[:48]
'Your answer calls mlcourse.data.load_sources, th'
>>> sorted(forbidden_in_source("from mlcourse import data as d\\ny = d.load_sources(p)", ["mlcourse.data.load_sources"]))
['mlcourse.data.load_sources']
>>> tampering_in_source("f.__code__ = g.__code__")
['`__code__`']
"""
from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import linecache
import sys
import types
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# --------------------------------------------------------------------------
# The message
# --------------------------------------------------------------------------


def shortcut_message(called: Iterable[str]) -> str:
    """The one message for an answer that uses a name its exercise forbids."""
    used = sorted(set(called))
    what = (
        "the package's own version of what this exercise asks you to write"
        if all(u.startswith("mlcourse") for u in used)
        else "which already does what this exercise asks you to write"
    )
    return f"Your answer calls {', '.join(used)}, {what}. Write the logic yourself: that is the point of the exercise."


def tamper_message(found: Sequence[str]) -> str:
    """The message for learner code that could take the run-time check away."""
    shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
    return (
        f"Your notebook uses {shown}, which reaches into code objects, frames or the import machinery (or runs "
        "other code than the cell's own): an exercise that asks you to write the logic yourself cannot be checked "
        "around that. Remove it and write the logic with ordinary code."
    )


# --------------------------------------------------------------------------
# 1. Run time: sentinels in place of the forbidden functions
# --------------------------------------------------------------------------
class ShortcutCall(BaseException):
    """Raised by a sentinel: the answer called a function its exercise forbids.

    A BaseException, so the ``except Exception`` of an answer's fallback does
    not swallow it by accident.
    """


def _refuse(calls: list, name: str) -> None:
    calls.append(name)
    raise ShortcutCall(f"{name} may not be called in this exercise")


_MARK = "__mlcourse_sentinel__"


@functools.lru_cache(maxsize=16)
def _template(n_free: int) -> types.CodeType:
    """A sentinel's code with ``n_free`` free variables: the number a function's closure needs."""
    free = [f"_free{i}" for i in range(n_free)]
    lines = ["def _outer():", *[f"    {v} = None" for v in free], "    def _sentinel(*args, **kwargs):"]
    if free:
        lines.append(f"        ({', '.join(free)},)")
    lines += [f"        return {_MARK!r}()", "    return _sentinel"]
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        # The marker is a string here; each sentinel gets a real callable in its place.
        warnings.simplefilter("ignore", SyntaxWarning)
        exec(compile("\n".join(lines), "<mlcourse sentinel>", "exec"), namespace)
    return namespace["_outer"]().__code__


def _functions(obj: Any, depth: int = 0) -> list[types.FunctionType]:
    """The Python functions behind ``obj``: itself and what it wraps, or a class's methods."""
    if isinstance(obj, (staticmethod, classmethod, types.MethodType)):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        wrapped = obj.__dict__.get("__wrapped__")
        return [obj, *(_functions(wrapped, depth + 1) if wrapped is not None and depth < 4 else [])]
    if isinstance(obj, type) and depth == 0:
        out: list[types.FunctionType] = []
        for value in vars(obj).values():
            if isinstance(value, property):
                out += [f for f in (value.fget, value.fset, value.fdel) if isinstance(f, types.FunctionType)]
            else:
                out += _functions(value, depth + 1)
        return out
    return []


# Packages whose names may be imported to resolve a forbidden name. A short
# spelling such as ``data.load_sources`` (the lesson's alias) is left to the
# source check: importing ``data`` could pick up a learner's own file.
_IMPORTABLE = ("mlcourse", "sklearn", "numpy", "pandas", "scipy")


def resolve(name: str) -> list[types.FunctionType]:
    """The functions a forbidden qualified name stands for (empty when it names none)."""
    parts = name.split(".")
    if len(parts) < 2 or (parts[0] not in _IMPORTABLE and parts[0] not in sys.modules):
        return []
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return []
        return _functions(obj)
    return []


class Sentinels:
    """The forbidden functions of one exercise, ready to be refused while it is probed.

    Built before the answer runs (in the grading child: before any learner
    code): it keeps each function's real code object, never a callable copy.

    Examples
    --------
    >>> import json
    >>> guard = Sentinels.resolve(["json.dumps"])
    >>> with guard.refusing() as called:
    ...     try:
    ...         json.dumps(1)
    ...     except ShortcutCall:
    ...         pass
    >>> called, json.dumps(1)
    (['json.dumps'], '1')
    """

    def __init__(self, targets: Sequence[tuple[str, types.FunctionType]]) -> None:
        self._calls: list[str] = []
        self._targets: list[tuple[str, types.FunctionType, types.CodeType, types.CodeType]] = []
        seen: set[int] = set()
        for name, fn in targets:
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            code = fn.__code__
            template = _template(len(code.co_freevars))
            refuse = functools.partial(_refuse, self._calls, name)
            consts = tuple(refuse if c == _MARK else c for c in template.co_consts)
            self._targets.append((name, fn, code, template.replace(co_consts=consts, co_name=code.co_name)))

    @classmethod
    def resolve(cls, forbid: Iterable[str]) -> Sentinels:
        return cls([(name, fn) for name in forbid for fn in resolve(name)])

    @property
    def names(self) -> list[str]:
        """The forbidden names that resolved to a function (the ones refused at run time)."""
        return sorted({name for name, *_ in self._targets})

    @contextlib.contextmanager
    def refusing(self) -> Iterator[list[str]]:
        """Refuse every target while the block runs; yield the names called (or whose sentinel was removed)."""
        self._calls.clear()
        called: list[str] = []
        for _, fn, _, sentinel in self._targets:
            fn.__code__ = sentinel
        try:
            yield called
        finally:
            for name, fn, code, sentinel in self._targets:
                if fn.__code__ is not sentinel:
                    self._calls.append(name)  # taken away while the answer ran: a shortcut all the same
                fn.__code__ = code
            called[:] = list(dict.fromkeys(self._calls))
            self._calls.clear()


# --------------------------------------------------------------------------
# 2. The source
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def _python(source: str) -> ast.AST | None:
    """A cell's syntax tree, after IPython's own rewriting of magics and shell escapes.

    Cached: the grader reads the same learner cells for every exercise that
    forbids something. The trees are only read, never changed.
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - no IPython, or a cell it cannot read: parse it as it is
        pass
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None  # it cannot run either


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> what an import in the source binds it to."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _expand(dotted: str, aliases: dict[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    if head in aliases:
        return aliases[head] + (f".{rest}" if rest else "")
    return dotted


def forbidden_in_source(source: str, forbid: Sequence[str]) -> set[str]:
    """Forbidden names the source imports or refers to, through its own import aliases too."""
    tree = _python(source)
    if tree is None or not forbid:
        return set()
    wanted = set(forbid)
    short: dict[str, str] = {}  # last part -> the fully qualified forbidden name it stands for
    for f in sorted(forbid, key=lambda f: not f.startswith("mlcourse.")):
        short.setdefault(f.rsplit(".", 1)[-1], f)
    aliases = _aliases(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in wanted)
        elif isinstance(node, (ast.Attribute, ast.Name)):
            dotted = _dotted(node)
            if dotted is None:
                continue
            full = _expand(dotted, aliases)
            hits = {c for c in (dotted, full) if c in wanted}
            last = dotted.rsplit(".", 1)[-1]
            if full in wanted:
                hits = {full}  # named through an import alias: report what it is
            elif not hits and isinstance(node, ast.Attribute) and last in short and full.startswith("mlcourse."):
                hits = {short[last]}  # spelled out from mlcourse through another path
            # A lesson's short spelling (`rollout.canary_bucket`) is reported by its full name.
            found |= {short[h.rsplit(".", 1)[-1]] if h in wanted and not h.startswith("mlcourse.") else h for h in hits}
    return found


# What a learner cell may not use in a notebook whose exercises forbid something.
_DUNDERS = frozenset({
    "__code__", "__closure__", "__globals__", "__builtins__", "__wrapped__", "__func__", "__self__", "__dict__",
    "__defaults__", "__kwdefaults__", "__subclasses__", "__mro__", "__bases__", "__base__", "__getattribute__",
    "__setattr__", "__delattr__", "__reduce__", "__reduce_ex__", "__loader__", "__spec__", "__import__",
    "__traceback__",
})
_FRAME_ATTRS = frozenset({
    "tb_frame", "tb_next", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "gi_frame", "gi_code",
    "cr_frame", "cr_code", "ag_frame", "co_code", "co_consts",
})
_MODULES = frozenset({
    "importlib", "imp", "zipimport", "pkgutil", "runpy", "gc", "ctypes", "_ctypes", "cffi", "inspect", "types",
    "marshal", "dill", "cloudpickle", "shelve", "copyreg", "builtins", "__builtin__",
    "subprocess", "multiprocessing", "pty", "code", "codeop", "IPython", "ipykernel",
})
_CALLS = frozenset({"exec", "eval", "compile", "__import__", "globals", "vars", "breakpoint", "get_ipython"})
_ATTRS = {
    "sys": {"modules", "_getframe", "settrace", "setprofile", "meta_path", "path_hooks", "path_importer_cache",
            "addaudithook", "_current_frames", "monitoring"},
    # Unpickling bytes the learner wrote runs any code they name (dumping is fine: a lesson mistake).
    "pickle": {"loads", "load", "Unpickler"},
    "_pickle": {"loads", "load", "Unpickler"},
    "os": {"system", "popen", "fork", "forkpty", "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp",
           "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
           "posix_spawn", "posix_spawnp", "startfile"},
}
_ANYWHERE = frozenset({"spec_from_file_location", "module_from_spec", "ProcessPoolExecutor", "read_pickle", "reload"})
_INTERNAL = frozenset({
    "engine", "guard", "plain", "compare", "probes", "checks", "protocol", "catalog", "notebook", "store", "testing",
    "answer_key",
})
# Magics that run other code than the cell's own, another interpreter, or re-import modules.
_MAGICS = frozenset({
    "run", "load", "loadpy", "system", "sx", "sc", "bash", "sh", "script", "python", "python2", "python3", "pypy",
    "perl", "ruby", "macro", "debug", "pdb", "aimport", "autoreload", "load_ext", "reload_ext", "rerun", "recall",
    "edit", "paste", "cpaste", "alias", "store",
})


def _internal(full: str) -> bool:
    parts = full.split(".")
    if parts[:2] == ["mlcourse", "grading"]:
        return True
    return parts[:2] == ["mlcourse", "exercises"] and any(p in _INTERNAL for p in parts[2:])


class _Tampering(ast.NodeVisitor):
    def __init__(self, tree: ast.AST) -> None:
        self.aliases = _aliases(tree)
        # Names the source binds itself: a variable called `code` or `types` is not the module.
        self.assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        self.assigned |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
                          for a in [*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg] if a is not None}
        self.assigned |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        self.found: list[str] = []

    def add(self, what: str) -> None:
        if what not in self.found:
            self.found.append(what)

    def module(self, name: str) -> None:
        top = name.split(".")[0]
        if top in _MODULES:
            self.add(f"`{top}`")
        elif _internal(name):
            self.add(f"`{name}`")
        elif name.endswith("concurrent.futures.process"):
            self.add("`ProcessPoolExecutor`")

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.module(a.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.module(node.module)
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if _internal(full) or a.name in _ANYWHERE or (node.module in _ATTRS and a.name in _ATTRS[node.module]):
                    self.add(f"`{full}`")
                elif a.name in _MODULES:
                    self.add(f"`{a.name}`")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _DUNDERS or node.attr in _FRAME_ATTRS or node.attr in _ANYWHERE:
            self.add(f"`{node.attr}`")
        dotted = _dotted(node)
        if dotted is not None:
            full = _expand(dotted, self.aliases)
            base, _, attr = full.rpartition(".")
            if base in _ATTRS and attr in _ATTRS[base]:
                self.add(f"`{full}`")
            if _internal(full):
                self.add(f"`{full}`")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _DUNDERS or node.id in _ANYWHERE:
            self.add(f"`{node.id}`")
        elif node.id in _CALLS and node.id not in self.aliases and node.id not in self.assigned:
            self.add(f"`{node.id}()`")
        elif node.id in self.aliases:
            self.module(self.aliases[node.id])
        elif node.id in _MODULES and node.id not in self.assigned:
            self.add(f"`{node.id}`")  # a module imported in another cell

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr") and len(node.args) >= 2:
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                self.add(f"`{func.id}()` with a computed name")
            elif name.value.startswith("__") or name.value in _FRAME_ATTRS or name.value in _ANYWHERE:
                self.add(f"`{name.value}`")
        if self._magic(node):
            return
        self.generic_visit(node)

    def _magic(self, node: ast.Call) -> bool:
        """``get_ipython().run_line_magic(...)`` and friends, as IPython writes magics and ``!``: judge the magic."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython"):
            return False
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        if func.attr in ("system", "getoutput"):
            self.add("a shell command (`!`)")
            return True
        if func.attr not in ("run_line_magic", "run_cell_magic") or not args or args[0] is None:
            self.add("`get_ipython()`")
            return True
        if args[0] in _MAGICS:
            self.add(f"`%{args[0]}`")
            return True
        for code in args[1:]:  # the magic's own line and cell are code (%time, %timeit, %%capture...)
            if code:
                tree = _python(code)
                if tree is not None:
                    self.visit(tree)
        return True


def tampering_in_source(source: str) -> list[str]:
    """What in a learner cell could take the run-time check away (see the module docstring)."""
    tree = _python(source)
    if tree is None:
        return []
    finder = _Tampering(tree)
    finder.visit(tree)
    return finder.found


def source_problem(
    forbid: Sequence[str], answer: Sequence[tuple[str, str]], other: Sequence[tuple[str, str]] = ()
) -> str | None:
    """The shortcut an exercise's sources show, as the learner's message; None when there is none.

    Parameters
    ----------
    forbid : sequence of str
        The exercise's forbidden names (nothing is checked when empty).
    answer : sequence of (where, source)
        The exercise's answer cell(s): checked for forbidden names and tampering.
    other : sequence of (where, source)
        The learner's other cells: checked for tampering (it would reach this
        exercise's probe too).
    """
    if not forbid:
        return None
    used: set[str] = set()
    for _, source in answer:
        used |= forbidden_in_source(source, forbid)
    if used:
        return shortcut_message(used)
    found: list[str] = []
    for where, source in [*answer, *other]:
        for what in tampering_in_source(source):
            text = f"{what} ({where})" if where else what
            if not any(f.startswith(what) for f in found):
                found.append(text)
    return tamper_message(found) if found else None


def defining_source(obj: Any) -> str | None:
    """The source of the cell that defined a function (a notebook cell), else the function's own source."""
    code = getattr(obj, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    entry = linecache.cache.get(code.co_filename)
    if entry is not None and entry[1] is None:  # an interactive cell: IPython caches it without a file time
        return "".join(entry[2])
    try:
        import inspect

        return inspect.getsource(obj)
    except (OSError, TypeError):
        return None
