"""core/runtime.py: what every stage process sets up before its work."""
from __future__ import annotations

import subprocess
import sys

from repo_copy import ROOT, env


def test_deterministic_sets_torchs_flags_without_importing_its_compiler() -> None:
    """In a fresh process (this one may have imported torch._inductor already): the kernel flags that
    torch.use_deterministic_algorithms(True, warn_only=True) sets, the thread count, and no torch._inductor."""
    code = ("import sys, torch\nfrom apeart.core.runtime import THREADS, deterministic\ndeterministic(0)\n"
            "print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),"
            " torch.get_num_threads() == THREADS, torch.initial_seed(), 'torch._inductor' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env(), capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "0", "False"], out.stdout + out.stderr


def test_an_lbfgs_step_and_a_meta_forward_give_what_they_give_with_the_compiler_imported() -> None:
    """After deterministic(): an L-BFGS step and a meta-device forward (core.memory.layer_outputs) import no
    torch._dynamo, and give the same numbers as in a process that imported it first (torch's own path); no
    warning on the way (torch.distributed has a deprecated object that warns when read)."""
    code = ("import sys, apeart, torch, torch.distributed\n{first}\nfrom apeart.core.memory import layer_outputs\n"
            "from apeart.core.runtime import deterministic\ndeterministic(0)\n"
            "x = torch.randn(8, requires_grad=True)\nopt = torch.optim.LBFGS([x], max_iter=5)\n"
            "def closure():\n    opt.zero_grad()\n    loss = ((x - 1) ** 4).sum()\n    loss.backward()\n    return loss\n"
            "opt.step(closure)\nnet = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())\n"
            "print(x.tolist(), layer_outputs(net, torch.empty(2, 3, 9, 9, device='meta')), 'torch._dynamo' in sys.modules)")
    outputs = [subprocess.run([sys.executable, "-W", "error", "-c", code.format(first=first)], cwd=ROOT, env=env(),
                              capture_output=True, text=True, check=True).stdout for first in ("", "import torch._dynamo")]
    assert outputs[0].endswith(" False\n") and outputs[1].endswith(" True\n"), outputs
    assert outputs[0].rsplit(" ", 1)[0] == outputs[1].rsplit(" ", 1)[0]
