"""Browser end-to-end tests: the lessons as a learner meets them, in JupyterLab.

Each test module gets its own JupyterLab server (127.0.0.1, a random port and
token, ``--allow-root``, ``--ServerApp.port_retries=0`` so a busy port fails
loudly) over a temporary copy of the lessons, with its own ``$MLCOURSE_HOME``,
Jupyter config/data/runtime folders and a JupyterLab settings folder that turns
off the news notification. The server gets the parent-death signal, so it dies
with pytest whatever happens to pytest.

One headless Chromium, Debian's ``/usr/bin/chromium`` (never a downloaded
browser), is driven through Python Playwright and shared by the whole session.

Without Chromium the e2e tests FAIL (they never skip silently) with a message
saying how to install it; ``scripts/ensure-chromium`` (run by the README's test
command) installs it with apt-get when it can. To leave the browser tests out
on purpose, deselect them explicitly: ``pytest -m "not e2e"``.

Screenshots: one per notebook test that fails, taken when it fails, kept in a
``mlcourse-e2e-screenshots-*`` folder of the system's temporary directory and
its path printed in the failure report and the summary
(``MLCOURSE_E2E_SCREENSHOTS=all``: of the passing tests too).
``MLCOURSE_LESSON_SCREENSHOT=docs/jupyterlab-lesson.png`` additionally writes
the README's small screenshot of a lesson (see test_learner_notebooks.py).
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MLCOURSE_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
]
VIEWPORT = {"width": 1280, "height": 800}
# Playwright's own default for expect() is 5 s: far too short for a kernel
# start or a lesson's Run All on a 2-core machine.
EXPECT_TIMEOUT_MS = 60_000
RUN_ALL_TIMEOUT_MS = 300_000
AFTER_RUN_TIMEOUT_MS = 5_000
SERVER_START_TIMEOUT_S = 90

NO_CHROMIUM = (
    f"Browser end-to-end tests need Debian's Chromium at {CHROMIUM}, which is missing. "
    "Install it with `apt-get update && apt-get install -y chromium` (as root; "
    "the README's test command does this through scripts/ensure-chromium), "
    "or deselect these tests explicitly with `pytest -m \"not e2e\"`."
)

# JupyterLab user settings for the tests: no news or update checks (the
# notification asking about news would cover the page). The notebook keeps
# JupyterLab's default windowing, as learners have it ("contentVisibility":
# every cell stays in the DOM, off-screen ones are not painted), so the tests
# read text with textContent: innerText is empty for unpainted cells.
# ("none", painting every cell, made Run All about twice as slow.)
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {
        "enabled": False,
    },
    # The copies stay as copied: nothing rewrites the lessons behind the tests.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
        "autosave": False,
    },
}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


# --------------------------------------------------------------------------
# Screenshots of failed tests
# --------------------------------------------------------------------------
_KEPT: list[Path] = []
_SHOTS: list[Path] = []


def _screenshot_dir() -> Path:
    """A folder of this session's kept screenshots, made on first use.

    Outside pytest's numbered temporary folders on purpose: pytest keeps only
    the last three of those, so another pytest run (on a shared machine) would
    soon delete the very screenshot a failure report points at.
    """
    if not _SHOTS:
        _SHOTS.append(Path(tempfile.mkdtemp(prefix=f"mlcourse-e2e-screenshots-{time.strftime('%Y%m%d-%H%M%S')}-")))
    return _SHOTS[0]


# MLCOURSE_E2E_SCREENSHOTS=all keeps the screenshots of passing tests too.
KEEP_ALL_SCREENSHOTS = os.environ.get("MLCOURSE_E2E_SCREENSHOTS") == "all"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item._e2e_report = report
    lab_page = getattr(item, "_e2e_lab_page", None)
    if lab_page is not None and report.when == "call" and (report.failed or KEEP_ALL_SCREENSHOTS):
        shot = _screenshot_dir() / lab_page.screenshot_name
        try:
            if report.failed:
                lab_page.show_trouble()
            lab_page.page.screenshot(path=str(shot))
        except Exception as exc:  # the page may be gone; the report still says so
            report.sections.append(("e2e screenshot", f"could not take one: {exc}"))
        else:
            if report.failed:
                _KEPT.append(shot)
            report.sections.append(("e2e screenshot", f"kept at {shot}"))


def pytest_terminal_summary(terminalreporter):
    if _KEPT:
        terminalreporter.section("e2e screenshots of failed tests")
        for shot in _KEPT:
            terminalreporter.write_line(str(shot))


# --------------------------------------------------------------------------
# The JupyterLab server
# --------------------------------------------------------------------------
def _die_with_parent() -> None:
    """preexec_fn: SIGTERM this child when the process that started it dies."""
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    home: Path
    process: subprocess.Popen
    log: Path
    notebooks: dict[str, dict]
    context: object = None
    page: object = None
    cleanups: list = field(default_factory=list)

    def api(self, method: str, path: str) -> object:
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def lab_page(self):
        """The JupyterLab page shared by this server's tests, opened on first use."""
        from playwright.sync_api import expect

        if self.page is None:
            page = self.context.new_page()
            page.goto(f"{self.url}/lab?reset&token={self.token}")
            expect(page.locator(".jp-DirListing-item").first).to_be_visible()
            self.page = page
        return self.page

    def discard_page(self) -> None:
        if self.page is not None:
            self.page.close(run_before_unload=False)
            self.page = None
        self.shutdown_kernels()

    def shutdown_kernels(self) -> None:
        """Shut down every kernel, in the background: the next test need not wait."""

        def shutdown() -> None:
            try:
                for kernel in self.api("GET", "/api/kernels"):
                    self.api("DELETE", f"/api/kernels/{kernel['id']}")
            except (urllib.error.URLError, OSError):
                pass  # the server is going away anyway

        thread = threading.Thread(target=shutdown, daemon=True)
        thread.start()
        self.cleanups.append(thread)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _copy_notebook(source: Path, target: Path) -> dict:
    """Copy a lesson and return its parsed JSON, the copy's cells being the truth.

    Others may be rewriting a lesson (``mlcourse release``) while the tests
    start: a copy that is not a whole notebook yet is taken again.
    """
    for _ in range(20):
        data = source.read_bytes()
        try:
            nb = json.loads(data)
            if isinstance(nb, dict) and isinstance(nb.get("cells"), list):
                target.write_bytes(data)
                shutil.copystat(source, target)
                return nb
        except ValueError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{source} is not a readable notebook (read 20 times over 10 s)", pytrace=False)


def start_lab(base: Path, lessons: list[Path]) -> LabServer:
    """JupyterLab over a temporary copy of ``lessons``, in a temporary world."""
    root = base / "lab"
    root.mkdir(parents=True)
    notebooks = {}
    for nb in lessons:
        notebooks[nb.name] = _copy_notebook(nb, root / nb.name)
    settings = base / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    home = base / "mlcourse-home"
    env = {
        **os.environ,
        "MLCOURSE_HOME": str(home),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "lab-workspaces"),
        "JUPYTER_CONFIG_DIR": str(base / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(base / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
        "IPYTHONDIR": str(base / "ipython"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONUNBUFFERED": "1",
    }
    token = secrets.token_hex(24)
    port = _free_port()
    log = base / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--ServerApp.terminals_enabled=False",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, home, process, log, notebooks)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode} at start:\n{server.log_tail()}", pytrace=False)
        try:
            server.api("GET", "/api/status")
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                server.stop()
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S} s:\n{server.log_tail()}", pytrace=False)
            time.sleep(0.25)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session, driven by Playwright."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(NO_CHROMIUM, pytrace=False)
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail("Python Playwright is missing: install the test extra, `pip install -e '.[test]'`.", pytrace=False)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:
        pw.stop()
        pytest.fail(f"Could not launch {CHROMIUM} through Playwright: {exc}", pytrace=False)
    yield browser
    browser.close()
    pw.stop()


def _lab_fixture(kind: str):
    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory, browser):
        lessons = sorted((ROOT / kind).glob("*.ipynb"))
        server = start_lab(tmp_path_factory.mktemp(f"e2e-{kind}"), lessons)
        # One browser context per server: each test gets a fresh page, while
        # JupyterLab's scripts stay in the context's cache between tests.
        server.context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        server.context.set_default_timeout(EXPECT_TIMEOUT_MS)
        yield server
        server.context.close()
        for thread in server.cleanups:
            thread.join(timeout=30)
        server.stop()

    return fixture


learner_lab = _lab_fixture("notebooks")
solutions_lab = _lab_fixture("solutions")


# --------------------------------------------------------------------------
# A notebook in the browser
# --------------------------------------------------------------------------
@dataclass
class LabPage:
    """One page of JupyterLab, showing one notebook."""

    page: object
    server: LabServer
    name: str
    screenshot_name: str
    cells: list[dict] = field(default_factory=list)
    kernel_idle: object = None
    focus: int | None = None  # the cell an assertion is looking at

    @property
    def notebook(self):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first

    def open(self) -> None:
        from playwright.sync_api import expect

        nb = self.server.notebooks[self.name]
        self.cells = nb["cells"]
        kernel = nb["metadata"]["kernelspec"]["display_name"]
        # As a learner does: double-click the lesson in the file browser.
        self.page.locator(".jp-DirListing-item", has_text=self.name).dblclick()
        expect(self.page.get_by_role("tab", name=self.name)).to_be_visible()
        expect(self.notebook.locator(".jp-Cell")).to_have_count(len(self.cells))
        # The kernel is really there once the status bar reads
        # "<kernel> | Idle"; before, it says "No Kernel" or "Starting".
        status = self.page.locator("#jp-main-statusbar").get_by_text(f"{kernel} | Idle", exact=True)
        expect(status).to_be_visible()
        self.kernel_idle = status

    def close_and_shut_down(self) -> None:
        """File > Close and Shut Down Notebook…, confirmed: the page is ready for the next lesson."""
        from playwright.sync_api import expect

        self.menu("File", "Close and Shut Down Notebook…")
        self.page.locator(".jp-Dialog .jp-mod-warn").click()
        expect(self.page.get_by_role("tab", name=self.name)).to_have_count(0)

    def menu(self, menu: str, item: str) -> None:
        self.page.locator("#jp-menu-panel").get_by_role("menuitem", name=menu, exact=True).click()
        # The item's exact label, then at most its keyboard shortcut: "Run All
        # Cells" must not match "Restart Kernel and Run All Cells…".
        label = re.compile(rf"^{re.escape(item)}(\s+\S.*)?$")
        self.page.locator(".lm-Menu").get_by_role("menuitem", name=label).click()

    def run_all(self) -> None:
        """Clear stored outputs, Run All, and wait until every code cell ran or one failed."""
        from playwright.sync_api import expect

        self.notebook.click(position={"x": 5, "y": 5})
        self.menu("Edit", "Clear Outputs of All Cells")
        expect(self.notebook.locator(".jp-OutputArea-output")).to_have_count(0)
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(
            """(nb) => {
                const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                    .map(p => p.textContent.trim());
                if (prompts.some(p => p.includes('*'))) return false;
                const errors = nb.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
                return prompts.every(p => /^\\[\\d+\\]:$/.test(p)) || [...errors].some(e => e.textContent.includes('Traceback'));
            }""",
            arg=self.notebook.element_handle(),
            timeout=RUN_ALL_TIMEOUT_MS,
            polling=250,
        )
        expect(self.kernel_idle).to_be_visible()

    def cell(self, index: int):
        return self.notebook.locator(".jp-Cell").nth(index)

    def outputs_text(self, index: int) -> str:
        return "\n".join(self.cell(index).locator(".jp-OutputArea-output").all_text_contents())

    def code_prompts(self) -> list[str]:
        return [p.strip() for p in self.notebook.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents()]

    def tracebacks(self) -> list[tuple[int, str]]:
        """(cell index, text) of every output that shows a Python traceback."""
        found = []
        for i, cell in enumerate(self.cells):
            if cell["cell_type"] != "code":
                continue
            text = self.outputs_text(i)
            if re.search(r"Traceback \(most recent call last\)|^-{20,}\n\w+(Error|Exception)", text, re.M):
                found.append((i, text))
        return found

    def check_cells(self) -> list[tuple[int, str]]:
        """(cell index, exercise id) of every check cell, from the notebook file."""
        return [
            (i, c["metadata"]["mlcourse"]["check"])
            for i, c in enumerate(self.cells)
            if isinstance(c.get("metadata", {}).get("mlcourse"), dict) and "check" in c["metadata"]["mlcourse"]
        ]

    def feedback(self, index: int):
        """The rendered feedback card (``check()``, ``hint()``...) in a cell's output."""
        return self.cell(index).locator(".jp-OutputArea-output .mlcourse-feedback").first

    def expect_check(self, index: int, exercise: str, status: str, timeout: int = AFTER_RUN_TIMEOUT_MS):
        """The check cell shows the rendered card of ``exercise`` with ``status``; returns the card."""
        from playwright.sync_api import expect

        self.focus = index
        card = self.feedback(index)
        # Run All has finished: what is there now is final, no need to wait long.
        expect(card).to_be_visible(timeout=timeout)
        expect(card).to_have_attribute("data-status", status, timeout=timeout)
        expect(card.locator("code").first).to_have_text(exercise, timeout=timeout)
        expect(card.locator(".mlcourse-badge").first).to_have_text(status, timeout=timeout)
        return card

    def expect_every_check(self, status: str) -> list[tuple[int, str]]:
        """Run All reached the end, and every check cell shows its exercise's card with ``status``.

        Returns the check cells, as :meth:`check_cells` does.
        """
        prompts = self.code_prompts()
        assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"Run All did not reach the end: {prompts}"
        checks = self.check_cells()
        assert checks, f"{self.name} has no check cell"
        for index, exercise in checks:
            self.expect_check(index, exercise, status)
        return checks

    def index_of(self, exercise: str, kind: str = "exercise") -> int:
        """The index of the answer cell (``kind="exercise"``) or check cell (``"check"``) of an exercise."""
        for i, c in enumerate(self.cells):
            meta = c.get("metadata", {}).get("mlcourse")
            if isinstance(meta, dict) and meta.get(kind) == exercise:
                return i
        raise LookupError(f"{self.name} has no {kind} cell for {exercise}")

    def set_source(self, index: int, text: str) -> None:
        """Replace a code cell's text, as typing it would (inserted whole: no auto-closed brackets)."""
        editor = self.cell(index).locator(".cm-content").first
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")  # back to command mode, the cell still selected

    def run_cell(self, index: int) -> int:
        """Run one cell (Ctrl+Enter), wait until it has finished, and return its execution count.

        The prompt may read the same number before and after (a restarted
        kernel counts from 1 again), so what is awaited is a change of the
        prompt after the keypress, ending in a number.
        """
        prompt = self.cell(index).locator(".jp-InputArea-prompt").first
        handle = prompt.element_handle()
        prompt.click()
        self.page.evaluate(
            """(el) => {
                el.__mlcourseRan = false;
                new MutationObserver(() => { el.__mlcourseRan = true; })
                    .observe(el, {childList: true, characterData: true, subtree: true});
            }""",
            handle,
        )
        self.page.keyboard.press("Control+Enter")
        self.page.wait_for_function(
            r"(el) => el.__mlcourseRan && /^\[\d+\]:$/.test(el.textContent.trim())",
            arg=handle,
            timeout=EXPECT_TIMEOUT_MS,
            polling=100,
        )
        return int(re.search(r"\d+", prompt.text_content()).group())

    def restart_kernel(self) -> None:
        """Kernel > Restart Kernel..., confirmed, as a learner does; returns once the kernel is idle again."""
        from playwright.sync_api import expect

        self.menu("Kernel", "Restart Kernel…")
        self.page.locator(".jp-Dialog").get_by_role("button", name="Confirm Kernel Restart").click()
        expect(self.page.locator(".jp-Dialog")).to_have_count(0)
        expect(self.kernel_idle).to_be_visible()

    def cells_screenshot(self, target: Path, first: int, last: int) -> None:
        """A picture of cells ``first``..``last`` (the README's pictures of a check), small PNG."""
        from PIL import Image

        self.page.mouse.move(0, 0)
        self.cell(first).scroll_into_view_if_needed()
        self.page.evaluate(
            """([nb, i]) => nb.querySelectorAll('.jp-Cell')[i].scrollIntoView({block: 'start'})""",
            [self.notebook.element_handle(), first],
        )
        self.page.wait_for_timeout(300)
        top, bottom = self.cell(first).bounding_box(), self.cell(last).bounding_box()
        clip = {"x": top["x"], "y": top["y"], "width": max(top["width"], bottom["width"]),
                "height": bottom["y"] + bottom["height"] - top["y"]}
        raw = target.with_suffix(".raw.png")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(raw), clip=clip)
        Image.open(raw).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            target, optimize=True
        )
        raw.unlink()
        print(f"check screenshot: {target} ({target.stat().st_size // 1024} KiB)")

    def show_trouble(self) -> None:
        """Scroll the first traceback, or else the cell being checked, into view."""
        self.page.evaluate(
            """([nb, focus]) => {
                if (!nb) return;
                const tracebacks = [...nb.querySelectorAll('.jp-OutputArea-output')]
                    .filter(o => o.textContent.includes('Traceback'));
                const target = tracebacks[0] || (focus === null ? null : nb.querySelectorAll('.jp-Cell')[focus]);
                if (target) target.scrollIntoView({block: 'center'});
            }""",
            [self.notebook.element_handle(timeout=AFTER_RUN_TIMEOUT_MS), self.focus],
        )

    def lesson_screenshot(self, target: Path, cell_index: int) -> None:
        """The README's picture of a lesson: 1280x800, a check cell in view, small PNG."""
        from PIL import Image

        self.page.mouse.move(0, 0)
        self.page.evaluate(
            """([nb, i]) => {
                const cell = nb.querySelectorAll('.jp-Cell')[i];
                cell.scrollIntoView({block: 'center'});
            }""",
            [self.notebook.element_handle(), cell_index],
        )
        self.page.wait_for_timeout(500)
        raw = target.with_suffix(".raw.png")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(raw))
        image = Image.open(raw).convert("RGB")
        # A few colours are all JupyterLab's flat UI needs; text stays sharp.
        image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            target, optimize=True
        )
        raw.unlink()
        print(f"lesson screenshot: {target} ({target.stat().st_size // 1024} KiB)")


def _notebook_page_fixture(server_fixture: str):
    @pytest.fixture
    def fixture(request):
        server = request.getfixturevalue(server_fixture)
        name = request.param.name
        kind = server_fixture.removesuffix("_lab")
        page = server.lab_page()
        lab_page = LabPage(page, server, name, f"{kind}-{Path(name).stem}.png")
        request.node._e2e_lab_page = lab_page  # for the screenshot of a failure
        yield lab_page
        report = getattr(request.node, "_e2e_report", None)
        if report is not None and report.passed:
            try:
                lab_page.close_and_shut_down()
                return
            except Exception:
                pass
        # After a failure, start the next test on a fresh page.
        server.discard_page()

    return fixture


learner_page = _notebook_page_fixture("learner_lab")
solution_page = _notebook_page_fixture("solutions_lab")

