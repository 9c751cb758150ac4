"""DVC commands in this repo with ruamel.yaml's C parser (ruamel.yaml.clib, a dependency of the project) against
its pure-Python parser (what a venv without the clib gets since ruamel.yaml 0.19 made it optional), and the
parse of dvc.lock alone.

Run: python benchmarks/bench_dvc_yaml.py [--commands "status;exp show --json"] [--repeats 7]
        [--out benchmarks/results/bench_dvc_yaml.jsonl]
Each command is a fresh DVC process in the repo root, the same wrapper for both parsers (the pure one forces
`YAML(pure=True)`); wall and CPU seconds of the process, interleaved, medians.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

from harness import RESULTS, ROOT, interleaved, medians, record

PURE = ("import ruamel.yaml.main as m\ninit = m.YAML.__init__\n"
        "def pure(self, *args, **kwargs):\n    init(self, *args, **{**kwargs, 'pure': True})\n"
        "m.YAML.__init__ = pure\n")
DVC = "import sys\nfrom dvc.cli import main\nsys.exit(main({argv!r}))\n"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dvc(argv: list[str], pure: bool) -> tuple[float, float]:
    """(wall s, CPU s) of `dvc <argv>` in the repo root."""
    cpu, start = children_cpu(), time.perf_counter()
    env = {"DVC_NO_ANALYTICS": "1", "PATH": str(Path(sys.executable).parent)}
    subprocess.run([sys.executable, "-c", (PURE if pure else "") + DVC.format(argv=argv)], cwd=ROOT,
                   capture_output=True, check=True, env=env)
    return time.perf_counter() - start, children_cpu() - cpu


def parse(pure: bool) -> tuple[float, float]:
    """(wall s, CPU s) of one parse of dvc.lock as DVC parses it (`YAML(typ="safe")`)."""
    from ruamel.yaml import YAML

    text = (ROOT / "dvc.lock").read_text()
    cpu, start = time.process_time(), time.perf_counter()
    YAML(typ="safe", pure=pure).load(text)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", default="status;exp show --json", help="DVC commands, ';'-separated")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_dvc_yaml.jsonl", help="where the row is appended")
    args = parser.parse_args()

    methods = {}
    for command in args.commands.split(";"):
        for pure in (False, True):
            methods[f"dvc {command} ({'pure Python' if pure else 'C'})"] = \
                lambda argv=shlex.split(command), pure=pure: dvc(argv, pure)
    for pure in (False, True):
        methods[f"parse dvc.lock ({'pure Python' if pure else 'C'})"] = lambda pure=pure: parse(pure)
    runs = interleaved(methods, args.repeats, warmup=True)
    wall = medians({name: [r[0] for r in rows] for name, rows in runs.items()})
    cpu = medians({name: [r[1] for r in rows] for name, rows in runs.items()})
    print(f"{'':40} {'wall s':>7} {'CPU s':>7}")
    for name in methods:
        print(f"{name:40} {wall[name]:7.3f} {cpu[name]:7.3f}")
    ratios = {name.removesuffix(" (C)"): round(cpu[name.replace("(C)", "(pure Python)")] / cpu[name], 2)
              for name in methods if name.endswith("(C)")}
    print("pure Python / C (CPU):", json.dumps(ratios))
    record(args.out, {k: v for k, v in vars(args).items() if k != "out"},
           {"wall_s": {k: round(v, 3) for k, v in wall.items()}, "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "pure_over_c_cpu": ratios, "dvc_lock_lines": len((ROOT / "dvc.lock").read_text().splitlines())})


if __name__ == "__main__":
    main()
