"""The stabilisation table: fd_vgg19 of DCGAN variants over seeds, each variant a full `gan:` section.

Trains on data/prepared/gan (`dvc repro prepare` first, or --data) and scores each generator as the
evaluate_gan stage does. Every variant is written out in full from one of three bases (studies.DCGAN, the default
run's, and two earlier defaults), so a rerun trains what the row says; each row records the section, the yardstick,
the thread count and the training set's hash, and a rerun skips the rows already there for that config.

    python benchmarks/gan_levers.py [--seeds 0 1 2] [--variants NAME ...] [--threads N] [--grids DIR]
        [--out benchmarks/results/gan_levers.jsonl] [--data DIR]

--grids writes each run's real | fake grid (64 real images, G's 64 fixed-noise samples) as
DIR/<variant>-seed<N>-<threads>t.png. `dvc exp run -S gan.<key>=<value> ...` with a variant's differences from
params.yaml reproduces a variant's seed-0 run in the pipeline (at the stage's 2 threads).
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from PIL import Image
from studies import CPU, DATA, DCGAN, YARDSTICK, Results, scores, section, train, training_set, yardstick

from apeart.gan.params import GanParams
from apeart.core.grids import side_by_side
from apeart.core.runtime import THREADS
from apeart.gan.evaluate import score_generator
from apeart.gan.train import Trainer

ISSUE16 = {**DCGAN, "batch_size": 16, "ndf": 16, "epochs": 20}  # issue 16's fixed defaults
E13 = {**DCGAN, "epochs": 13}  # batch 8, ndf 32, 13 epochs: the defaults between ISSUE16 and DCGAN
COLOR = "color,translation,cutout"


def variant(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`base` with `changes`: a full gan section."""
    unknown = set(changes) - set(base)
    assert not unknown, f"not gan params: {unknown}"
    return {**base, **changes}


VARIANTS: dict[str, dict[str, Any]] = {
    # One lever at a time from issue 16's defaults (batch 16, ndf 16, 20 epochs).
    "issue16": ISSUE16,
    "issue16, no DiffAugment": variant(ISSUE16, diffaugment=""),
    "issue16, no EMA": variant(ISSUE16, ema_decay=0.0),
    "issue16, no DiffAugment, no EMA": variant(ISSUE16, diffaugment="", ema_decay=0.0),
    "issue16, label smoothing 0.85 -> 0.95": variant(ISSUE16, real_label=0.85, real_label_late=0.95),
    "issue16, LeakyReLU 0.3": variant(ISSUE16, leaky_slope=0.3),
    "issue16, LeakyReLU 0.3, label smoothing": variant(ISSUE16, leaky_slope=0.3, real_label=0.85, real_label_late=0.95),
    "issue16, D lr x 0.5": variant(ISSUE16, d_lr_mult=0.5),
    "issue16, D lr x 0.1": variant(ISSUE16, d_lr_mult=0.1),
    "issue16, bf16 autocast": variant(ISSUE16, precision="bf16"),
    "issue16, RMSprop for D": variant(ISSUE16, d_optimizer="rmsprop"),
    # Recipes at issue 16's training time or less (steps x time per step).
    "issue16, spectral norm": variant(ISSUE16, spectral_norm=True),
    "issue16, hinge": variant(ISSUE16, loss="hinge"),
    "issue16, spectral norm, hinge": variant(ISSUE16, spectral_norm=True, loss="hinge"),
    "issue16, SNGAN optimiser": variant(ISSUE16, spectral_norm=True, loss="hinge", beta1=0.0, beta2=0.99, lr=0.0002,
                                        d_lr_mult=2.0),
    "issue16, lr 1e-3": variant(ISSUE16, lr=0.001),
    "issue16, batch 8, 15 epochs": variant(ISSUE16, batch_size=8, epochs=15),
    "issue16, batch 8, ngf 16, 22 epochs": variant(ISSUE16, batch_size=8, ngf=16, epochs=22),
    "issue16, batch 4, 11 epochs": variant(ISSUE16, batch_size=4, epochs=11),
    # Recipes at up to twice issue 16's training time.
    "issue16, 40 epochs": variant(ISSUE16, epochs=40),
    "issue16, batch 8, ndf 32, 20 epochs": variant(ISSUE16, batch_size=8, ndf=32, epochs=20),
    "issue16, batch 8, ndf 32, 20 epochs, DiffAugment color": variant(ISSUE16, batch_size=8, ndf=32, epochs=20,
                                                                      diffaugment=COLOR),
    # One lever at a time from the 13-epoch defaults (batch 8, ndf 32).
    "e13": E13,
    "e13, lr 2e-4": variant(E13, lr=0.0002),
    "e13, lr 3e-4": variant(E13, lr=0.0003),
    "e13, lr 7e-4": variant(E13, lr=0.0007),
    "e13, lr 1e-3": variant(E13, lr=0.001),
    "e13, D lr x 2": variant(E13, d_lr_mult=2.0),
    "e13, Adam beta2 0.99": variant(E13, beta2=0.99),
    "e13, EMA 0.999": variant(E13, ema_decay=0.999),
    "e13, DiffAugment translation only": variant(E13, diffaugment="translation"),
    "e13, LeakyReLU 0.3, label smoothing": variant(E13, leaky_slope=0.3, real_label=0.85, real_label_late=0.95),
    "e13, lrs decay over the second half": variant(E13, lr_decay_from=0.5),
    "e13, lr 7e-4, decaying over the second half": variant(E13, lr=0.0007, lr_decay_from=0.5),
    "e13, lrs decay over the whole run": variant(E13, lr_decay_from=0.0),
    # From the default run's recipe (batch 8, ndf 32, 16 epochs).
    "defaults": DCGAN,
    "17 epochs": variant(DCGAN, epochs=17),
    "19 epochs": variant(DCGAN, epochs=19),
    "ndf 24, 19 epochs": variant(DCGAN, ndf=24, epochs=19),
    "ngf 24, ndf 24, 21 epochs": variant(DCGAN, ngf=24, ndf=24, epochs=21),
    "ngf 24, 18 epochs": variant(DCGAN, ngf=24, epochs=18),
    "minibatch std": variant(DCGAN, minibatch_std=True),
    "ndf 24, 19 epochs, minibatch std": variant(DCGAN, ndf=24, epochs=19, minibatch_std=True),
    "Adam beta1 0": variant(DCGAN, beta1=0.0),
}


def run(name: str, seed: int, threads: int, data, grids: Path | None) -> dict[str, Any]:
    """Train variant `name` from `seed` with `threads` threads and score it: the row's results."""
    params = section(GanParams, {**VARIANTS[name], "seed": seed})
    trainer, seconds = train(Trainer, params, data, threads)
    if grids is not None:
        grids.mkdir(parents=True, exist_ok=True)
        fake = trainer.sample_fixed()
        image = side_by_side(data[:len(fake)], fake).mul(255).round().byte()
        slug = "".join(c if c.isalnum() else "-" for c in name)[:60].strip("-")
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(grids / f"{slug}-seed{seed}-{threads}t.png")
    metrics, _ = score_generator(trainer.sampler, params, yardstick(), data, CPU)
    return {"variant": name, "seed": seed, "train_s": round(seconds, 1), **scores(metrics)}


def table(rows: list[dict]) -> str:
    """Markdown: one line per variant and thread count, fd_vgg19 per seed, the mean, the mean KID."""
    lines = ["| variant | threads | fd_vgg19 per seed | mean fd_vgg19 | mean kid_vgg19 |", "|---|---|---|---|---|"]
    for name, threads in dict.fromkeys((r["variant"], r["config"]["threads"]) for r in rows):
        mine = sorted((r for r in rows if (r["variant"], r["config"]["threads"]) == (name, threads)),
                      key=lambda r: r["seed"])
        fds = [r["fd_vgg19"] for r in mine]
        per_seed = " / ".join(f"{r['seed']}: {r['fd_vgg19']:.1f}" for r in mine)
        lines.append(f"| {name} | {threads} | {per_seed} | "
                     f"{statistics.mean(fds):.1f} | {statistics.mean(r['kid_vgg19'] for r in mine):.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--threads", type=int, default=THREADS, help="torch threads per run (default: the stage's)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gan_levers.jsonl"))
    parser.add_argument("--data", type=Path, default=DATA, help="the prepared 64x64 set")
    parser.add_argument("--grids", type=Path, help="write each run's real | fake grid here")
    args = parser.parse_args()
    data, data_id = training_set(args.data)
    results = Results(args.out)
    for seed in args.seeds:
        for name in args.variants:
            config = {"gan": {**VARIANTS[name], "seed": seed}, "evaluate": YARDSTICK, "threads": args.threads,
                      "data": data_id}
            if not results.done(config):
                print(results.add(config, run(name, seed, args.threads, data, args.grids)), flush=True)
    print(table([r for r in results.rows if r["variant"] in args.variants]))


if __name__ == "__main__":
    main()
