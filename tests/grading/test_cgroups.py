"""Where the per-submission cgroup is made, and what is written into it
(issue 11, class 7). The kernel's side is tested in test_hardening.py and
test_sandbox.py on this machine's hierarchy; here, both layouts on paper."""
from __future__ import annotations

from pathlib import Path

from mlcourse.grading import cgroups

V1_CGROUP = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n"
V1_MOUNTS = (
    "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
    "31 25 0:27 / /sys/fs/cgroup/pids rw,relatime shared:10 - cgroup cgroup rw,pids\n"
    "32 25 0:28 / /sys/fs/cgroup/unified rw,relatime shared:11 - cgroup2 cgroup2 rw\n"
)
V2_CGROUP = "0::/user.slice/grader.scope\n"
V2_MOUNTS = "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


def test_cgroup_v1_controllers_are_found_in_their_own_hierarchies():
    found, why = cgroups.find_hierarchies(V1_CGROUP, V1_MOUNTS)
    assert why is None
    assert found["memory"] == cgroups.Hierarchy("memory", Path("/sys/fs/cgroup/memory/process_api/abc"), 1)
    assert found["pids"] == cgroups.Hierarchy("pids", Path("/sys/fs/cgroup/pids"), 1)


def test_no_memory_controller_anywhere_is_said_plainly(tmp_path):
    found, why = cgroups.find_hierarchies("0::/\n", V2_MOUNTS, sysroot=str(tmp_path))
    assert found == {} and why == "no cgroup hierarchy with the memory and pids controllers"


def _v2_tree(root: Path) -> Path:
    own = root / "sys/fs/cgroup/user.slice/grader.scope"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text("cpu io memory pids\n")
    (own / "cgroup.subtree_control").write_text("")
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/cgroup").write_text(V2_CGROUP)
    (root / "proc/self/mountinfo").write_text(V2_MOUNTS)
    return own


def test_cgroup_v2_one_folder_per_batch_controllers_enabled_limits_written(tmp_path):
    own = _v2_tree(tmp_path)
    batch, why = cgroups.Cgroups.create(512, 32, sysroot=str(tmp_path))
    assert why is None and len(batch.batch) == 1  # memory and pids share the unified folder
    folder = batch.batch[0].path
    assert folder.parent == own and folder.name.startswith("mlcourse-grade-")
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (folder / "cgroup.subtree_control").read_text() == "+memory +pids"
    run = batch.new()
    [procs] = run.procs
    assert procs == str(folder / "run-0" / "cgroup.procs")
    written = {f.name: f.read_text() for f in (folder / "run-0").iterdir()}
    assert written == {"memory.max": str(512 * 2**20), "memory.swap.max": "0", "pids.max": "32"}
    (folder / "run-0" / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    (folder / "run-0" / "memory.peak").write_text(str(300 * 2**20))
    assert run.oom_kills() == 1 and run.peak_mb() == 300.0


def test_cgroup_v1_writes_each_controllers_limits_in_its_own_folder(tmp_path):
    memory = tmp_path / "sys/fs/cgroup/memory/process_api/abc"
    pids = tmp_path / "sys/fs/cgroup/pids"
    memory.mkdir(parents=True)
    pids.mkdir(parents=True)
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text(V1_CGROUP)
    (tmp_path / "proc/self/mountinfo").write_text(V1_MOUNTS)
    batch, why = cgroups.Cgroups.create(256, 16, sysroot=str(tmp_path))
    assert why is None
    run = batch.new()
    mem_run, pids_run = (Path(p).parent for p in run.procs)
    assert sorted(f.name for f in mem_run.iterdir()) == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    assert (mem_run / "memory.limit_in_bytes").read_text() == str(256 * 2**20)
    assert [f.name for f in pids_run.iterdir()] == ["pids.max"] and (pids_run / "pids.max").read_text() == "16"


def test_a_cgroup_that_cannot_be_made_is_a_reason_not_a_crash(tmp_path):
    own = _v2_tree(tmp_path)
    own.chmod(0o500)
    try:
        (own / "probe").mkdir()
        writable = True  # root: permissions do not stop it; a file in the way does
        (own / "probe").rmdir()
    except PermissionError:
        writable = False
    if writable:
        (own / "cgroup.subtree_control").unlink()
        (own / "cgroup.subtree_control").mkdir()  # writing to it fails
    batch, why = cgroups.Cgroups.create(512, 32, sysroot=str(tmp_path))
    own.chmod(0o700)
    assert batch is None and why.startswith("cannot make a cgroup")
