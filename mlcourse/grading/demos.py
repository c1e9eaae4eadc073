"""Step 2b of grading: leave out the lesson's demonstration cells nothing needs.

A lesson cell marked ``{"mlcourse": {"demo": true}}`` is a *demonstration*:
it shows the learner something (a DVC session, a simulation, a plot of a
slow experiment) and nothing graded depends on it. Like a check cell, the
grader does not run it (otter-grader's ``otter_ignore`` tag does the same),
unless something that runs after it may read what it made:

* a learner's cell (an answer or a cell the learner added) that reads a name
  the demonstration binds, at module level or from inside a function, keeps
  every demonstration before it that binds that name;
* a learner's cell that reaches the notebook's namespace without naming
  what it reads (``globals()``, ``eval``, ``sys.modules``, ``Out``, ``%run``,
  a cell that does not parse...) keeps every demonstration before it;
* a demonstration kept reads names too: the demonstrations before it that
  bind them are kept as well;
* a demonstration that changes an object it did not make (``log.add(...)``,
  ``rng.normal()``, ``df["x"] = ...``: :func:`changes`) counts as binding it;
* a demonstration that reads what a learner's cell before it binds or
  changes (``df = df.dropna()``) runs too, as it would have: a failure the
  learner's code causes in it is reported as before.

The lesson's own cells are checked when the lesson is released
(:func:`problems`): a demonstration is never an answer or check cell, never
reads an answer, binds nothing a later lesson cell reads, and changes no
object a lesson cell made. So leaving it
out can change what the learner's code sees only where the learner's code
reads it, and then it runs. Scores and messages are the same as with every
cell run (``mlcourse grade --run-demo-cells``; tested on every lesson's
solutions, untouched and wrong notebooks).

Names are read with :mod:`symtable`, Python's own scope analysis: a name a
learner's function uses as a local or a parameter is not a read of the
notebook's variable of that name.

Examples
--------
>>> reads("def f(frame):\\n    total = frame.sum()\\n    return total * SCALE\\n")
({'SCALE'}, False)
>>> reads("x = globals()['collapse']")[1]
True
>>> sorted(binds("import numpy as np\\nfig, ax = plt.subplots()\\nfor k in range(3):\\n    pass"))
['ax', 'fig', 'k', 'np']
>>> kept([("demo", binds("collapse = 1"), set()), ("learner", set(), {"collapse"})])
[0]
>>> kept([("demo", binds("collapse = 1"), set()), ("learner", set(), {"df"})])
[]
"""
from __future__ import annotations

import ast
import re
import symtable
from collections.abc import Sequence, Set

from mlcourse.exercises import notebook as nbio

# A cell larger than this is not analysed (the analysis' memory grows about a
# hundredfold with the source): a learner's keeps every demonstration.
MAX_ANALYSED = 200_000

# Names that reach the notebook's namespace, or another module's, without
# naming the variable read; a cell using one may read anything.
DYNAMIC = frozenset({
    "globals", "locals", "vars", "eval", "exec", "compile", "get_ipython", "__import__", "__builtins__",
    "__main__", "__dict__", "__globals__", "f_globals", "f_locals", "f_back", "_getframe", "gc", "inspect",
    "sys", "builtins", "importlib", "ctypes", "IPython", "In", "Out", "_oh", "_ih", "_dh", "_", "__", "___",
})
# What a lesson's own demonstration may not use: it would read the learner's answers.
_WHOLESALE = frozenset({"globals", "locals", "vars", "eval", "exec", "get_ipython", "__main__"})
_HISTORY = re.compile(r"^_i{0,3}\d*$")  # _1, _i, _ii, _i12: IPython's output and input history
# Magics that read or change the namespace wholesale.
_DYNAMIC_MAGICS = frozenset({
    "run", "who", "whos", "who_ls", "store", "load", "reset", "reset_selective", "xdel", "recall", "rerun",
    "macro", "edit", "paste", "cpaste", "psearch", "pinfo", "pinfo2", "pdef", "pdoc", "psource", "pfile",
})
_MAGIC = re.compile(r"^\s*(%%?|!)\s*(\w*)")
_WORD = re.compile(r"[A-Za-z_]\w*")


def _code(source: str) -> tuple[str, set[str], bool]:
    """The cell's Python without its magic and shell lines; the words those lines use; whether one is dynamic."""
    lines, words, dynamic = [], set(), False
    cell_magic = False
    for n, line in enumerate(source.splitlines()):
        m = _MAGIC.match(line)
        if cell_magic or m:
            if m and m.group(1) == "%%" and n == 0:
                cell_magic = True  # the whole cell is the magic's input
            if m and m.group(2) in _DYNAMIC_MAGICS:
                dynamic = True
            words.update(_WORD.findall(line))
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines), words, dynamic


def _table(code: str) -> symtable.SymbolTable | None:
    if len(code) > MAX_ANALYSED:
        return None
    try:
        return symtable.symtable(code, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _tree(source: str) -> ast.Module | None:
    """The cell's syntax tree (magics left out), or None when it is too large or does not parse."""
    code = _code(source)[0]
    if len(code) > MAX_ANALYSED:
        return None
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _scopes(table: symtable.SymbolTable):
    yield table
    for child in table.get_children():
        yield from _scopes(child)


def reads(source: str) -> tuple[set[str], bool]:
    """The notebook variables a cell may read, and whether it may read any.

    A name counts when the cell's top level refers to it, or a function or
    class in it does without a local of that name. ``True`` second: the cell
    reaches the namespace some other way, or cannot be analysed.
    """
    code, words, dynamic = _code(source)
    table = _table(code)
    if table is None:
        return words, True
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    for scope in _scopes(table):
        if scope is not table:
            names |= {s.get_name() for s in scope.get_symbols() if s.is_referenced() and s.is_global()}
    names |= words
    dynamic = dynamic or bool(names & DYNAMIC) or any(_HISTORY.match(n) for n in names)
    # Attribute names are not symbols: `f.__globals__` reaches the namespace.
    dynamic = dynamic or any(w in code for w in ("__globals__", "__dict__", "f_globals", "f_locals", "__builtins__"))
    return names, dynamic


def binds(source: str) -> set[str]:
    """The notebook variables a cell may bind: its top level's, and those its functions declare global."""
    code, words, _ = _code(source)
    table = _table(code)
    if table is None:
        return words
    names = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    for scope in _scopes(table):
        names |= {s.get_name() for s in scope.get_symbols() if s.is_declared_global()}
    return names


def touches(source: str) -> set[str]:
    """What a learner's cell may have changed for the cells after it: the names it binds or changes,
    except a plain ``import module`` (the name is the module itself, the same object for every cell).

    Examples
    --------
    >>> sorted(touches("import hashlib\\nimport numpy as pd\\nfrom os import path\\ndf['x'] = 1\\ndef f(): pass"))
    ['df', 'f', 'path', 'pd']
    """
    tree = _tree(source)
    same = set()
    if tree is not None:
        plain = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if a.asname is None}
        other = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names
                 if not (isinstance(n, ast.Import) and a.asname is None)}
        assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        same = plain - other - assigned
    return (binds(source) - same) | {c.split(".")[0] for c in _changes(tree)}


def kept(cells: Sequence[tuple[str, Set[str] | None, Set[str] | None]]) -> list[int]:
    """Which demonstrations must run: ``cells`` are ``(kind, binds, reads)`` in order.

    ``kind`` is ``"demo"`` for a demonstration (``reads``: what it reads
    before binding it itself, :func:`free_reads`), ``"learner"`` for a
    learner's cell (``binds`` and ``reads`` None: it may bind or read
    anything), anything else for a lesson cell (it never reads what a
    demonstration binds: :func:`problems`).

    A demonstration runs when a learner's cell after it may read what it
    binds or changes, or when a learner's cell (or a demonstration kept) before
    it may have changed what it reads: then it runs as it would have, and a
    failure the learner's code causes in it is reported as before. A kept
    demonstration keeps those before it that bind what it reads.
    """
    keep: set[int] = set()
    touched: set[str] = set()
    anything = False
    for i, (kind, bound, read) in enumerate(cells):
        if kind == "learner":
            if bound is None:
                anything = True
            else:
                touched |= bound
        elif kind == "demo" and (anything or read is None or bool(read & touched)):
            keep.add(i)
            touched |= bound or set()
    needed: set[str] = set()
    everything = False
    for i in range(len(cells) - 1, -1, -1):
        kind, bound, read = cells[i]
        if kind == "learner":
            if read is None:
                everything = True
            else:
                needed |= read
        elif kind == "demo" and (i in keep or everything or (bound or set()) & needed):
            keep.add(i)
            if read is None:
                everything = True
            else:
                needed |= read
    return sorted(keep)


def free_reads(source: str) -> set[str]:
    """What a (trusted) cell reads of the notebook before binding it itself.

    Examples
    --------
    >>> sorted(free_reads("fig, ax = plt.subplots()\\nax.plot(df['x'])\\nn = n + 1"))
    ['df', 'n', 'plt']
    """
    read, _ = reads(source)
    return read - (binds(source) - read_before_bound(source))


def problems(cells: Sequence[dict], answer_names: Sequence[str]) -> list[str]:
    """Why a lesson's demonstrations could not be left out safely (empty: they can).

    ``cells`` are the lesson's code cells in order (solutions or learner
    notebook), ``answer_names`` what its exercises' answers are called.
    """
    found: list[str] = []
    demos: list[tuple[int, set[str]]] = []
    answers = set(answer_names)
    for i, cell in enumerate(cells):
        source = nbio.source(cell)
        if cell.get("cell_type") != "code":
            continue
        if is_demo(cell):
            where = f"demonstration cell {i + 1} ({source.strip().splitlines()[0][:50] if source.strip() else ''})"
            if nbio.exercise_id(cell) or nbio.check_id(cell):
                found.append(f"{where} is also an answer or check cell")
                continue
            read, _ = reads(source)
            if read & answers:
                found.append(f"{where} uses the answer {', '.join(sorted(read & answers))}: the grader must run it")
            if read & _WHOLESALE:
                found.append(f"{where} reads the notebook's namespace wholesale ({', '.join(sorted(read & _WHOLESALE))}), "
                             "answers included: the grader must run it")
            made_by_demos = set().union(*(bound for _, bound in demos))
            changed = [c for c in changes(source) if c.split(".")[0] not in made_by_demos]
            if changed:
                found.append(
                    f"{where} changes {', '.join(changed)}, made before it: later cells would see another value "
                    "when the grader leaves it out"
                )
            demos.append((i, binds(source) | changed_names(source)))
            continue
        if nbio.check_id(cell):
            continue  # never run while grading
        read = free_reads(source)
        for d, bound in demos:
            if read & bound:
                found.append(
                    f"cell {i + 1} reads {', '.join(sorted(read & bound))}, bound by demonstration cell {d + 1}: "
                    "the grader would always have to run it"
                )
    return found


# Methods that change the object they are called on: a fitted model, a list,
# a dict, a random generator's state, a file.
MUTATORS = frozenset({
    "fit", "fit_transform", "fit_predict", "partial_fit", "set_params", "set_output", "append", "extend", "insert",
    "pop", "popitem", "remove", "clear", "update", "setdefault", "sort", "reverse", "add", "discard", "shuffle",
    "normal", "uniform", "integers", "random", "choice", "permutation", "permuted", "standard_normal", "binomial",
    "poisson", "exponential", "lognormal", "multivariate_normal", "beta", "gamma", "seed", "set_state", "close",
    "flush", "write", "truncate", "put", "send",
})


def changes(source: str) -> list[str]:
    """What a cell changes of objects it did not make itself: ``df["x"] = ...``,
    ``model.fit(...)``, ``rng.normal(...)``, ``np.random.seed(...)``,
    ``frame.drop(..., inplace=True)``.

    A heuristic for the release check: the name an object was reached by is
    all a static reading knows, so an object the cell made (a name it
    assigned) is its own; an imported module is not (``np.random.seed``).

    Examples
    --------
    >>> changes("df['x'] = 1\\nrng.normal(size=3)\\nmine = []\\nmine.append(1)\\nnp.random.seed(0)\\nnp.mean(df)")
    ['df', 'np.random', 'rng']
    """
    tree = _tree(source)
    return [] if tree is None else _changes(tree)


def _changes(tree: ast.Module) -> list[str]:
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    own |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}

    def root(node: ast.AST) -> tuple[str | None, str]:
        path = []
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute):
                path.append(node.attr)
            node = node.value
        return (node.id if isinstance(node, ast.Name) else None), ".".join([*(getattr(node, "id", ""),), *reversed(path)])

    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                    name, _ = root(sub)
                    if name is not None and name not in own:
                        found.add(name)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, path = root(node.func.value)
            if name is None or name in own:
                continue
            inplace = any(k.arg == "inplace" and not (isinstance(k.value, ast.Constant) and not k.value.value)
                          for k in node.keywords)
            if node.func.attr in MUTATORS or inplace:
                found.add(path if path.split(".")[-1] == "random" else name)
    return sorted(found)


def changed_names(source: str) -> set[str]:
    """The names of what :func:`changes` finds changed: a learner reading one needs the cell as much as a binding."""
    return {c.split(".")[0] for c in changes(source)}


def read_before_bound(source: str) -> set[str]:
    """Top-level names a cell may read before it binds them itself (``x = x + 1``, ``print(x); x = 1``).

    A loop's or ``with``'s own variables are bound before their body runs; a
    function's reads happen when it is called, so they count unless bound
    before it is defined.

    Examples
    --------
    >>> sorted(read_before_bound("for name, v in d.items():\\n    print(name)\\nx = x + 1\\nfig = plt.figure()\\nfig.show()"))
    ['d', 'plt', 'print', 'x']
    """
    tree = _tree(source)
    if tree is None:
        return set()
    early: set[str] = set()

    def loads(node: ast.AST | None) -> set[str]:
        if node is None:
            return set()
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}

    def stores(node: ast.AST | None) -> set[str]:
        if node is None:
            return set()
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}

    def walk(body: list[ast.stmt], bound: set[str]) -> None:
        for st in body:
            if isinstance(st, (ast.For, ast.AsyncFor)):
                early.update(loads(st.iter) - bound)
                bound |= stores(st.target)
                walk(st.body + st.orelse, bound)
            elif isinstance(st, (ast.With, ast.AsyncWith)):
                for item in st.items:
                    early.update(loads(item.context_expr) - bound)
                    bound |= stores(item.optional_vars)
                walk(st.body, bound)
            elif isinstance(st, (ast.If, ast.While)):
                early.update(loads(st.test) - bound)
                walk(st.body + st.orelse, bound)
            elif isinstance(st, ast.Try):
                walk(st.body + [s for h in st.handlers for s in h.body] + st.orelse + st.finalbody, bound)
            elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                early.update(loads(st) - bound)
                bound.add(st.name)
            elif isinstance(st, (ast.Import, ast.ImportFrom)):
                bound |= {(a.asname or a.name).split(".")[0] for a in st.names}
            else:
                early.update(loads(st) - bound)
                bound |= stores(st)

    walk(tree.body, set())
    return early


def is_demo(cell: dict) -> bool:
    """Whether a notebook cell is marked as a demonstration."""
    return nbio.meta(cell).get("demo") is True


__all__ = [
    "DYNAMIC", "MUTATORS", "binds", "changed_names", "changes", "free_reads", "is_demo", "kept", "problems",
    "read_before_bound", "reads", "touches",
]
