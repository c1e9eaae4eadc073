"""The sandboxed child: what it has, what it cannot see or do, how it is stopped."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from mlcourse.grading import isolation
from mlcourse.grading.sandbox import Limits, Session, describe_status, session_settings

LIMITS = Limits(cell_timeout=5, total_timeout=60, memory_mb=2048, output_mb=1)


@pytest.fixture(scope="module")
def secret_dir(tmp_path_factory):
    """A folder standing for the grader's output: children must not see it."""
    d = tmp_path_factory.mktemp("out")
    (d / "gradebook.db").write_text("secret")
    return d


@pytest.fixture(scope="module")
def session(zygote, demo_module, secret_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    settings = session_settings(workdir=str(work), hide=[str(secret_dir)])
    s = Session(zygote, settings, LIMITS, time.monotonic() + 600)
    s.start()
    yield s
    s.close()


def test_the_fork_server_preloads_the_heavy_libraries_for_real(zygote, session, child):
    # Python's forkserver drops preload import errors silently: ours reports
    # them, and the heavy libraries must really be there, in the child too.
    assert isinstance(zygote.hello["failed"], dict)
    assert not [name for name in zygote.hello["failed"] if name.split(".")[0] in ("numpy", "pandas", "sklearn", "matplotlib", "IPython")]
    assert all(zygote.hello["loaded"].values()), zygote.hello["loaded"]
    assert all(session.hello["loaded"].values()), session.hello["loaded"]
    loaded = child.value(session, "sorted(m for m in ('numpy', 'pandas', 'sklearn', 'matplotlib', 'IPython') "
                                  "if m in __import__('sys').modules)")
    assert loaded == ["IPython", "matplotlib", "numpy", "pandas", "sklearn"]
    # One thread: forking a process with threads (a history writer, a BLAS pool) is unsafe.
    assert zygote.hello["threads"] == 1


def test_child_is_isolated_in_namespaces(session, child):
    if session.hello["isolation"] != "namespaces":
        pytest.skip(f"no namespaces here: {session.hello['reason']}")
    assert session.hello["problems"] == []
    # Its own PID namespace: the keeper (the first process) and the runner, nothing else in view.
    assert child.value(session, "__import__('os').getpid()") == 2
    assert child.value(session, "sorted(int(p) for p in __import__('os').listdir('/proc') if p.isdigit())") == [1, 2]


def test_no_network(session, child):
    if session.hello["isolation"] != "namespaces":
        pytest.skip("no namespaces here")
    msg = child.run(session, "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)")
    assert msg["status"] == "error" and msg["ename"] in ("OSError", "TimeoutError", "ConnectionRefusedError")


def test_output_folder_and_home_are_hidden_and_the_disk_is_read_only(session, secret_dir, child):
    if session.hello["isolation"] != "namespaces":
        pytest.skip("no namespaces here")
    # Under /tmp it is gone with the rest of /tmp; elsewhere it is an empty mount.
    seen = child.value(session, f"(lambda os, p: os.listdir(p) if os.path.isdir(p) else [])(__import__('os'), {str(secret_dir)!r})")
    assert seen == []
    assert child.value(session, "__import__('os').path.exists('/root/.ssh')") is False
    assert child.value(session, "__import__('os').path.exists('/etc/shadow')") is False
    # The checkout is not in view (only the package and the venv are), and
    # what is in view is read-only.
    msg = child.run(session, f"open({str(Path(__file__).parent / 'escaped.txt')!r}, 'w')")
    assert msg["status"] == "error" and "No such file" in msg["evalue"]
    assert not (Path(__file__).parent / "escaped.txt").exists()
    import mlcourse

    package = Path(mlcourse.__file__).resolve().parent
    msg = child.run(session, f"open({str(package / 'escaped.txt')!r}, 'w')")
    assert msg["status"] == "error" and "Read-only" in msg["evalue"]
    assert not (package / "escaped.txt").exists()
    # Its own scratch space works, and is its own.
    assert child.value(session, "(open('mine.txt', 'w').write('x'), __import__('os').getcwd())[1]") == session.hello["workdir"]


def test_capabilities_are_dropped(session, child):
    if session.hello["isolation"] != "namespaces":
        pytest.skip("no namespaces here")
    caps = child.value(session, "[l.split()[1] for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd'))]")
    assert caps == ["0000000000000000", "0000000000000000"]
    msg = child.run(session, "import ctypes\nassert ctypes.CDLL(None).mount(b'none', b'/', None, 32, None) == 0")
    assert msg["status"] == "error"


def test_environment_stdin_and_limits(session, child):
    names = child.value(session, "sorted(__import__('os').environ)")
    assert "MLCOURSE_HOME" in names and not any(k.startswith(("PYTEST", "GITHUB", "AWS", "VIRTUAL_ENV")) for k in names)
    assert child.value(session, "__import__('os').environ['HOME']") == session.hello["workdir"]
    msg = child.run(session, "input()")
    assert msg["ename"] == "EOFError"  # stdin is /dev/null
    # Address space: what the preloaded libraries map, plus the notebook's own memory.
    limit, vm = child.value(session, "[__import__('resource').getrlimit(__import__('resource').RLIMIT_AS)[0], "
                               "__import__('mlcourse.grading.isolation').grading.isolation.mapped_bytes()]")
    assert LIMITS.memory_mb * 2**20 < limit <= vm + LIMITS.memory_mb * 2**20
    msg = child.run(session, "x = bytearray(30 * 2**30)")
    assert msg["ename"] == "MemoryError"


def test_magics_lessons_use_work(session, child):
    for source in (
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()",
        "%%time\ny = 1",
        "%timeit sum(range(10))",
        "%pip install nothing",
    ):
        assert child.run(session, source)["status"] == "ok", source
    assert child.value(session, "__import__('matplotlib').get_backend().lower()") == "agg"


def test_fake_messages_on_the_private_pipes_are_ignored(session, child):
    source = (
        "import os\n"
        "for fd in range(3, 30):\n"
        "    try:\n"
        "        os.write(fd, b'{\"token\": \"0\", \"status\": \"ok\"}\\n{\"hello\": {}}\\n{\"probe\": {}}\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "raise ValueError('still here')"
    )
    before = session.bogus
    msg = child.run(session, source)
    assert msg["evalue"] == "still here"  # the answer to *this* request, with its token
    assert session.bogus > before


def test_printing_past_the_limit_stops_the_child(zygote, demo_module, tmp_path):
    settings = session_settings(workdir=str(tmp_path), hide=[])
    with Session(zygote, settings, LIMITS, time.monotonic() + 60) as s:
        s.start()
        reply = s.request({"op": "cell", "source": "print('x' * 5_000_000)"})
        assert reply.kind == "output"


def test_a_timeout_kills_the_whole_process_group(zygote, demo_module, tmp_path):
    settings = session_settings(workdir=str(tmp_path), hide=[])
    with Session(zygote, settings, Limits(cell_timeout=1), time.monotonic() + 60) as s:
        s.start()
        pid = s.pid
        s.request({"op": "cell", "source": "import subprocess\np = subprocess.Popen(['sleep', '600'])"})
        started = time.monotonic()
        reply = s.request({"op": "cell", "source": "while True: pass"})
        assert reply.kind == "timeout" and time.monotonic() - started < 3
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the child's process group survived")


def test_crash_is_reported_with_its_signal(zygote, demo_module, tmp_path):
    settings = session_settings(workdir=str(tmp_path), hide=[])
    with Session(zygote, settings, LIMITS, time.monotonic() + 60) as s:
        s.start()
        reply = s.request({"op": "cell", "source": "import ctypes\nctypes.string_at(0)"})
        assert reply.kind == "died" and "SIGSEGV" in reply.detail


def test_without_namespaces_it_still_runs_and_says_so(zygote, demo_module, tmp_path):
    settings = session_settings(workdir=str(tmp_path), hide=[], namespaces=False)
    with Session(zygote, settings, LIMITS, time.monotonic() + 60) as s:
        s.start()
        assert s.hello["isolation"] == "fallback" and s.hello["reason"]
        assert s.request({"op": "cell", "source": "x = 1"}).message["status"] == "ok"


def test_status_descriptions():
    assert "exit status 3" in describe_status(3 << 8)
    assert "SIGSEGV" in describe_status(11)
    assert "CPU" in describe_status(24)


def test_mountinfo_parsing_and_hideable():
    point, opts = isolation.parse_mountinfo_line("36 35 98:0 /a /mnt/a\\040b rw,nosuid - ext4 /dev/x rw")
    assert point == "/mnt/a b" and "nosuid" in opts
    assert isolation.hideable(Path("/srv/x"), [Path("/opt/venv")])
    assert not isolation.hideable(Path("/opt"), [Path("/opt/venv")])


def test_a_child_exit_wakes_the_waiting_loop_once():
    """The fork server, a checkpoint and the keeper wait on their sockets and on a child's exit."""
    old = signal.getsignal(signal.SIGCHLD)
    wake_r, wake_w = isolation.wake_on_child_exit()
    quiet_r, quiet_w = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        assert isolation.wait_ready([quiet_r], wake_r) == [wake_r]
        os.waitpid(pid, 0)
        os.write(quiet_w, b"x")
        # drained: the exit already seen does not wake the next wait
        assert isolation.wait_ready([quiet_r], wake_r) == [quiet_r]
    finally:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, old)
        for fd in (wake_r, wake_w, quiet_r, quiet_w):
            os.close(fd)


def test_fallback_workdir_survives_when_tmp_holds_the_python_installation(tmp_path, in_forked_child):
    """A checkout with its venv in /tmp: /tmp cannot be replaced, and the
    per-submission folder inside the (hidden) batch folder must stay usable."""
    batch = Path(tempfile.mkdtemp(prefix="mlcourse-test-batch-", dir="/tmp"))
    install = Path(tempfile.mkdtemp(prefix="mlcourse-test-install-", dir="/tmp"))
    workdir = batch / "submission-1"
    workdir.mkdir()
    (batch / "other-learner.ipynb").write_text("secret")

    def look() -> dict:
        isolation.unshare(isolation.CLONE_NEWNS)
        report = isolation.isolate_filesystem(
            hide=[str(batch)], protect=[str(install)], fallback_workdir=str(workdir), scratch_mb=16
        )
        Path(report.workdir, "answer.txt").write_text("ok")
        return {
            "workdir": report.workdir,
            "writable": Path(report.workdir, "answer.txt").read_text() == "ok",
            "other_hidden": not (batch / "other-learner.ipynb").exists(),
            "install_visible": install.is_dir(),
        }

    seen = in_forked_child(look)
    shutil.rmtree(batch, ignore_errors=True)
    shutil.rmtree(install, ignore_errors=True)
    assert seen == {"workdir": str(workdir), "writable": True, "other_hidden": True, "install_visible": True}


# Learner code that answers with the token of the request in flight.
FORGE = "\n" + (Path(__file__).with_name("forge_token.py")).read_text() + "\n"


def test_forged_answers_with_the_right_token_are_still_bounded(zygote, demo_module, tmp_path):
    from mlcourse.exercises.engine import Exercise

    specs = [v.spec() for v in vars(demo_module).values() if isinstance(v, Exercise)]  # the child probes demo.double
    settings = session_settings(workdir=str(tmp_path), hide=[], exercises=specs)
    with Session(zygote, settings, LIMITS, time.monotonic() + 60) as s:
        s.start()
        # 20 MB as a cell's answer: refused by its size, the child stopped.
        reply = s.request({"op": "cell", "source": FORGE + "forge(b'{\"status\": \"ok\", \"x\": \"' + b'a' * 20_000_000 + b'\"}')"})
        assert reply.kind == "oversize" and "bytes" in reply.detail
    with Session(zygote, settings, LIMITS, time.monotonic() + 60) as s:
        s.start()
        # 300,000 empty lists as a probe's answer (900 kB): refused unparsed.
        s.request({"op": "cell", "source": FORGE + "def double(x):\n    forge(b'{\"probe\": [' + b'[],' * 300_000 + b'[]]}')"})
        reply = s.request({"op": "probe", "exercise": "demo.double", "inputs": [[3], [4]]})
        assert reply.kind == "oversize" and "lists and objects" in reply.detail


def test_the_child_has_its_own_ipc_uts_mount_net_and_pid_namespaces_and_session(session, child):
    if session.hello["isolation"] != "namespaces":
        pytest.skip("no namespaces here")
    kinds = ["ipc", "uts", "mnt", "net", "pid"]
    theirs = child.value(session, f"[__import__('os').readlink('/proc/self/ns/' + k) for k in {kinds!r}]")
    ours = [os.readlink(f"/proc/self/ns/{k}") for k in kinds]
    assert all(a != b for a, b in zip(theirs, ours)), (theirs, ours)
    # no controlling terminal, and a session that is not the grader's
    assert child.value(session, "int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[4])") == 0
    assert os.getsid(session.pid) == session.pid != os.getsid(0)


def test_the_seccomp_filter_refuses_what_a_notebook_never_needs_and_nothing_else(session, child):
    if not session.hello.get("seccomp"):
        pytest.skip(f"no seccomp filter here: {session.hello['problems']}")
    got = child.value(session, """(lambda ctypes, errno, os, threading: (
        lambda libc: {
            "clone3": (libc.syscall(435, 0, 0), errno.errorcode[ctypes.get_errno()]),
            "keyctl": (libc.syscall(250, 0, 0), errno.errorcode[ctypes.get_errno()]),
            "mount": (libc.mount(b"none", b"/tmp", b"tmpfs", 0, None), errno.errorcode[ctypes.get_errno()]),
            "thread": (lambda t: (t.start(), t.join(), "ok")[2])(threading.Thread(target=int)),
            "fork": (lambda pid: pid == 0 and os._exit(7) or os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))(os.fork()),
        })(ctypes.CDLL(None, use_errno=True)))(
        __import__('ctypes'), __import__('errno'), __import__('os'), __import__('threading'))""")
    assert got == {"clone3": [-1, "ENOSYS"], "keyctl": [-1, "EPERM"], "mount": [-1, "EPERM"], "thread": "ok", "fork": 7}


def test_the_scratch_space_counts_against_the_submissions_memory(zygote, demo_module, tmp_path):
    """tmpfs pages are charged to the cgroup that writes them: 600 MB of files
    in a 1 GB scratch space do not fit in a 384 MB submission."""
    from mlcourse.grading.cgroups import Cgroups

    cgs, why = Cgroups.create(384, 64)
    if cgs is None:
        pytest.skip(f"no cgroups here: {why}")
    cgroup = cgs.new()
    limits = Limits(cell_timeout=30, memory_mb=384, scratch_mb=1024)
    settings = session_settings(
        workdir=str(tmp_path), hide=[], cgroup=cgroup.procs
    )
    # files of 100 MB each, under the 256 MB file-size limit
    write = (
        "for n in range({n}):\n    with open(f'/tmp/{name}{{n}}', 'wb') as fh:\n"
        "        for _ in range(100):\n            fh.write(b'x' * 2**20)"
    )
    try:
        with Session(zygote, settings, limits, time.monotonic() + 60, cgroup) as s:
            s.start()
            assert s.hello["cgroup"] is True
            reply = s.request({"op": "cell", "source": write.format(name="small", n=1)})
            assert reply.message == {"status": "ok"}, (reply.kind, reply.detail)  # 100 MB fit
            reply = s.request({"op": "cell", "source": write.format(name="big", n=6)})
            assert reply.kind == "died" and "memory limit (384 MB)" in reply.detail, (reply.kind, reply.detail, reply.message)
        assert cgroup.oom_kills() >= 1
    finally:
        cgroup.close()
        cgs.close()


def test_without_namespaces_a_root_graders_child_is_nobody(zygote, demo_module, tmp_path, child):
    if os.geteuid() != 0:
        pytest.skip("only a root grader drops to nobody")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "gradebook.db").write_text("secret")
    work = tmp_path / "work"
    work.mkdir()
    tmp_path.chmod(0o711)
    settings = session_settings(
        workdir=str(work), hide=[], namespaces=False
    )
    with Session(zygote, settings, LIMITS, time.monotonic() + 60) as s:
        s.start()
        assert s.hello["isolation"] == "fallback" and s.hello["uid"] == 65534
        msg = child.run(s, f"open({str(private / 'gradebook.db')!r}).read()")
        assert msg["ename"] == "PermissionError"
        assert child.run(s, "open('mine.txt', 'w').write('x')")["status"] == "ok"  # its own folder is its own
        assert s.request({"op": "cell", "source": "import os\nassert os.getcwd() == " + repr(str(work))}).message["status"] == "ok"


def test_the_allow_list_is_the_python_installation_and_the_package_never_the_checkout(monkeypatch, tmp_path):
    import sys

    import mlcourse
    from mlcourse.grading import zygote

    borrowed = tmp_path / "other-env" / "site-packages"  # added to sys.path by a .pth file
    borrowed.mkdir(parents=True)
    checkout = Path(mlcourse.__file__).resolve().parents[1]  # where an editable install may point sys.path
    monkeypatch.setattr(sys, "path", [str(checkout), "", str(tmp_path), str(borrowed), *sys.path])
    allowed = zygote.allowed_paths()
    assert str(borrowed) in allowed and str(Path(mlcourse.__file__).resolve().parent) in allowed
    assert str(checkout) not in allowed and str(tmp_path) not in allowed and "" not in allowed
