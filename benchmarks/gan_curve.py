"""fd_vgg19 against training length: the default run's DCGAN (studies.DCGAN) trained once per seed, scored after
chosen epochs.

With constant lrs and labels (studies.DCGAN's) the state after epoch k of a longer run is where a k-epoch run ends
(tests/test_gan.py), so one run per seed gives the whole curve. Each row records the full gan section (its epochs
the longest scored), the yardstick, the thread count and the training set's hash; a seed already there for that
config is skipped.

    python benchmarks/gan_curve.py [--seeds 0 1 2] [--epochs 8 16 24 32 48 64] [--threads N]
        [--out benchmarks/results/gan_curve.jsonl] [--data DIR]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from studies import CPU, DATA, DCGAN, YARDSTICK, Results, scores, section, seeded, training_set, yardstick

from apeart.core.runtime import THREADS
from apeart.gan.params import GanParams
from apeart.gan.evaluate import score_generator
from apeart.gan.train import Trainer


def curve(config: dict[str, Any], epochs: list[int], threads: int, data, checkpoint: Path) -> list[dict]:
    """One training run of `config`'s gan section, scored after each of `epochs`: one result per score."""
    params = section(GanParams, config["gan"])
    if params.lr_decay_from < 1 or params.real_label != params.real_label_late:
        raise SystemExit("gan_curve: the recipe's lr or real label changes during training, so a point of one long "
                         "run is not where a shorter run ends")
    seeded(params.seed, threads)
    trainer, train_s, out = Trainer(params, data, CPU, checkpoint), 0.0, []
    for epoch in sorted(epochs):
        start = time.perf_counter()
        trainer.run(until=epoch)
        train_s += time.perf_counter() - start
        metrics, _ = score_generator(trainer.sampler, params, yardstick(), data, CPU)
        trainer.G.train()  # score_generator put the sampler in eval mode, which is G itself without an EMA
        out.append({"epoch": epoch, "steps": trainer.state.step, "train_s": round(train_s, 1), **scores(metrics)})
        print(out[-1], flush=True)
    return out


def table(rows: list[dict]) -> str:
    """Markdown: one line per epoch and thread count, fd_vgg19 per seed and the mean."""
    lines = ["| epoch | steps | threads | fd_vgg19 per seed | mean |", "|---|---|---|---|---|"]
    for epoch, threads in sorted({(r["epoch"], r["config"]["threads"]) for r in rows}):
        mine = sorted((r for r in rows if (r["epoch"], r["config"]["threads"]) == (epoch, threads)),
                      key=lambda r: r["config"]["gan"]["seed"])
        per_seed = " / ".join(f"{r['config']['gan']['seed']}: {r['fd_vgg19']:.1f}" for r in mine)
        lines.append(f"| {epoch} | {mine[0]['steps']:,} | {threads} | {per_seed} | "
                     f"{statistics.mean(r['fd_vgg19'] for r in mine):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[8, 16, 24, 32, 48, 64])
    parser.add_argument("--threads", type=int, default=THREADS, help="torch threads (default: the stage's)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gan_curve.jsonl"))
    parser.add_argument("--data", type=Path, default=DATA, help="the prepared 64x64 set")
    args = parser.parse_args()
    data, data_id = training_set(args.data)
    results = Results(args.out)
    for seed in args.seeds:
        config = {"gan": {**DCGAN, "seed": seed, "epochs": max(args.epochs)}, "scored_epochs": sorted(args.epochs),
                  "evaluate": YARDSTICK, "threads": args.threads, "data": data_id}
        if results.done(config):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            for point in curve(config, args.epochs, args.threads, data, Path(tmp) / "checkpoint.pt"):
                results.add(config, point)
    print(table(results.rows))


if __name__ == "__main__":
    main()
