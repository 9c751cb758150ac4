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
