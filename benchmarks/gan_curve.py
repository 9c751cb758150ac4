"""fd_vgg19 against training length: params.yaml's GAN recipe trained once per seed, scored after chosen epochs.

With constant lrs and labels (params.yaml's recipe) the state after epoch k of a longer run is where a k-epoch run
ends (tests/test_gan.py), so one run per seed gives the whole curve; its point at `gan.epochs` with the stage's
thread count is the stage's own fd_vgg19. Rows are appended to --out as JSON lines; a seed already there is skipped.

    python benchmarks/gan_curve.py [--seeds 0 1 2] [--epochs 8 16 24 32 48 64] [--threads N]
        [--out benchmarks/results/gan_curve.jsonl] [--data DIR]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import apeart  # noqa: F401, I001  (first: sets the OpenMP wait policy before torch starts)
import torch
from apeart.params import load_params
from apeart.core.datasets import load_pngs
from apeart.core.runtime import deterministic
from apeart.gan.evaluate import score_generator
from apeart.gan.train import Trainer


def curve(seed: int, epochs: list[int], data: torch.Tensor) -> list[dict]:
    """One training run of params.yaml's recipe from `seed`, scored after each of `epochs`; one row per score."""
    base = load_params()
    params = dataclasses.replace(base.gan, seed=seed, device="cpu", epochs=max(epochs))
    if params.lr_decay_from < 1 or params.real_label != params.real_label_late:
        raise SystemExit("gan_curve: the recipe's lr or real label changes during training, so a point of one long "
                         "run is not where a shorter run ends; set gan.lr_decay_from: 1 and one real label")
    deterministic(seed)
    rows, train_s = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(params, data, torch.device("cpu"), Path(tmp) / "checkpoint.pt")
        for epoch in sorted(epochs):
            start = time.perf_counter()
            trainer.run(until=epoch)
            train_s += time.perf_counter() - start
            scores, _ = score_generator(trainer.sampler, params, base.evaluate, data, torch.device("cpu"))
            trainer.G.train()  # score_generator put the sampler in eval mode, which is G itself without an EMA
            rows.append({"seed": seed, "threads": torch.get_num_threads(), "epoch": epoch,
                         "steps": trainer.state.step, "train_s": round(train_s, 1),
                         "fd_vgg19": scores["fd_vgg19"], "kid_vgg19": scores["kid_vgg19"]})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: one line per epoch and thread count, fd_vgg19 per seed and the mean."""
    lines = ["| epoch | steps | threads | fd_vgg19 per seed | mean |", "|---|---|---|---|---|"]
    for epoch, threads in sorted({(r["epoch"], r["threads"]) for r in rows}):
        mine = sorted((r for r in rows if r["epoch"] == epoch and r["threads"] == threads), key=lambda r: r["seed"])
        fds = [r["fd_vgg19"] for r in mine]
        per_seed = " / ".join(f"{r['seed']}: {r['fd_vgg19']:.1f}" for r in mine)
        lines.append(f"| {epoch} | {mine[0]['steps']:,} | {threads} | {per_seed} | {statistics.mean(fds):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[8, 16, 24, 32, 48, 64])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads (default: "
                        "torch's, the stage's setting; the float sums, and so the run, differ with it)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gan_curve.jsonl"))
    parser.add_argument("--data", type=Path, default=Path("data/prepared/gan"), help="the prepared 64x64 set")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.is_file() else []
    data = load_pngs(args.data)[1]
    for seed in args.seeds:
        if any(r["seed"] == seed and r["threads"] == args.threads and r["epoch"] == max(args.epochs) for r in rows):
            continue
        new = curve(seed, args.epochs, data)
        with args.out.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in new)
        rows += new
    print(table(rows))


if __name__ == "__main__":
    main()
