"""Neural style transfer (Gatys et al.): backbones, losses, the batched optimisation loop, experiments.

Importing this package before torch makes idle OpenMP threads sleep instead of spin
(OMP_WAIT_POLICY=PASSIVE unless set): on a CPU shared with other processes, torch's default
spin-waiting made each NST step ~10x slower (benchmarks/bench_nst.py). It has no effect once torch
is loaded, so the stage scripts import it first.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
