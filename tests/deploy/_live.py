"""Helpers for tests against a real `mlcourse serve` process on 127.0.0.1 (not a test module)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(condition: Callable[[], object], seconds: float = 60.0, what: str = "the condition") -> object:
    """Poll ``condition`` until it is truthy; fail (not a timing assertion: a bound on a wait) after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:g} s")
        time.sleep(0.05)


class Server:
    """`python -m mlcourse serve ARGS` in its own process, its output in a file."""

    def __init__(self, args: list[str], *, home: Path, env: dict[str, str] | None = None,
                 preexec_fn: Callable[[], None] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = Path(tempfile.mkstemp(prefix="mlcourse-serve-", suffix=".log")[1])
        environ = {**os.environ, "MLCOURSE_HOME": str(home), "PYTHONPATH": str(HERE), **(env or {})}
        self._fh = open(self.out, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlcourse", "serve", "--port", str(self.port), *args],
            stdout=self._fh, stderr=subprocess.STDOUT, env=environ, preexec_fn=preexec_fn,
        )
        self.http = httpx.Client(base_url=self.url, timeout=30)

    @property
    def output(self) -> str:
        return self.out.read_text()

    def wait_ready(self, seconds: float = 120.0) -> Server:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"mlcourse serve exited with {self.proc.returncode}:\n{self.output}")
            try:
                return self.http.get("/ready", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        until(ready, seconds, "the server becoming ready")
        return self

    def health(self) -> dict:
        return self.http.get("/health").json()

    def stop(self) -> int:
        """Ctrl-C, as a person would; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
                self.proc.kill()
                self.proc.wait()
        self.close()
        return self.proc.returncode

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.close()

    def close(self) -> None:
        self.http.close()
        self._fh.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close()
