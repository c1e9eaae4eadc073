"""Issue 17: shared checkpoints of the trusted cells, fork points for replays.

What a learner can observe must not change: two submissions forked from one
checkpoint share nothing, a learner's cell before the first answer cell
disables the checkpoint, and a replay from a fork point grades exactly as a
replay in a fresh child. (The identical grades on the real lessons are in
test_real_lessons.py; the hostile cases run with checkpoints in
test_hostile.py and test_hardening.py.)
"""
from __future__ import annotations

import os
import secrets
import socket
import time
import uuid
from pathlib import Path

import pytest

from mlcourse.grading import checkpoint, keeper, prefix
from mlcourse.grading.discover import Submission
from mlcourse.grading.sandbox import Limits, Session, session_settings
from mlcourse.grading.verdict import Grader

LIMITS = Limits(cell_timeout=20, total_timeout=120, memory_mb=2048, output_mb=1)
KINDS = ["ipc", "uts", "mnt", "net", "pid"]
SHM_KEY = 0x6D6D0000 + secrets.randbelow(0xFFFF)


def start(zygote, folder, cells: list[str], key: str, cgroup=None) -> Session:
    """A child forked from the checkpoint of ``cells`` (made on first use)."""
    root, cells_file = zygote.checkpoint_folder(key, cells)
    folder.mkdir(parents=True, exist_ok=True)
    settings = session_settings(workdir=str(folder), hide=[], cgroup=cgroup.procs if cgroup else None)
    settings["checkpoint"] = {"key": key, "position": len(cells), "root": root, "cells_file": cells_file, "timeout": 20}
    s = Session(zygote, settings, LIMITS, time.monotonic() + 120, cgroup)
    s.start()
    return s


TRUSTED = [
    "import os\nwith open('/tmp/submission/shared.txt', 'w') as fh:\n    fh.write('trusted')\n"
    "os.makedirs('/tmp/submission/data')\nshared = 41",
]


@pytest.fixture
def two_children(zygote, demo_module, tmp_path):
    """Two children forked from one checkpoint, each in a cgroup of its own where there are cgroups."""
    from mlcourse.grading.cgroups import Cgroups

    cgs, _ = Cgroups.create(2048, 64)
    groups = [cgs.new(), cgs.new()] if cgs else [None, None]
    key = prefix.key(TRUSTED, {"test": uuid.uuid4().hex})
    a = start(zygote, tmp_path / "a", TRUSTED, key, groups[0])
    try:
        yield a, lambda: start(zygote, tmp_path / "b", TRUSTED, key, groups[1]), groups
    finally:
        a.close()
        for g in groups:
            if g is not None:
                g.close()
        if cgs:
            cgs.close()


def test_two_submissions_forked_from_one_checkpoint_share_no_file_process_memory_or_namespace(two_children, zygote, child):
    a, start_b, groups = two_children
    assert a.checkpoint == {"used": True, "position": 1}
    if a.hello["isolation"] != "namespaces":
        pytest.skip("no namespaces here")
    # The trusted cells ran once, in the checkpoint: their state and files are there.
    assert child.value(a, "shared") == 41
    assert child.value(a, "open('/tmp/submission/shared.txt').read()") == "trusted"
    # A changes everything it can reach, and leaves a process running.
    child.run(a, "open('/tmp/submission/shared.txt', 'w').write('A'); open('/tmp/submission/a_only.txt', 'w').write('A')\n"
                 "open('/dev/shm/a_shm', 'w').write('A'); shared = 'A'")
    assert child.value(a, f"__import__('ctypes').CDLL(None).shmget({SHM_KEY}, 4096, 0o1000 | 0o600)") >= 0
    child.run(a, "import subprocess\nsleeper = subprocess.Popen(['sleep', '600'])")
    ns_a = child.value(a, f"[__import__('os').readlink('/proc/self/ns/' + k) for k in {KINDS!r}]")

    b = start_b()
    try:
        assert b.checkpoint == {"used": True, "position": 1} and b.pid != a.pid
        assert child.value(b, "shared") == 41  # the checkpoint's state, not A's
        assert child.value(b, "open('/tmp/submission/shared.txt').read()") == "trusted"
        assert child.value(b, "[__import__('os').path.exists(p) for p in ('/tmp/submission/a_only.txt', '/dev/shm/a_shm')]") == [
            False, False]
        assert child.value(b, f"__import__('ctypes').CDLL(None).shmget({SHM_KEY}, 4096, 0)") == -1  # A's segment: not in B's IPC
        assert child.value(b, "sorted(int(p) for p in __import__('os').listdir('/proc') if p.isdigit())") == [1, 2]  # no sleeper
        ns_b = child.value(b, f"[__import__('os').readlink('/proc/self/ns/' + k) for k in {KINDS!r}]")
        assert all(x != y for x, y in zip(ns_a, ns_b)), (ns_a, ns_b)
        ours = [os.readlink(f"/proc/self/ns/{k}") for k in KINDS]
        assert all(x != y for x, y in zip(ns_b, ours))
        # Every guarantee of a child forked from the fork server holds.
        expected_uid = 65534 if os.geteuid() == 0 else os.geteuid()
        assert child.value(b, "__import__('os').getuid()") == expected_uid
        caps = child.value(b, "[l.split()[1] for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd', 'Seccomp:'))]")
        assert caps[:2] == ["0000000000000000", "0000000000000000"]
        if b.hello.get("seccomp"):
            assert child.value(b, "[l.split()[1] for l in open('/proc/self/status') if l.startswith('Seccomp:')][0]") == "2"
        # The trusted cells' files are the child's user's, as if it had run them.
        assert child.value(b, "__import__('os').stat('/tmp/submission/shared.txt').st_uid") == expected_uid
        assert child.value(b, "open('/tmp/submission/shared.txt', 'w').write('B')") == 1
        if groups[0] is not None:
            cg_a, cg_b = (child.value(s, "open('/proc/self/cgroup').read()") for s in (a, b))
            assert cg_a != cg_b and "run-" in cg_a and "run-" in cg_b
            assert b.hello["cgroup"] is True and groups[1].pids()
    finally:
        b.close()
    # A's own changes are still its own; the host never saw A's segment.
    assert child.value(a, "(open('/tmp/submission/shared.txt').read(), shared)") == ["A", "A"]
    keys = [int(line.split()[0]) for line in open("/proc/sysvipc/shm").read().splitlines()[1:]]
    assert SHM_KEY not in keys
    stats = zygote.stats()["checkpoints"]
    assert any(c["position"] == 1 and c["forks"] >= 2 for c in stats["checkpoints"]), stats


@pytest.mark.parametrize(
    ("cells", "why"),
    [
        (["import threading, time\nt = threading.Thread(target=time.sleep, args=(600,), daemon=True)\nt.start()"], "threads"),
        (["import subprocess\np = subprocess.Popen(['sleep', '600'])"], "processes"),
        (["fh = open('/tmp/submission/log.txt', 'w')"], "files open"),
        (["x = 1", "raise ValueError('broken template')"], "cell 2"),
    ],
)
def test_a_checkpoint_that_cannot_be_forked_whole_is_not_used_and_says_why(zygote, demo_module, tmp_path, cells, why, child):
    key = prefix.key(cells, {"test": uuid.uuid4().hex})
    with start(zygote, tmp_path, cells, key) as s:
        assert s.checkpoint["used"] is False and why in s.checkpoint["why"], s.checkpoint
        # The child comes from the fork server instead: none of those cells ran in it.
        assert child.value(s, "'x' in dir() or 't' in dir() or 'p' in dir()") is False
    with start(zygote, tmp_path / "again", cells, key) as s:  # said once, remembered
        assert s.checkpoint["used"] is False and why in s.checkpoint["why"]


# --------------------------------------------------------------------------
# The grader: which cells are shared, and replays from fork points
# --------------------------------------------------------------------------
def _grade(zygote, nb, *, learner="learner", **options) -> object:
    grader = Grader(zygote, Limits(cell_timeout=10, total_timeout=120), **options)
    return grader.grade(Submission(path=Path("x.ipynb"), learner=learner, lesson="99_demo", sha256="x", notebook=nb))


def _seen(graded) -> list:
    """What the learner sees: every exercise's status, score and message, and the notes."""
    return [(r.exercise, str(r.status), r.score, r.message) for r in graded.results] + sorted(graded.notes)


def _added(source: str) -> dict:
    return {"cell_type": "code", "id": f"added-{uuid.uuid4().hex[:6]}", "metadata": {}, "source": source,
            "outputs": [], "execution_count": None}


def test_shared_cells_stop_at_the_learners_first_cell(zygote, demo_lessons, make_submission, answers):
    base = prefix.trusted_run("99_demo")
    assert prefix.boundaries(base) == [1, 2, 3, 5]  # setup | double | total | clean | last cell

    def first(nb):  # a learner's cell before every lesson cell
        nb["cells"].insert(0, _added("mine = 1"))

    def after_setup(nb):  # between the setup cell and the first answer cell
        nb["cells"].insert(2, _added("mine = 1"))

    notebooks = {
        "honest": make_submission(),
        "untouched": make_submission(answers={}),
        "only clean": make_submission(answers={"demo.clean": answers["demo.clean"]}),
        "first": make_submission(edit=first),
        "after setup": make_submission(edit=after_setup),
    }
    graded = {name: _grade(zygote, nb) for name, nb in notebooks.items()}
    shared = {name: g.shared_cells for name, g in graded.items()}
    # A learner's cell is never run by a checkpoint: one before the first
    # answer cell leaves only the lesson cells before it to share, none at all
    # before the setup cell.
    assert shared == {"honest": 1, "untouched": 5, "only clean": 3, "first": 0, "after setup": 1}
    # An untouched notebook runs no cell of its own: everything came from the checkpoint.
    assert graded["untouched"].cells_run == 0 and graded["honest"].cells_run == 4
    assert {name: g.score for name, g in graded.items()} == {"honest": 5, "untouched": 0, "only clean": 2, "first": 5, "after setup": 5}
    for name, nb in notebooks.items():
        assert _seen(graded[name]) == _seen(_grade(zygote, nb, checkpoints=False, point_gap=None)), name


def test_what_a_learners_cell_did_never_reaches_another_submission(zygote, demo_lessons, make_submission):
    def plant(nb):  # right after the setup cell: the same checkpoint as everyone's
        nb["cells"].insert(2, _added("import numpy as np\nnp.PLANTED = 'mine'\nsample.loc[0, 'a'] = -1.0\nplanted = True"))

    def look(nb):
        nb["cells"].append(_added("import numpy as np\nassert not hasattr(np, 'PLANTED') and 'planted' not in dir() "
                                  "and sample.loc[0, 'a'] == 1.0, 'LEAKED'"))

    assert _grade(zygote, make_submission(edit=plant), learner="planter").shared_cells == 1
    seen = _grade(zygote, make_submission(edit=look), learner="looker")
    assert seen.shared_cells == 1 and seen.score == 5
    assert not [n for n in seen.notes if "LEAKED" in n or "was skipped" in n], seen.notes


def test_an_edited_setup_cell_still_shares_the_template_s_own(zygote, demo_lessons, make_submission):
    def edit(nb):
        nb["cells"][1]["source"] = "sample = 'mine'"  # the template's version runs, as always

    graded = _grade(zygote, make_submission(edit=edit))
    assert graded.shared_cells == 1 and graded.score == 5


EXITS = "\nimport os\nos._exit(0)"
KILL_ALL = (
    "import os, signal\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) != os.getpid():\n"
    "        try:\n            os.kill(int(p), signal.SIGKILL)\n        except OSError:\n            pass"
)
THREAD = "\nimport threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()"


@pytest.mark.parametrize(
    ("name", "change", "resumes"),
    [
        # The answer cell exits: back to the point before it, its stub runs instead.
        ("exits", lambda a: {**a, "demo.total": a["demo.total"] + EXITS}, 1),
        # A cell that raises after binding a name.
        ("binds then raises", lambda a: {**a, "demo.total": "total = 55\nraise ValueError('late')"}, 1),
        # It wrote a file first: the point before it no longer matches the files, a fresh child replays.
        ("writes then exits", lambda a: {**a, "demo.total": "open('/tmp/submission/x', 'w').write('x')" + EXITS}, 0),
        # It killed every process it could see (the fork points too), then exited.
        ("kills everything", lambda a: {**a, "demo.total": KILL_ALL + EXITS}, 0),
        # A thread started by an earlier answer: no point after it; the one before it is used.
        ("thread, then exits", lambda a: {
            **a,
            "demo.double": a["demo.double"] + THREAD,
            "demo.total": a["demo.total"] + EXITS,
        }, 1),
        # Checking an answer kills the child: the probes go on from the point before them.
        ("probe exits", lambda a: {**a, "demo.double": "def double(x):\n    import os\n    os._exit(3)"}, 1),
    ],
)
def test_a_replay_from_a_fork_point_grades_as_a_fresh_replay(zygote, demo_lessons, make_submission, answers, name, change, resumes):
    nb = make_submission(answers=change(answers))
    points = _grade(zygote, nb, point_gap=0)
    fresh = _grade(zygote, nb, checkpoints=False, point_gap=None)
    assert _seen(points) == _seen(fresh)
    assert fresh.replays >= 1 and fresh.resumes == 0
    assert points.resumes == resumes and points.replays == fresh.replays
    if resumes:
        assert points.cells_run < fresh.cells_run  # the cells before the point did not run again


def test_cells_run_counts_what_a_resume_saves(zygote, demo_lessons, make_submission, answers):
    nb = make_submission(answers={**answers, "demo.total": answers["demo.total"] + EXITS})
    # cells: 0 setup | 1 double | 2 total (exits) | 3 clean | 4 last
    # fresh: 0 1 2, then 0 1 2' 3 4;  from the checkpoint and a point before 2: 1 2, then 2' 3 4.
    assert _grade(zygote, nb, checkpoints=False, point_gap=None).cells_run == 8
    assert _grade(zygote, nb, point_gap=0).cells_run == 5


def test_a_timeout_goes_back_to_the_point_before_the_cell(zygote, demo_lessons, make_submission, answers):
    nb = make_submission(answers={**answers, "demo.clean": "while True:\n    pass"})
    grader = Grader(zygote, Limits(cell_timeout=2, total_timeout=120), point_gap=0)
    graded = grader.grade(Submission(path=Path("x.ipynb"), learner="l", lesson="99_demo", sha256="x", notebook=nb))
    assert graded.resumes == 1 and graded.score == 3
    assert "ran for more than 2 s" in next(r.message for r in graded.results if r.exercise == "demo.clean")


# --------------------------------------------------------------------------
# The pieces on their own
# --------------------------------------------------------------------------
def test_the_fingerprint_sees_every_change_to_the_scratch_space(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("one")
    before = keeper.fingerprint([str(tmp_path)], ipc=None)
    assert before == keeper.fingerprint([str(tmp_path)], ipc=None)
    (tmp_path / "d" / "f").write_text("two")  # same size, new content
    assert keeper.fingerprint([str(tmp_path)], ipc=None) != before
    after = keeper.fingerprint([str(tmp_path)], ipc=None)
    (tmp_path / "d" / "g").mkdir()
    assert keeper.fingerprint([str(tmp_path)], ipc=None) != after
    monkeypatch.setattr(keeper, "MAX_ENTRIES", 2)
    assert keeper.fingerprint([str(tmp_path)], ipc=None) is None  # too many to read: no point is used


def _entry(table: checkpoint.Table, key: str, used: float, busy: bool = False) -> checkpoint.Checkpoint:
    ours, _ = socket.socketpair()
    cp = checkpoint.Checkpoint(key=key, pid=2**22 + 7, sock=ours, position=1, used=used)
    if busy:
        cp.inflight["r"] = ({}, [])
    table.live[key] = cp
    return cp


def test_the_table_keeps_at_most_its_limit_stopping_the_least_recently_used_idle_one():
    table = checkpoint.Table(limit=2, budget_mb=100)
    _entry(table, "old", used=1.0)
    _entry(table, "new", used=2.0)
    assert table.refuse({"key": "third"}) is None and set(table.live) == {"new"}
    _entry(table, "third", used=3.0, busy=True)
    _entry(table, "busy", used=0.5, busy=True)
    table.live.pop("new")
    assert table.refuse({"key": "fourth"}) == "all 2 checkpoints are busy being made"
    assert table.refuse({"key": "busy"}) is None  # a live one is always found


def test_a_checkpoint_over_the_budget_while_the_others_are_busy_is_refused_for_now_only():
    table = checkpoint.Table(limit=4, budget_mb=100)
    a = _entry(table, "a", used=1.0, busy=True)  # forking a child
    assert table.ready(a, {"memory_mb": 60}) is None
    b = _entry(table, "b", used=2.0)
    why = table.ready(b, {"memory_mb": 70})
    assert why is not None and "busy" in why and b.for_now
    table.fail(b, why)
    # The budget held: only a is live; b is not remembered as unusable.
    assert set(table.live) == {"a"} and table.memory_mb() == 60 and "b" not in table.failed
    assert table.refuse({"key": "b"}) is None  # it may be made again
    assert table.report()["peak_mb"] == 60


def test_the_table_counts_memory_and_refuses_a_checkpoint_over_the_budget():
    table = checkpoint.Table(limit=4, budget_mb=100)
    a = _entry(table, "a", used=1.0)
    assert table.ready(a, {"memory_mb": 60, "seconds": 1.5}) is None
    b = _entry(table, "b", used=2.0)
    assert table.ready(b, {"memory_mb": 70}) is None
    assert set(table.live) == {"b"}  # a was stopped to make room
    c = _entry(table, "c", used=3.0)
    assert "over the 100 MB" in table.ready(c, {"memory_mb": 150})
    report = table.report()
    assert report["built"] == 3 and report["peak_mb"] == 70 and report["build_seconds"] == 1.5


def test_jobs_share_the_fork_servers_checkpoints_within_their_limit(demo_lessons, make_submission, write_nb, tmp_path):
    from mlcourse.grading.batch import Options, run

    subs = tmp_path / "subs"
    for n in range(3):
        write_nb(subs / f"honest-{n}" / "99_demo.ipynb", make_submission())
        write_nb(subs / f"untouched-{n}" / "99_demo.ipynb", make_submission(answers={}))
    limits = Limits(cell_timeout=10, total_timeout=120)
    shared = run(Options(paths=[subs], out=tmp_path / "out", jobs=2, limits=limits, progress=False))
    # Two checkpoints (after the setup cell; after every cell), made once
    # each and shared by both workers' six children.
    cps = shared.fork_server["checkpoints"]
    assert cps["built"] == 2 and cps["forks"] == 6 and cps["live"] == 2, cps
    assert 0 < cps["peak_mb"] == cps["live_mb"] and shared.fork_server["fork_server_peak_mb"] > 0
    grades = {o.submission.learner: (o.graded.score, o.graded.shared_cells) for o in shared.outcomes}
    assert grades == {**{f"honest-{n}": (5, 1) for n in range(3)}, **{f"untouched-{n}": (0, 5) for n in range(3)}}

    # One checkpoint at a time: they take turns, never two live, the grades unchanged.
    one = run(Options(paths=[subs], out=tmp_path / "out-one", jobs=2, limits=limits, progress=False, checkpoints=1))
    cps = one.fork_server["checkpoints"]
    assert cps["live"] == 1 and cps["built"] >= 2 and cps["built"] == cps["stopped"] + 1 - len(cps["failed"]), cps
    assert {o.submission.learner: o.graded.score for o in one.outcomes} == {k: v[0] for k, v in grades.items()}
    # A budget smaller than either checkpoint: none is kept, and the grader says why.
    none = run(Options(paths=[subs], out=tmp_path / "out-none", jobs=2, limits=limits, progress=False, checkpoint_mb=0.001))
    cps = none.fork_server["checkpoints"]
    assert cps["live"] == 0 and cps["forks"] == 0 and cps["peak_mb"] == 0
    assert all("over the 0.001 MB" in o.graded.unshared and o.graded.shared_cells == 0 for o in none.outcomes)
    assert {o.submission.learner: o.graded.score for o in none.outcomes} == {k: v[0] for k, v in grades.items()}
