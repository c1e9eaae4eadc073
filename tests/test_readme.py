"""The README's two commands: near the top, and the test one is what CI runs."""
from __future__ import annotations

import re


def _commands(readme: str) -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", readme)


def test_readme_shows_the_learn_and_test_commands_near_the_top(repo_root):
    readme = (repo_root / "README.md").read_text()
    top = readme[:2500]
    learn, test = _commands(top)[:2]
    assert "mlcourse start" in learn and "pip install" in learn
    assert "pytest" in test and 'pip install -e ".[test]"' in test
    # The browser end-to-end tests need Debian's Chromium: the command makes
    # sure it is there (apt-get) before anything else.
    assert test.startswith("bash scripts/ensure-chromium && ")
    assert (repo_root / "scripts" / "ensure-chromium").is_file()


def test_ci_runs_the_readme_test_command_verbatim(repo_root):
    readme = (repo_root / "README.md").read_text()
    test_command = _commands(readme)[1]
    ci = (repo_root / ".ci" / "run").read_text().splitlines()
    assert test_command in ci
