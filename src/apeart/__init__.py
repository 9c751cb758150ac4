"""apeart: a reproducible DVC art pipeline for the BAYC collection (DCGAN style batches + batched Gatys NST).

Importing the package before torch makes idle OpenMP threads sleep instead of spin
(OMP_WAIT_POLICY=PASSIVE unless set): on a CPU shared with other processes, torch's default
spin-waiting made each step ~10x slower (benchmarks/bench_nst.py). It has no effect once torch is loaded,
so stage scripts import from apeart first.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
