"""apeart: a reproducible DVC art pipeline for the BAYC collection (DCGAN style batches, batched Gatys NST,
texture networks).

Importing the package bounds how long idle OpenMP threads spin before they sleep (GOMP_SPINCOUNT=3000, unless
OMP_WAIT_POLICY or GOMP_SPINCOUNT is set): libgomp's default spins long enough to slow every stage beside a busy
process, and sleeping at once makes every small op pay a thread wake-up (benchmarks/bench_wait_policy.py
compares the policies). The setting is read when torch loads, so every DVC stage runs as
`python -m apeart stages/<name>.py` (apeart/__main__.py), which loads this package first whatever the script
imports; a process that imported torch earlier gets a warning.
"""
import os
import sys
import warnings

SPIN_COUNT = "3000"

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    if "torch" in sys.modules:
        warnings.warn(f"torch was imported before apeart, so GOMP_SPINCOUNT={SPIN_COUNT} does not apply to it: "
                      "run stages as `python -m apeart stages/<name>.py`", RuntimeWarning, stacklevel=2)
