"""``mlcourse start``, step 2: JupyterLab on the workspace, for every user.

Step 1 (:mod:`mlcourse.workspace`) has copied the lessons and chosen the one
to open. :func:`plan` decides how to start JupyterLab from plain facts (the
user id, which ports are free, whether there is a display, the learner's own
Jupyter options), so every case is tested without starting a server;
:func:`run` starts it, waits until it answers and prints the URL to open.

* **root** (containers, many cloud notebooks): Jupyter refuses to run as root
  unless told ``--allow-root``; we add it, with a one-line note.
* **the port**: the one asked for (``--port N``, or ``-- --port N``) must be
  free, or we say what to do; by default the first free one from 8888 on.
  Jupyter's own port hopping is turned off, so the URL we print is right.
* **the URL** opens the lesson. Its token is made here so the whole URL can be
  printed; Jupyter gets it in its environment (``JUPYTER_TOKEN``), not on the
  command line, where other users of a shared machine could read it.
* **no browser** (``--no-browser``, or no display: a remote machine): print the
  URL and the SSH command that forwards the port from the learner's computer.
* anything after ``--`` goes to Jupyter unchanged.
"""
from __future__ import annotations

import getpass
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from mlcourse.errors import CLIError

DEFAULT_PORT = 8888  # Jupyter's own default, so habits and firewall rules carry over
PORT_TRIES = 50
_ALL_INTERFACES = ("0.0.0.0", "::", "*", "")


@dataclass
class Plan:
    """How JupyterLab will be started, and what to tell the learner."""

    cmd: list[str]
    token: str  # given to Jupyter as JUPYTER_TOKEN
    url: str
    port: int
    connect_host: str  # where to check that the server answers
    open_browser: bool
    notes: list[str] = field(default_factory=list)

    def how_to_open(self) -> list[str]:
        """The lines that tell the learner where the course is."""
        lines = ["JupyterLab is ready. Open this URL in your browser:", f"    {self.url}"]
        if not self.open_browser:
            lines += [
                "On a remote machine (SSH), first forward the port, from a terminal on your own computer:",
                f"    ssh -N -L {self.port}:localhost:{self.port} {_login()}",
                "  (use the address you normally ssh to), then open the URL above there.",
            ]
        lines.append("Stop JupyterLab with Ctrl+C here.")
        return lines


def _login() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (some containers)
        user = "USER"
    # gethostname, not getfqdn: a DNS lookup could hang here.
    return f"{user}@{socket.gethostname()}"


def _option(extra: Sequence[str], *names: str) -> str | None:
    """The value Jupyter would see for an option (``--name=value`` or ``--name value``).

    Examples
    --------
    >>> _option(["--port", "9000", "--ip=0.0.0.0"], "--port"), _option(["--ip=0.0.0.0"], "--ip")
    ('9000', '0.0.0.0')
    """
    value = None
    for i, arg in enumerate(extra):
        for name in names:
            if arg == name and i + 1 < len(extra):
                value = extra[i + 1]
            elif arg.startswith(name + "="):
                value = arg.split("=", 1)[1]
    return value


def _flag(extra: Sequence[str], flag: str, trait: str, value: str) -> bool:
    return flag in extra or f"{trait}={value}" in extra


def port_is_free(host: str, port: int) -> bool:
    """Whether Jupyter could listen on ``port``: the same test it makes itself."""
    from tornado.netutil import bind_sockets  # Jupyter's own server library

    try:
        sockets = bind_sockets(port, host or None)
    except OSError:
        return False
    for s in sockets:
        s.close()
    return True


def has_display() -> bool:
    """Whether a browser can open here (macOS, Windows, or a desktop session)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"))


def _port(text: str, where: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise CLIError(f"{where}: the port must be a number from 1 to 65535, not {text!r}") from None
    if not 1 <= port <= 65535:
        raise CLIError(f"{where}: the port must be from 1 to 65535, not {port}")
    return port


def plan(
    workspace: Path,
    lesson: Path | None,
    *,
    uid: int,
    port: int | None = None,
    extra: Sequence[str] = (),
    open_browser: bool = True,
    allow_root: bool = False,
    has_display: bool = True,
    token: str | None = None,
    is_free: Callable[[str, int], bool] = port_is_free,
    python: str = sys.executable,
) -> Plan:
    """Decide how to start JupyterLab on ``workspace``, opening ``lesson``.

    Examples
    --------
    >>> p = plan(Path("/w"), Path("/w/01_data.ipynb"), uid=0, token="t", is_free=lambda host, port: port != 8888)
    >>> p.notes
    ["running as root (as in most containers): adding Jupyter's --allow-root", 'port 8888 is in use (another JupyterLab?): using 8889']
    >>> p.url
    'http://localhost:8889/lab/tree/01_data.ipynb?token=t'
    >>> "--allow-root" in plan(Path("/w"), None, uid=1000, token="t", is_free=lambda h, p: True).cmd
    False
    """
    extra = list(extra)
    notes: list[str] = []
    token = _option(extra, "--IdentityProvider.token", "--ServerApp.token") or token
    token = token or os.environ.get("JUPYTER_TOKEN") or secrets.token_urlsafe(24)
    ip = _option(extra, "--ip", "--ServerApp.ip")
    host = "localhost" if ip is None else ip
    cmd = [python, "-m", "jupyterlab", f"--ServerApp.root_dir={workspace}"]

    if not _flag(extra, "--allow-root", "--ServerApp.allow_root", "True"):
        if uid == 0:
            notes.append("running as root (as in most containers): adding Jupyter's --allow-root")
            cmd.append("--allow-root")
        elif allow_root:
            cmd.append("--allow-root")

    extra_port = _option(extra, "--port", "--ServerApp.port")
    if port is not None and extra_port is not None:
        raise CLIError("the port is given twice (--port and after --); give it once")
    if extra_port is not None:
        port = _port(extra_port, "after --")
    elif port is not None:
        port = _port(str(port), "--port")
    if port is not None:
        if not is_free(host, port):
            raise CLIError(
                f"port {port} is in use (another JupyterLab? `jupyter server list` shows yours); "
                f"choose another, e.g. `mlcourse start --port {port + 1 if port < 65535 else DEFAULT_PORT}`, "
                f"or leave out the port to take the first free one from {DEFAULT_PORT}"
            )
    else:
        port = next((p for p in range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES) if is_free(host, p)), None)
        if port is None:
            raise CLIError(
                f"no free port from {DEFAULT_PORT} to {DEFAULT_PORT + PORT_TRIES - 1}; "
                "stop some JupyterLab servers (`jupyter server list`) or choose a port: mlcourse start --port N"
            )
        if port != DEFAULT_PORT:
            notes.append(f"port {DEFAULT_PORT} is in use (another JupyterLab?): using {port}")
    if extra_port is None:
        cmd.append(f"--ServerApp.port={port}")
    if _option(extra, "--port-retries", "--ServerApp.port_retries") is None:
        cmd.append("--ServerApp.port_retries=0")

    if _flag(extra, "--no-browser", "--ServerApp.open_browser", "False"):
        open_browser = False
    elif open_browser and not has_display:
        notes.append("no display here (a remote machine or a container?): not opening a browser")
        open_browser = False
    if not open_browser and "--no-browser" not in extra:
        cmd.append("--no-browser")

    path = "/lab"
    if lesson is not None:
        cmd.append(str(lesson))  # Jupyter opens it in the browser it starts
        path = "/lab/tree/" + quote(lesson.relative_to(workspace).as_posix())
    cmd += extra
    url_host = "localhost" if host in _ALL_INTERFACES or host == "localhost" else (f"[{host}]" if ":" in host else host)
    if host in _ALL_INTERFACES:
        notes.append(f"listening on every interface: this machine's address works too, e.g. http://{socket.gethostname()}:{port}")
    url = f"http://{url_host}:{port}{path}?token={quote(token)}"
    connect = "127.0.0.1" if host in _ALL_INTERFACES or host == "localhost" else host
    return Plan(cmd=cmd, token=token, url=url, port=port, connect_host=connect, open_browser=open_browser, notes=notes)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def run(p: Plan) -> int:
    """Start JupyterLab as planned; print the URL once it answers; wait for it to stop."""
    for note in p.notes:
        print(f"note: {note}")
    print(f"Starting JupyterLab on port {p.port}...", flush=True)
    env = {**os.environ, "JUPYTER_TOKEN": p.token}
    try:
        proc = subprocess.Popen(p.cmd, env=env)
    except OSError as exc:
        raise CLIError(f"cannot start JupyterLab ({p.cmd[0]}): {exc.strerror or exc}") from None
    # `kill` of this process stops JupyterLab too, rather than orphaning it.
    try:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.poll() is None and proc.send_signal(signum))
    except ValueError:  # not the main thread: nothing to forward from
        previous = None
    announced = False
    try:
        while True:
            try:
                if not announced:
                    # Polled rather than read from Jupyter's log, whose wording changes.
                    while proc.poll() is None and not _answers(p.connect_host, p.port):
                        time.sleep(0.2)
                    if proc.poll() is None:
                        print("\n" + "\n".join(p.how_to_open()) + "\n", flush=True)
                    announced = True
                code = proc.wait()
                break
            except KeyboardInterrupt:
                # Ctrl+C reached Jupyter too: it asks to confirm, or stops on a
                # second Ctrl+C. Keep waiting so the terminal is returned cleanly.
                announced = True
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if code not in (0, -2, 130):
        print(f"mlcourse start: JupyterLab stopped with exit status {code}; its messages are above", file=sys.stderr)
    return 0 if code in (0, -2, 130) else 1
