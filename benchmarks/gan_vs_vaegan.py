"""Seed 003's comparison: the default run's DCGAN and VAE-GAN (studies.DCGAN, studies.VAEGAN), each trained from
scratch per seed on data/prepared/gan and scored with evaluate_gan's yardstick (fd_vgg19, KID; the yardstick's
seed is the DCGAN section's 0, as in evaluate_gan and evaluate_vaegan).

The two models are trained one after the other for each seed, so their seconds per epoch come from the same
run and load. Each row records the model's full section, the yardstick, the thread count and the training set's
hash; a rerun skips the rows already there for that config.

    python benchmarks/gan_vs_vaegan.py [--seeds 0 1 2] [--vaegan-epochs N] [--threads N]
        [--out benchmarks/results/gan_vs_vaegan.jsonl]

--vaegan-epochs trains the VAE-GAN for N epochs instead of studies.VAEGAN's (equal wall-clock with the DCGAN).
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
from pathlib import Path
from typing import Any

from studies import CPU, DATA, DCGAN, VAEGAN, YARDSTICK, Results, scores, section, seeded, train, training_set, yardstick

from apeart.core.runtime import THREADS
from apeart.gan.params import GanParams
from apeart.vaegan.params import VaeganParams
from apeart.gan import train as gan
from apeart.gan.evaluate import score_generator
from apeart.vaegan import train as vaegan
from apeart.vaegan.evaluate import score_decoder

YARDSTICK_SEED = DCGAN["seed"]


def run(model: str, config: dict[str, Any], threads: int, data) -> dict[str, Any]:
    """Train `model` ("dcgan" or "vaegan") at its config and score it: the row's results."""
    reference = section(GanParams, DCGAN)  # the yardstick's seed and sample noise
    if model == "dcgan":
        params = section(GanParams, config)
        trainer, seconds = train(gan.Trainer, params, data, threads)
        seeded(YARDSTICK_SEED, threads)
        metrics, _ = score_generator(trainer.sampler, dataclasses.replace(params, seed=reference.seed), yardstick(),
                                     data, CPU)
    else:
        params = section(VaeganParams, config)
        trainer, seconds = train(vaegan.Trainer, params, data, threads)
        seeded(YARDSTICK_SEED, threads)
        metrics, _ = score_decoder(trainer.Dec, params.latent, reference, yardstick(), data, CPU)
    return {"model": model, "seed": params.seed, "epochs": params.epochs,
            "s_per_epoch": round(seconds / params.epochs, 2), **scores(metrics)}


def table(rows: list[dict]) -> str:
    """Markdown: one line per model and epochs, fd_vgg19 per seed, mean and spread, KID mean, median s/epoch."""
    lines = ["| model | epochs | fd_vgg19 per seed | mean (min-max) | mean kid_vgg19 | s/epoch (median) |",
             "|---|---|---|---|---|---|"]
    for model, epochs in sorted({(r["model"], r["epochs"]) for r in rows}):
        mine = sorted((r for r in rows if (r["model"], r["epochs"]) == (model, epochs)), key=lambda r: r["seed"])
        fds = [r["fd_vgg19"] for r in mine]
        lines.append(f"| {model} | {epochs} | {' / '.join(f'{x:.1f}' for x in fds)} | {statistics.mean(fds):.1f} "
                     f"({min(fds):.1f}-{max(fds):.1f}) | {statistics.mean(r['kid_vgg19'] for r in mine):.3f} | "
                     f"{statistics.median(r['s_per_epoch'] for r in mine):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--vaegan-epochs", type=int, default=VAEGAN["epochs"])
    parser.add_argument("--threads", type=int, default=THREADS, help="torch threads (default: the stage's)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gan_vs_vaegan.jsonl"))
    parser.add_argument("--data", type=Path, default=DATA, help="the prepared 64x64 set")
    args = parser.parse_args()
    data, data_id = training_set(args.data)
    results = Results(args.out)
    for seed in args.seeds:
        for model, base in (("dcgan", DCGAN), ("vaegan", {**VAEGAN, "epochs": args.vaegan_epochs})):
            config = {model: {**base, "seed": seed}, "yardstick_gan": DCGAN, "evaluate": YARDSTICK,
                      "threads": args.threads, "data": data_id}
            if not results.done(config):
                print(results.add(config, run(model, config[model], args.threads, data)), flush=True)
    print(table(results.rows))


if __name__ == "__main__":
    main()
