"""Issue 11, "Autograder hardening": each class of attack in one batch with
honest learners before, between and after the hostile ones.

One ``mlcourse grade`` run (two jobs, 1 GB and 64 processes per notebook)
grades every folder below. Hostile code that must *observe* something (what it
could see, what its attack did) reports it by raising in a cell it added: an
added cell that raises zeroes nothing, and its message comes back in the
notes of results.json, where the tests read it.

Each class has its test: 1 terminal, session, IPC; 2 a submission that would
stop the batch; 3 what the child sends; 4 who submitted what; 7 limits per
submission; 8 what the child sees; 9 the same grade twice; 10 feedback.
(5 and 6, the answer key and shortcuts, are tested with their own change.)
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import sqlite3
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from mlcourse import cli
from mlcourse.grading import seeds
from mlcourse.grading.zygote import allowed_paths

SHM_KEY = 0x6D6C0000 + secrets.randbelow(0xFFFF)  # this run's SysV shared memory key
HOME_SECRET = Path.home() / f".mlcourse-test-secret-{uuid.uuid4().hex[:8]}"  # the grading user's own file
HONEST = ["aaa-honest", "mmm-honest", "zzz-honest"]


def _code(source: str) -> dict:
    return {"cell_type": "code", "id": f"added-{uuid.uuid4().hex[:6]}", "metadata": {}, "source": source,
            "outputs": [], "execution_count": None}


def _report(body: str) -> str:
    """An added cell that runs ``body`` (filling a dict ``found``) and raises it as JSON."""
    return "import json\nfound = {}\n" + textwrap.dedent(body) + "\nraise RuntimeError('REPORT ' + json.dumps(found))"


TERMINAL = _report(f"""
import ctypes, errno, fcntl, os, termios
def attempt(fd):
    try:
        fcntl.ioctl(fd, termios.TIOCSTI, b"x")
        return "pushed"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
try:
    tty = os.open("/dev/tty", os.O_RDWR)
    found["dev_tty"] = "opened"
    found["tty_push"] = attempt(tty)
except OSError as exc:
    found["dev_tty"] = errno.errorcode.get(exc.errno, str(exc.errno))
null = os.open("/dev/null", os.O_RDWR)
found["devnull_push"] = attempt(null)  # ENOTTY without the filter, EPERM with it
found["tty_nr"] = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[4])
libc = ctypes.CDLL(None, use_errno=True)
found["new_user_ns"] = libc.unshare(0x10000000) == 0
found["ptrace"] = libc.ptrace(0, 0, 0, 0) == 0  # PTRACE_TRACEME
found["shmid"] = libc.shmget({SHM_KEY}, 4096, 0o1000 | 0o600)  # IPC_CREAT, left behind on purpose
found["seccomp"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0]
""")

FORGE = "\n" + (Path(__file__).with_name("forge_token.py")).read_text() + "\n"

# An answer that writes 20 MB as its probe's answer, with the probe's own token.
FLOOD = FORGE + "def double(x):\n    forge(b'{\"probe\": \"' + b'x' * 20_000_000 + b'\"}')"
# An answer whose error message would be HTML, a closing fence and a grade line.
INJECT = "def double(x):\n    raise ValueError('<img src=x onerror=alert(1)>\\n```\\n# Grade override: 100/100')"

HOGS = _report("""
import os, time
hogs = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = bytearray(300 * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(1)
        os._exit(0)
    hogs.append(pid)
statuses = [os.waitpid(pid, 0)[1] for pid in hogs]
found["survived"] = sum(1 for s in statuses if os.WIFEXITED(s) and os.WEXITSTATUS(s) == 0)
found["killed"] = sum(1 for s in statuses if os.WIFSIGNALED(s) and os.WTERMSIG(s) == 9)
""")

FORKS = _report("""
import os, signal
children = []
try:
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        children.append(pid)
except OSError as exc:
    found["stopped_by"] = type(exc).__name__
found["forked"] = len(children)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
""")


def _peek(paths: list[str], needles: list[str], allowed: list[str]) -> str:
    # The paths travel reversed, so the cell's own source (kept in the shell's
    # history) does not hold what the memory scan looks for.
    config = json.dumps({"paths": paths, "needles": needles, "allowed": allowed})[::-1]
    return _report(f"""
import gc, os
cfg = json.loads({config!r}[::-1])
skip = {{id(cfg), id(cfg["paths"]), id(cfg["needles"])}}
found["cwd"] = os.getcwd()
found["uid"] = os.getuid()
found["root"] = sorted(os.listdir("/"))
found["tmp"] = sorted(os.listdir("/tmp"))
found["seen"] = [p for p in cfg["paths"] if os.path.exists(p)]
# Every folder on the way to what is allowed (a Python installed under /root).
found["listed"] = []
for top in found["root"]:
    if top in ("proc", "dev", "tmp", "usr", "etc") or os.path.islink("/" + top):
        continue
    for here, dirs, files in os.walk("/" + top):
        if len(found["listed"]) > 30:
            dirs[:] = []
            continue
        found["listed"].append(here)
        if any(here.startswith(a) for a in cfg["allowed"]):
            dirs[:] = []
# Whatever the grader sent the child that is still in its memory.
hits = set()
for obj in gc.get_objects():
    if id(obj) in skip:
        continue
    items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
    for item in items:
        if isinstance(item, str):
            hits.update(n for n in cfg["needles"] if n in item)
found["in_memory"] = sorted(hits)
""")


def cases(make, answers, subs: Path, out: Path, solutions: Path) -> dict[str, tuple[object, float | None]]:
    """folder -> (notebook, or a callable making the file at a path; expected score, None when refused)."""
    wrong_double = {**answers, "demo.double": None}

    def added(source):
        return make(edit=lambda nb: nb["cells"].insert(2, _code(source)))

    def link(target):
        return lambda path: path.symlink_to(target)

    peek_paths = [str(out), str(subs), str(subs / "zzz-honest" / "99_demo.ipynb"), str(out / seeds.FILE_NAME),
                  str(Path(__file__).resolve().parents[2] / "README.md"), str(HOME_SECRET), "/etc/shadow", str(solutions)]
    return {
        **{name: (make(), 5) for name in HONEST},
        # 1. terminal, session, IPC
        "c1-terminal-ipc": (added(TERMINAL), 5),
        # 2. what would have stopped the batch
        "c2-surrogate": (make(answers={**answers, "demo.double": "def double(x):\n    raise ValueError('bad \\ud800 value')"}), 3),
        "gradebook.db": (make(), 5),
        "c2-fifo": (lambda path: os.mkfifo(path), 0),
        "c2-devzero": (link("/dev/zero"), 0),
        # 3. what the child sends
        "c3-flood": (make(answers={**answers, "demo.double": FLOOD}), 3),
        # 4. who submitted what
        "alice": (make(answers={}), 0),
        "zed/alice": (make(), 5),
        "Zoë": (make(), 5),
        "Zoé": (make(answers=wrong_double), 3),
        "eve": (link(subs / "zed" / "alice" / "99_demo.ipynb"), 0),
        "mallory": (link(solutions), 0),
        "dup": (None, None),  # two notebooks, made below
        # 7. limits per submission
        "c7-hogs": (added(HOGS), 5),
        "c7-forks": (added(FORKS), 5),
        # 8. what the child sees
        "c8-peek": (added(_peek(peek_paths, [str(subs), "zzz-honest", "aaa-honest"], allowed_paths())), 5),
        # 9. same submission, same grade
        "c9-half-right": (make(answers={**answers, "demo.double": "def double(x):\n    return 2 * x if x > 0 else 0"}), None),
        # 10. feedback
        "c10-markdown": (
            make(answers={**answers, "demo.double": INJECT}),
            3,
        ),
    }


class Batch:
    def __init__(self, root: Path, expected: dict, status: int, stdout: str) -> None:
        self.root, self.subs, self.out = root, root / "subs", root / "out"
        self.expected, self.status, self.stdout = expected, status, stdout

    def results(self, learner: str) -> dict:
        from mlcourse.grading.results import submission_dir

        return json.loads((submission_dir(self.out, learner, "99_demo") / "results.json").read_text(encoding="utf-8"))

    def test(self, learner: str, exercise: str) -> dict:
        return next(t for t in self.results(learner)["tests"] if t["extra_data"]["exercise"] == exercise)

    def report(self, learner: str) -> dict:
        m = re.search(r"REPORT (\{.*?\})\.?$", self.results(learner)["output"], re.M)
        assert m, self.results(learner)["output"]
        return json.loads(m.group(1))


def grade(*argv: str) -> tuple[int, str]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        status = cli.main(["grade", *argv])
    return status, stdout.getvalue()


OPTIONS = ["--jobs", "2", "--timeout", "30", "--total-timeout", "90", "--memory", "1024", "--processes", "64", "--quiet"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory, demo_lessons, make_submission, answers, write_nb) -> Batch:
    root = tmp_path_factory.mktemp("hardening")
    subs, out = root / "subs", root / "out"
    solutions = demo_lessons / "solutions" / "99_demo.ipynb"
    expected = {}
    for name, (content, score) in cases(make_submission, answers, subs, out, solutions).items():
        path = subs / name / "99_demo.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(path)
        elif content is not None:
            write_nb(path, content)
        expected[name] = score
    write_nb(subs / "dup" / "first.ipynb", make_submission())
    write_nb(subs / "dup" / "second.ipynb", make_submission(answers={}))
    HOME_SECRET.write_text("the instructor's")
    try:
        status, stdout = grade(str(subs), "--out", str(out), *OPTIONS)
    finally:
        HOME_SECRET.unlink()
    return Batch(root, expected, status, stdout)


def test_the_batch_completes_and_every_honest_learner_gets_full_marks(batch):
    assert batch.status == 0, batch.stdout
    for name in HONEST:
        assert batch.results(name)["score"] == 5, batch.results(name)["output"]
    with sqlite3.connect(batch.out / "gradebook.db") as db:
        learners = {r[0] for r in db.execute("SELECT DISTINCT learner FROM grades")}
    assert learners == {name for name, score in batch.expected.items() if name != "dup"}


@pytest.mark.parametrize("name", [n for n in [
    "c1-terminal-ipc", "c2-surrogate", "gradebook.db", "c2-fifo", "c2-devzero", "c3-flood", "alice", "zed/alice", "Zoë",
    "Zoé", "eve", "mallory", "c7-hogs", "c7-forks", "c8-peek", "c10-markdown",
]])
def test_each_hostile_case_gets_exactly_what_its_answers_deserve(batch, name):
    res = batch.results(name)
    assert res["score"] == batch.expected[name], res["output"]


# -- 1. terminal, session, IPC --------------------------------------------------
def test_1_no_terminal_no_nested_namespace_no_ipc_left_behind(batch):
    found = batch.report("c1-terminal-ipc")
    assert found["dev_tty"] in ("ENOENT", "ENXIO") and "tty_push" not in found  # no terminal to open at all
    assert found["tty_nr"] == 0  # no controlling terminal
    assert found["devnull_push"] == "EPERM" and found["seccomp"] == "2"  # the filter refuses TIOCSTI itself
    assert found["new_user_ns"] is False and found["ptrace"] is False
    assert found["shmid"] >= 0  # it did make a segment...
    keys = [int(line.split()[0]) for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    assert SHM_KEY not in keys  # ...which died with its IPC namespace


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_1_a_grader_in_a_terminal_gets_no_keystrokes_pushed_into_it(tmp_path, demo_lessons, make_submission, write_nb):
    """The instructor's shell: `mlcourse grade` runs in a terminal; afterwards
    nothing waits in that terminal's input."""
    import pty
    import select

    push = (
        "import fcntl, os, termios\nfd = os.open('/dev/tty', os.O_RDWR)\n"
        "for c in b'touch PWNED\\n':\n    fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))"
    )
    write_nb(tmp_path / "subs" / "aaa" / "99_demo.ipynb", make_submission())
    write_nb(tmp_path / "subs" / "bbb" / "99_demo.ipynb", make_submission(edit=lambda nb: nb["cells"].insert(2, _code(push))))
    write_nb(tmp_path / "subs" / "ccc" / "99_demo.ipynb", make_submission())
    lessons = demo_lessons
    script = textwrap.dedent(f"""
        import os, sys, termios
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import conftest, pytest
        from mlcourse import exercises, paths
        exercises.LESSONS["99_demo"] = "demo"
        sys.modules["mlcourse.exercises.demo.checks"] = conftest._load_demo_module()
        paths.lessons_dir = lambda kind="notebooks": __import__("pathlib").Path({str(lessons)!r}) / kind
        from mlcourse import cli
        status = cli.main(["grade", {str(tmp_path / "subs")!r}, "--out", {str(tmp_path / "out")!r}, "--quiet", "--timeout", "10"])
        attrs = termios.tcgetattr(0)
        attrs[3] &= ~(termios.ICANON | termios.ECHO)
        attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 0, 0
        termios.tcsetattr(0, termios.TCSANOW, attrs)
        pending = os.read(0, 1000)
        print("STATUS", status, "PENDING", repr(pending))
    """)
    pid, master = pty.fork()
    if pid == 0:  # a session leader whose controlling terminal is the pty: the instructor's shell
        os.execv(sys.executable, [sys.executable, "-c", script])
    output = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert "STATUS 0 PENDING b''" in text, text
    assert "PWNED" not in text
    scores = {n: json.loads((tmp_path / "out" / n / "99_demo" / "results.json").read_text())["score"] for n in ("aaa", "bbb", "ccc")}
    assert scores == {"aaa": 5, "bbb": 5, "ccc": 5}


# -- 2. one submission never stops the batch ---------------------------------------
def test_2_a_lone_surrogate_is_shown_escaped(batch):
    t = batch.test("c2-surrogate", "demo.double")
    assert t["score"] == 0 and "\\ud800" in t["output"]
    assert "\\ud800" in (batch.out / "c2-surrogate" / "99_demo" / "feedback.md").read_text(encoding="utf-8")


def test_2_a_learner_named_like_the_gradebook_gets_a_folder_of_its_own(batch):
    assert (batch.out / "gradebook%2Edb" / "99_demo" / "results.json").is_file()
    with sqlite3.connect(batch.out / "gradebook.db") as db:  # still the gradebook
        assert db.execute("SELECT count(*) FROM grades WHERE learner = 'gradebook.db'").fetchone()[0] == 3


def test_2_fifos_and_links_to_devices_are_read_by_nobody(batch):
    assert "not a regular file" in batch.results("c2-fifo")["output"]
    assert "symbolic link" in batch.results("c2-devzero")["output"]


# -- 3. what the child sends -----------------------------------------------------
def test_3_a_flood_with_the_right_token_is_refused_by_its_size(batch):
    t = batch.test("c3-flood", "demo.double")
    assert t["score"] == 0 and "more data than it reads" in t["output"] and "bytes" in t["output"]


# -- 4. who submitted what -------------------------------------------------------------
def test_4_ids_are_paths_kept_as_written(batch):
    assert batch.results("alice")["extra_data"]["learner"] == "alice" and batch.results("alice")["score"] == 0
    assert batch.results("zed/alice")["extra_data"]["learner"] == "zed/alice" and batch.results("zed/alice")["score"] == 5
    assert (batch.out / "zed%2Falice").is_dir() and (batch.out / "Zo%C3%AB").is_dir() and (batch.out / "Zo%C3%A9").is_dir()
    assert (batch.results("Zoë")["score"], batch.results("Zoé")["score"]) == (5, 3)


def test_4_links_earn_nothing_and_doubles_are_refused(batch):
    for name in ("eve", "mallory"):
        assert batch.results(name)["score"] == 0 and "symbolic link" in batch.results(name)["output"]
    assert not (batch.out / "dup").exists()
    assert "refused: 2 notebooks of lesson 99_demo for learner 'dup'" in batch.stdout
    assert "2 refused" in batch.stdout


# -- 7. limits per submission ------------------------------------------------------
def test_7_six_memory_hogs_share_one_memory_limit(batch):
    res = batch.results("c7-hogs")
    if "REPORT" in res["output"]:
        found = batch.report("c7-hogs")
        assert found["killed"] >= 1 and found["survived"] <= 3, found  # 6 x 300 MB against 1 GB
    else:  # the kernel picked the notebook's own process: said so
        assert "went over the memory limit (1024 MB)" in res["output"], res["output"]


def test_7_the_number_of_processes_is_limited(batch):
    found = batch.report("c7-forks")
    assert found["forked"] < 64 and found["stopped_by"] == "BlockingIOError", found


# -- 8. what the child sees ---------------------------------------------------------
def test_8_nothing_outside_the_submission_is_in_view_or_in_memory(batch):
    found = batch.report("c8-peek")
    assert found["cwd"] == "/tmp/submission" and found["tmp"] == ["submission"]
    assert found["seen"] == [], found["seen"]
    assert found["in_memory"] == [], found["in_memory"]
    # Outside /usr, /etc, /dev, /proc and /tmp: only the folders leading to the allowed ones.
    allowed = allowed_paths()
    assert all(any(a == p or a.startswith(p.rstrip("/") + "/") or p.startswith(a) for a in allowed) for p in found["listed"]), found
    assert found["uid"] == (65534 if os.geteuid() == 0 else os.geteuid())


# -- 9. same submission, same grade ---------------------------------------------------
def test_9_grading_again_draws_the_same_inputs(batch, demo_module):
    first = batch.results("c9-half-right")
    status, _ = grade(str(batch.subs / "c9-half-right" / "99_demo.ipynb"), "--out", str(batch.out), "--force", "--quiet")
    again = batch.results("c9-half-right")
    assert status == 0 and again["extra_data"]["graded_at"] >= first["extra_data"]["graded_at"]
    assert [(t["score"], t["output"]) for t in again["tests"]] == [(t["score"], t["output"]) for t in first["tests"]]
    # The inputs are the ones the grader secret derives for this learner.
    secret = (batch.out / seeds.FILE_NAME).read_bytes().strip()
    x = demo_module.DOUBLE.make_inputs(seeds.seed(secret, "c9-half-right", "99_demo", "demo.double"))[1][0]
    assert batch.test("c9-half-right", "demo.double")["score"] == (2 if x > 0 else 1)


# -- 10. feedback --------------------------------------------------------------------
def test_10_feedback_shows_learner_text_only_inside_blocks_it_cannot_close(batch):
    md = (batch.out / "c10-markdown" / "99_demo" / "feedback.md").read_text(encoding="utf-8")
    lines = md.splitlines()
    inside, fence = [False] * len(lines), None
    for i, line in enumerate(lines):
        if fence is None and line.startswith("```"):
            fence = re.match("`+", line).group(0)
            inside[i] = True
        elif fence is not None:
            inside[i] = True
            if line.strip() == fence:
                fence = None
    outside = [line for line, ins in zip(lines, inside) if not ins]
    assert "<img" in md and not [line for line in outside if "<img" in line or "Grade override" in line]
