"""Binder / repo2docker: the environment files in binder/ build the course.

repo2docker (mybinder.org, or an image for any JupyterHub) reads only binder/
when that folder exists: requirements.txt for the dependencies, runtime.txt for
the Python version and postBuild for the package itself. The dependency list
must stay the one in pyproject.toml, or Binder learners get another course.
"""
from __future__ import annotations

import os
import re
import tomllib

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name


def _key(requirement: str) -> tuple:
    req = Requirement(requirement)
    return (canonicalize_name(req.name), tuple(sorted(req.extras)), str(req.specifier), str(req.marker or ""))


def _requirements_file(path) -> list[str]:
    lines = []
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _pyproject(repo_root) -> dict:
    return tomllib.loads((repo_root / "pyproject.toml").read_text())


def test_binder_requirements_are_pyprojects_runtime_dependencies(repo_root):
    declared = {_key(r): r for r in _pyproject(repo_root)["project"]["dependencies"]}
    lines = _requirements_file(repo_root / "binder" / "requirements.txt")
    listed = {_key(r): r for r in lines}
    assert len(listed) == len(lines), "binder/requirements.txt lists a dependency twice"
    missing = sorted(declared[k] for k in declared.keys() - listed.keys())
    extra = sorted(listed[k] for k in listed.keys() - declared.keys())
    assert (missing, extra) == ([], []), (
        f"binder/requirements.txt differs from pyproject.toml's [project] dependencies: "
        f"missing {missing}, not in pyproject {extra}"
    )


def test_binder_python_satisfies_requires_python(repo_root):
    runtime = (repo_root / "binder" / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"binder/runtime.txt must read python-X.Y, not {runtime!r}"
    requires = SpecifierSet(_pyproject(repo_root)["project"]["requires-python"])
    assert requires.contains(match[1] + ".0"), f"{runtime} does not satisfy requires-python {requires}"


def test_binder_postbuild_installs_the_package_without_other_dependencies(repo_root):
    post_build = repo_root / "binder" / "postBuild"
    text = post_build.read_text()
    assert text.startswith("#!"), "postBuild needs a shebang"
    assert os.access(post_build, os.X_OK), "postBuild must be executable"
    installs = [line for line in text.splitlines() if re.search(r"\bpip install\b", line)]
    # Only the package itself: every dependency comes from requirements.txt,
    # which the test above keeps equal to pyproject.toml.
    assert installs and all("--no-deps" in line and line.rstrip().endswith(" .") for line in installs), installs


def test_readme_binder_links_open_existing_notebooks(repo_root):
    readme = (repo_root / "README.md").read_text()
    for path in re.findall(r"mybinder\.org/v2/gh/[^\s)>\]]*?labpath=([^\s&)>\]#]+)", readme):
        if "<" not in path:  # a pattern such as labpath=notebooks/<lesson>.ipynb
            assert (repo_root / path).is_file(), f"README's Binder link opens {path}, which does not exist"
