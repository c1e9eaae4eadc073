"""`mlcourse start`, step 2: JupyterLab for every user.

The decision (:func:`mlcourse.launch.plan`) is tested for root and a normal
user with the uid as a parameter; then JupyterLab is started for real, once as
whoever runs the tests and once as an unprivileged user, each stopped at the
end of its test.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest

from mlcourse.cli import build_parser, main
from mlcourse.errors import CLIError
from mlcourse.launch import DEFAULT_PORT, plan, port_is_free

WS = Path("/work/ws")
LESSON = WS / "01_data.ipynb"


def free(host: str, port: int) -> bool:
    return True


def test_as_root_it_adds_allow_root_with_a_note():
    p = plan(WS, LESSON, uid=0, token="t", is_free=free)
    assert p.cmd.count("--allow-root") == 1
    assert p.notes == ["running as root (as in most containers): adding Jupyter's --allow-root"]


def test_as_a_normal_user_it_adds_nothing():
    p = plan(WS, LESSON, uid=1000, token="t", is_free=free)
    assert "--allow-root" not in p.cmd and p.notes == []


def test_allow_root_given_by_the_learner_is_not_repeated():
    p = plan(WS, LESSON, uid=0, extra=["--allow-root"], token="t", is_free=free)
    assert p.cmd.count("--allow-root") == 1 and p.notes == []
    p = plan(WS, LESSON, uid=1000, allow_root=True, token="t", is_free=free)
    assert p.cmd.count("--allow-root") == 1


def test_the_url_opens_the_lesson_with_the_token_which_stays_off_the_command_line():
    p = plan(WS, WS / "01_data (fresh 2026-12-04).ipynb", uid=1000, token="s3cret", is_free=free)
    assert p.url == f"http://localhost:{DEFAULT_PORT}/lab/tree/01_data%20%28fresh%202026-12-04%29.ipynb?token=s3cret"
    assert p.token == "s3cret" and not any("s3cret" in arg for arg in p.cmd)
    assert p.cmd[-1] == str(WS / "01_data (fresh 2026-12-04).ipynb")  # Jupyter's browser opens it too


def test_a_token_is_made_when_none_is_given(monkeypatch):
    monkeypatch.delenv("JUPYTER_TOKEN", raising=False)
    a, b = (plan(WS, LESSON, uid=1000, is_free=free) for _ in range(2))
    assert len(a.token) >= 24 and a.token != b.token and f"token={a.token}" in a.url


def test_jupyter_options_after_the_double_dash_pass_through_in_order():
    args = build_parser().parse_args(["start", "--no-launch", "--", "--port", "9000", "--ServerApp.base_url=/x/"])
    assert args.jupyter_args == ["--port", "9000", "--ServerApp.base_url=/x/"]
    p = plan(WS, LESSON, uid=1000, extra=args.jupyter_args, token="t", is_free=free)
    assert p.cmd[-3:] == ["--port", "9000", "--ServerApp.base_url=/x/"]
    assert p.port == 9000 and not any(a.startswith("--ServerApp.port=") for a in p.cmd)
    assert p.url.startswith("http://localhost:9000/")


def test_a_jupyter_option_without_the_double_dash_says_where_it_goes(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["start", "--ip", "0.0.0.0"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --ip" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["start", "--ip", "0.0.0.0"])
    assert "go after --, e.g. mlcourse start -- --ip 0.0.0.0" in capsys.readouterr().err


def test_the_port_given_twice_is_an_error():
    with pytest.raises(CLIError, match="given twice"):
        plan(WS, LESSON, uid=1000, port=9000, extra=["--port=9001"], token="t", is_free=free)
    with pytest.raises(CLIError, match="from 1 to 65535"):
        plan(WS, LESSON, uid=1000, extra=["--port=nine"], token="t", is_free=free)


def test_a_busy_default_port_moves_on_and_says_so():
    p = plan(WS, LESSON, uid=1000, token="t", is_free=lambda host, port: port > DEFAULT_PORT + 1)
    assert p.port == DEFAULT_PORT + 2 and f"--ServerApp.port={DEFAULT_PORT + 2}" in p.cmd
    assert p.notes == [f"port {DEFAULT_PORT} is in use (another JupyterLab?): using {DEFAULT_PORT + 2}"]
    # Jupyter must not hop to yet another port: the URL printed would be wrong.
    assert "--ServerApp.port_retries=0" in p.cmd


def test_a_busy_chosen_port_says_what_to_do():
    with pytest.raises(CLIError) as err:
        plan(WS, LESSON, uid=1000, port=9000, token="t", is_free=lambda host, port: port != 9000)
    assert "port 9000 is in use" in str(err.value) and "mlcourse start --port 9001" in str(err.value)
    with pytest.raises(CLIError, match="no free port from 8888 to 8937"):
        plan(WS, LESSON, uid=1000, token="t", is_free=lambda host, port: False)


def test_no_browser_prints_the_url_and_the_ssh_tunnel():
    p = plan(WS, LESSON, uid=1000, port=9123, open_browser=False, token="t", is_free=free)
    assert "--no-browser" in p.cmd
    text = "\n".join(p.how_to_open())
    assert p.url in text and "ssh -N -L 9123:localhost:9123 " in text


def test_without_a_display_no_browser_is_tried():
    p = plan(WS, LESSON, uid=1000, has_display=False, token="t", is_free=free)
    assert "--no-browser" in p.cmd and not p.open_browser
    assert any("no display" in n for n in p.notes)
    p = plan(WS, LESSON, uid=1000, has_display=True, token="t", is_free=free)
    assert "--no-browser" not in p.cmd and "ssh" not in "\n".join(p.how_to_open())


def test_listening_everywhere_still_prints_a_url_that_works_here():
    p = plan(WS, LESSON, uid=1000, extra=["--ip=0.0.0.0"], token="t", is_free=free)
    assert p.url.startswith(f"http://localhost:{DEFAULT_PORT}/") and p.connect_host == "127.0.0.1"
    assert any("every interface" in n for n in p.notes)


def test_port_is_free_sees_a_listening_socket():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_is_free("localhost", port)
    assert port_is_free("localhost", port)


# ----------------------------------------------------------------------------
# Real runs: JupyterLab started by `mlcourse start`, then stopped.
# ----------------------------------------------------------------------------
def _ephemeral_port() -> int:
    # The OS picks a port nobody uses, so parallel test runs do not collide.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_and_open(cmd: list[str], env: dict, cwd: Path) -> tuple[str, str]:
    """Run `mlcourse start`, wait for its URL, fetch the lesson there, stop it.

    Returns what it printed before the URL and the lesson's name as JupyterLab
    served it.
    """
    log = (cwd / "jupyter.log").open("w+")  # Jupyter's chatter; a full pipe would block it
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
        text=True, start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    printed: list[str] = []
    try:
        url = None
        while not printed or "Ctrl+C" not in printed[-1]:  # the end of what it prints once ready
            line = lines.get(timeout=180)  # a bound against a hang, not a speed check
            assert line is not None, "mlcourse start ended early:\n" + "".join(printed) + (cwd / "jupyter.log").read_text()
            printed.append(line)
            if "token=" in line and url is None:
                url = line.strip()
        with urllib.request.urlopen(url, timeout=60) as page:
            assert page.status == 200 and "JupyterLab" in page.read().decode()
        lesson = url.split("/lab/tree/", 1)[1].split("?", 1)[0]
        token = url.split("token=", 1)[1]
        api = url.split("/lab/", 1)[0] + f"/api/contents/{lesson}?content=0&token={token}"
        with urllib.request.urlopen(api, timeout=60) as reply:
            served = json.loads(reply.read())["name"]
        return "".join(printed), served
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _env(home: Path) -> dict:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH")}
    return {**keep, "HOME": str(home), "MLCOURSE_HOME": str(home / "mlcourse-home")}


def test_start_really_serves_the_first_lesson_as_this_user(tmp_path):
    port = _ephemeral_port()
    cmd = [sys.executable, "-m", "mlcourse", "start", "--dir", str(tmp_path / "w"), "--no-browser", "--port", str(port)]
    printed, served = _start_and_open(cmd, _env(tmp_path), tmp_path)
    assert served == "00_lifecycle_overview.ipynb"
    assert f"ssh -N -L {port}:localhost:{port}" in printed
    assert ("adding Jupyter's --allow-root" in printed) == (os.geteuid() == 0)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("setpriv"),
    reason="needs root (and util-linux's setpriv) to run as another user; as non-root the test above is the normal-user run",
)
def test_start_really_serves_the_first_lesson_as_an_unprivileged_user():
    import pwd

    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="mlcourse-nobody-"))
    try:
        os.chown(base, nobody.pw_uid, nobody.pw_gid)
        port = _ephemeral_port()
        # The interpreter may live under /root (pyenv), which only root can
        # enter: the user keeps the capability to read files, nothing more.
        # Jupyter and mlcourse see an ordinary uid.
        cmd = [
            "setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
            sys.executable, "-m", "mlcourse", "start", "--dir", str(base / "w"), "--no-browser", "--port", str(port),
        ]
        printed, served = _start_and_open(cmd, _env(base), base)
        assert served == "00_lifecycle_overview.ipynb"
        assert "--allow-root" not in printed
        assert (base / "w" / "01_data.ipynb").stat().st_uid == nobody.pw_uid
    finally:
        shutil.rmtree(base, ignore_errors=True)
