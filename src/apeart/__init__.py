"""apeart: a reproducible DVC art pipeline for the BAYC collection (DCGAN style batches + batched Gatys NST).

Importing the package makes idle OpenMP threads sleep instead of spin (OMP_WAIT_POLICY=PASSIVE unless set):
on a CPU shared with other processes, torch's default spin-waiting made each step ~10x slower
(benchmarks/bench_nst.py). The policy is read when torch loads, so every DVC stage runs as
`python -m apeart stages/<name>.py` (apeart/__main__.py), which loads this package first whatever the
script imports; a process that imported torch earlier gets a warning.
"""
import os
import sys
import warnings

if "OMP_WAIT_POLICY" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if "torch" in sys.modules:
        warnings.warn("torch was imported before apeart, so OMP_WAIT_POLICY=PASSIVE does not apply to it: "
                      "run stages as `python -m apeart stages/<name>.py`", RuntimeWarning, stacklevel=2)
