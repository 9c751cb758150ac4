"""Every stage process gets apeart's OpenMP spin count (GOMP_SPINCOUNT) before torch loads, however its script
orders imports: dvc.yaml runs each stage as `python -m apeart stages/<name>.py`, and the launcher loads `apeart`
first."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import stage_graph as g

POLICY = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")  # what the caller may have set

# Imports torch before anything of apeart (as stages/train_gan.py did), then reports what torch started with.
PROBE = """import torch, os, sys
print(os.environ.get("GOMP_SPINCOUNT"), "apeart" in sys.modules, sys.argv[1:])
"""


def test_each_stage_cmd_sets_the_wait_policy_before_torch(tmp_path: Path) -> None:
    """Every stage's cmd runs its script through the launcher; each distinct cmd (its script aside) is run by a
    shell as DVC does, with the script replaced by the probe: one code path, one run per form of cmd."""
    forms: dict[tuple[str, ...], str] = {}
    for name, spec in sorted(g.stages().items()):
        words = shlex.split(spec["cmd"])
        assert words[:3] == ["python", "-m", "apeart"], f"{name}: cmd {spec['cmd']!r} does not run through the launcher"
        forms.setdefault(tuple("{script}" if w.endswith(".py") else w for w in words), name)
    for name in forms.values():
        spec = g.stages()[name]
        script = tmp_path / name / g.rel(g.script(spec))
        script.parent.mkdir(parents=True)
        script.write_text(PROBE)
        env = {k: v for k, v in os.environ.items() if k not in POLICY}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        out = subprocess.run(spec["cmd"] + " --x", shell=True, cwd=tmp_path / name, env=env, capture_output=True,
                             text=True, check=True)
        assert out.stdout.split() == ["3000", "True", "['--x']"], f"{name}: {out.stderr}"


def test_an_explicit_policy_is_kept_and_a_late_import_warns(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in POLICY}
    probe = "import os; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"
    late = subprocess.run([sys.executable, "-c", f"import torch, apeart; {probe}"],
                          env=env, capture_output=True, text=True, check=True)
    assert late.stdout.split() == ["None", "3000"] and "torch was imported before apeart" in late.stderr
    for mine in ({"OMP_WAIT_POLICY": "PASSIVE"}, {"GOMP_SPINCOUNT": "7"}):
        kept = subprocess.run([sys.executable, "-c", f"import apeart; {probe}"], env={**env, **mine},
                              capture_output=True, text=True, check=True)
        assert kept.stdout.split() == [mine.get("OMP_WAIT_POLICY", "None"), mine.get("GOMP_SPINCOUNT", "None")]


def test_the_launcher_refuses_a_missing_script() -> None:
    out = subprocess.run([sys.executable, "-m", "apeart"], capture_output=True, text=True)
    assert out.returncode != 0 and "usage: python -m apeart stages/<name>.py" in out.stderr


WORKER = """import os, sys, time
from pathlib import Path
from apeart.core.distributed import relaunch_under_torchrun
relaunch_under_torchrun("worker.py", 2)
Path(f"pid-{os.environ['RANK']}").write_text(str(os.getpid()))
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.processes
def test_a_sigkilled_stage_takes_its_torchrun_workers_down(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    stage = subprocess.Popen([sys.executable, "-m", "apeart", "worker.py"], cwd=tmp_path)
    pids = [tmp_path / f"pid-{rank}" for rank in (0, 1)]
    deadline = time.monotonic() + 120
    while not all(p.is_file() and p.read_text() for p in pids):
        assert time.monotonic() < deadline and stage.poll() is None, "the workers did not start"
        time.sleep(0.2)
    workers = [int(p.read_text()) for p in pids]
    stage.kill()
    stage.wait()
    deadline = time.monotonic() + 30  # torchrun stops its workers on SIGTERM; they would sleep for 120 s
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
