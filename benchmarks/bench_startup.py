"""Stage start-up: a fresh process importing what a stage imports, against the same plus torchvision (what the
stages imported before core/grids.py replaced make_grid and pil_to_tensor), and bare `import torch` (the floor);
then core.runtime.deterministic against torch.use_deterministic_algorithms, which it replaced (each after
`import torch`); then a stage's first L-BFGS optimiser and first meta-device forward (core.memory.layer_outputs)
after runtime.deterministic against the same after torch's flag alone, where their first call imports torch's
compiler.

Run: python benchmarks/bench_startup.py [--stages evaluate_gan,stylize,report] [--repeats 7]
        [--out benchmarks/results/bench_startup.jsonl]
Each measurement is one new Python process, the stage's `main` not run: wall seconds of the imports after
`import apeart`, and CPU seconds of the whole process (interpreter start-up included); interleaved, medians.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from harness import RESULTS, ROOT, interleaved, medians, record

# Imports a stage script's module (its top level only: `main` runs under `__name__ == "__main__"`).
IMPORT_STAGE = ("import importlib.util; spec = importlib.util.spec_from_file_location('stage', {path!r}); "
                "spec.loader.exec_module(importlib.util.module_from_spec(spec))")
TIMED = "import apeart, resource, sys, time; t = time.perf_counter()\n{body}\n" \
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_utime + " \
        "resource.getrusage(resource.RUSAGE_SELF).ru_stime, 'torchvision' in sys.modules)"

USE_DETERMINISTIC = "import torch; torch.manual_seed(0); torch.use_deterministic_algorithms(True, warn_only=True)"
DETERMINISTIC = "import torch; from apeart.core.runtime import deterministic; deterministic(0)"
TORCH_FLAG = "import torch; torch.manual_seed(0); torch._C._set_deterministic_algorithms(True, warn_only=True)"
FIRST_USE = ("from apeart.core.memory import layer_outputs\n"
             "torch.optim.LBFGS([torch.zeros(1, requires_grad=True)])\n"
             "net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU())\n"
             "layer_outputs(net, torch.empty(1, 3, 64, 64, device='meta'))")


def measure(body: str) -> tuple[float, float, bool]:
    """(wall s, CPU s, whether torchvision got imported) of `body` in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", TIMED.format(body=body)], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), out[2] == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", default="evaluate_gan,stylize,report")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_startup.jsonl", help="where the row is appended")
    args = parser.parse_args()

    methods = {"import torch (floor)": lambda: measure("import torch"),
               "use_deterministic_algorithms": lambda: measure(USE_DETERMINISTIC),
               "runtime.deterministic": lambda: measure(DETERMINISTIC),
               "L-BFGS + meta forward after torch's flag": lambda: measure(f"{TORCH_FLAG}\n{FIRST_USE}"),
               "L-BFGS + meta forward after runtime.deterministic": lambda: measure(f"{DETERMINISTIC}\n{FIRST_USE}")}
    for stage in args.stages.split(","):
        body = IMPORT_STAGE.format(path=f"stages/{stage}.py")
        methods[f"{stage}"] = lambda body=body: measure(body)
        methods[f"{stage} + torchvision"] = lambda body=body: measure("import torchvision\n" + body)
    runs = interleaved(methods, args.repeats, warmup=True)
    assert not any(tv for name, rows in runs.items() if "torchvision" not in name for *_, tv in rows)
    wall = medians({name: [r[0] for r in rows] for name, rows in runs.items()})
    cpu = medians({name: [r[1] for r in rows] for name, rows in runs.items()})
    print(f"{'imports':50} {'wall s':>7} {'CPU s':>7}")
    for name in methods:
        print(f"{name:50} {wall[name]:7.2f} {cpu[name]:7.2f}")
    ratios = {stage: round(wall[f"{stage} + torchvision"] / wall[stage], 2) for stage in args.stages.split(",")}
    print("with torchvision / without (wall):", json.dumps(ratios))
    seeding = round(wall["use_deterministic_algorithms"] / wall["runtime.deterministic"], 2)
    print("use_deterministic_algorithms / runtime.deterministic (wall):", seeding)
    first_use = {kind: round(numbers["L-BFGS + meta forward after torch's flag"]
                             / numbers["L-BFGS + meta forward after runtime.deterministic"], 2)
                 for kind, numbers in (("wall", wall), ("cpu", cpu))}
    print("first L-BFGS + meta forward, torch's flag / runtime.deterministic:", json.dumps(first_use))
    record(args.out, {k: v for k, v in vars(args).items() if k != "out"},
           {"wall_s": {k: round(v, 3) for k, v in wall.items()}, "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "with_torchvision_ratio": ratios, "use_deterministic_algorithms_ratio": seeding,
            "first_use_ratio": first_use})


if __name__ == "__main__":
    main()
