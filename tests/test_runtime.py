"""core/runtime.py: what every stage process sets up before its work."""
from __future__ import annotations

import subprocess
import sys

import pytest
from repo_copy import ROOT, env

# A stage's set-up in a fresh process (this one may have imported torch's compiler already), then an L-BFGS
# step and a meta-device forward (core.memory.layer_outputs); `{first}` may import the compiler beforehand.
# torch.distributed is imported for its deprecated object that warns when read; -W error makes a warning fail.
PROBE = """
import sys, apeart, torch, torch.distributed
{first}
from apeart.core.memory import layer_outputs
from apeart.core.runtime import THREADS, deterministic
deterministic(0)
print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
      torch.get_num_threads() == THREADS, torch.initial_seed(), "torch._inductor" in sys.modules)
x = torch.randn(8, requires_grad=True)
opt = torch.optim.LBFGS([x], max_iter=5)
def closure():
    opt.zero_grad()
    loss = ((x - 1) ** 4).sum()
    loss.backward()
    return loss
opt.step(closure)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
print(x.tolist(), layer_outputs(net, torch.empty(2, 3, 9, 9, device="meta")))
print("torch._dynamo" in sys.modules)
"""


@pytest.fixture(scope="module")
def probes() -> dict[str, list[str]]:
    """PROBE's output lines as a stage runs it, and after importing torch's compiler first (torch's own path:
    deterministic leaves torch's wrappers alone once the compiler is imported)."""
    return {name: subprocess.run([sys.executable, "-W", "error", "-c", PROBE.format(first=first)], cwd=ROOT,
                                 env=env(), capture_output=True, text=True, check=True).stdout.splitlines()
            for name, first in (("stage", ""), ("compiler", "import torch._dynamo"))}


def test_deterministic_sets_torchs_flags_without_importing_its_compiler(probes: dict[str, list[str]]) -> None:
    """The kernel flags that torch.use_deterministic_algorithms(True, warn_only=True) sets, the thread count, the
    seed, and no torch._inductor."""
    assert probes["stage"][0].split() == ["True", "True", "True", "0", "False"], probes


def test_an_lbfgs_step_and_a_meta_forward_give_what_they_give_with_the_compiler_imported(
        probes: dict[str, list[str]]) -> None:
    """After deterministic(): no torch._dynamo imported, and the same numbers as with it."""
    assert probes["stage"][2] == "False" and probes["compiler"][2] == "True", probes
    assert probes["stage"][1] == probes["compiler"][1]
