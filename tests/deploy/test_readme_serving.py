"""The README's serving examples, run as printed on a fresh install: `mlcourse serve` and its curl line, and the
canary sequence (`mlcourse registry train --alias candidate`, then `mlcourse serve --candidate candidate --canary 0.1`).

The README's commands use port 8000, which another program may hold on a shared machine: each run happens in a
private network namespace (`unshare --net`, as root does in CI), where 127.0.0.1:8000 is its own.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _serving_section() -> str:
    text = README.read_text()
    return text[text.index("## Serving\n"):text.index("## Monitoring\n")]


def _blocks(section: str) -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _can_unshare(), reason="needs root and unshare --net (CI runs as root)")


def _run_in_private_network(script: str, home: Path, work: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLCOURSE_HOME": str(home), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    wrapper = "set -e\nip link set lo up\n" + script
    return subprocess.run(["unshare", "--net", "bash", "-c", wrapper], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)


_SERVE_AND_ASK = """
{serve} > serve.log 2>&1 &
server=$!
for i in $(seq 1 900); do curl -sf http://127.0.0.1:8000/ready > /dev/null && break; sleep 0.2; done
{curl} > answer.json
kill -INT $server
wait $server
"""


def test_the_readme_curl_example_works_as_printed(tmp_path) -> None:
    blocks = _blocks(_serving_section())
    serve, curl = blocks[0], blocks[1]
    assert serve == "mlcourse serve" and curl.startswith("curl ") and "\n" not in curl
    proc = _run_in_private_network(_SERVE_AND_ASK.format(serve=serve, curl=curl), tmp_path / "home", tmp_path)
    log = (tmp_path / "serve.log").read_text() if (tmp_path / "serve.log").exists() else ""
    assert proc.returncode == 0, proc.stdout + proc.stderr + log
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert set(answer) == {"prediction", "score", "model_version", "request_id"}
    assert answer["prediction"] in (0, 1) and 0.0 <= answer["score"] <= 1.0
    assert answer["model_version"] == "fraud-detector:v1"
    assert "training the course's default model" in log
    printed = re.search(r'answers `\{"prediction":(\d),"score":([0-9.]+)\.\.\.', _serving_section())
    assert printed, "the README shows the answer"
    assert answer["prediction"] == int(printed.group(1)) and f"{answer['score']:.6f}".startswith(printed.group(2))


def test_the_readme_canary_sequence_works_on_a_fresh_install(tmp_path) -> None:
    section = _serving_section()
    canary = next(b for b in _blocks(section) if "--canary" in b)
    train, serve = canary.splitlines()
    assert train.startswith("mlcourse registry train --alias candidate")
    assert serve == "mlcourse serve --candidate candidate --canary 0.1"
    curl = _blocks(section)[1]
    script = f"{train} > train.log 2>&1\n" + _SERVE_AND_ASK.format(serve=serve, curl=curl)
    proc = _run_in_private_network(script, tmp_path / "home", tmp_path)
    logs = "".join((tmp_path / name).read_text() for name in ("train.log", "serve.log") if (tmp_path / name).exists())
    assert proc.returncode == 0, proc.stdout + proc.stderr + logs
    assert "Registered fraud-detector:v1 as 'production'." in logs
    assert "Registered fraud-detector:v2 as 'candidate'" in logs
    assert "Canary: 10% of users to fraud-detector:v2 ('candidate')" in logs
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer["model_version"] in ("fraud-detector:v1", "fraud-detector:v2")
