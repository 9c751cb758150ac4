"""Seed 003's comparison on this CPU: the default DCGAN and the default VAE-GAN, each trained from scratch per
seed on data/prepared/gan and scored with evaluate_gan's yardstick (fd_vgg19, KID).

The two models are trained one after the other for each seed, so their seconds per epoch come from the same
run and load. Results are appended to --out as JSON lines, each with the model's params; a rerun skips the rows
already there for the same params.

    python benchmarks/gan_vs_vaegan.py [--seeds 0 1 2] [--vaegan-epochs N] [--out benchmarks/results/gan_vs_vaegan.jsonl]

--vaegan-epochs trains the VAE-GAN for N epochs instead of vaegan.epochs (equal wall-clock with the DCGAN).
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
from apeart.core.config import as_dict
from apeart.params import Params, load_params
from apeart.core.datasets import load_pngs
from apeart.core.runtime import deterministic
from apeart.gan import train as gan
from apeart.gan.evaluate import score_generator
from apeart.vaegan import train as vaegan
from apeart.vaegan.evaluate import score_decoder

CPU = torch.device("cpu")


def section_of(model: str, params: Params) -> dict:
    """The model's params, minus the seed and device (what a row was measured with)."""
    section = as_dict(params.gan if model == "dcgan" else params.vaegan)
    return {k: v for k, v in section.items() if k not in ("seed", "device")}


def train(model: str, params: Params, seed: int, data: torch.Tensor) -> tuple[dict, float]:
    """Train `model` ("dcgan" or "vaegan") at its defaults with `seed`; (scores, seconds per epoch)."""
    section = dataclasses.replace(params.gan if model == "dcgan" else params.vaegan, seed=seed, device="cpu")
    deterministic(seed)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        Trainer = gan.Trainer if model == "dcgan" else vaegan.Trainer
        trainer = Trainer(section, data, CPU, Path(tmp) / "checkpoint.pt")
        trainer.run()
    seconds = (time.perf_counter() - start) / section.epochs
    deterministic(params.gan.seed)  # the yardstick's seed, as in evaluate_gan and evaluate_vaegan
    if model == "dcgan":
        scores, _ = score_generator(trainer.sampler, dataclasses.replace(section, seed=params.gan.seed),
                                    params.evaluate, data, CPU)
    else:
        scores, _ = score_decoder(trainer.Dec, section.latent, params.gan, params.evaluate, data, CPU)
    return scores, seconds


def table(rows: list[dict]) -> str:
    """Markdown: one line per model, fd_vgg19 per seed, mean and spread, KID mean, median seconds per epoch."""
    lines = ["| model | fd_vgg19 per seed | mean (min-max) | mean kid_vgg19 | s/epoch (median) | epochs |",
             "|---|---|---|---|---|---|"]
    for model, epochs in sorted({(r["model"], r["epochs"]) for r in rows}):
        mine = sorted((r for r in rows if (r["model"], r["epochs"]) == (model, epochs)), key=lambda r: r["seed"])
        if mine:
            fds = [r["fd_vgg19"] for r in mine]
            lines.append(f"| {model} | {' / '.join(f'{x:.1f}' for x in fds)} | {statistics.mean(fds):.1f} "
                         f"({min(fds):.1f}-{max(fds):.1f}) | {statistics.mean(r['kid_vgg19'] for r in mine):.3f} | "
                         f"{statistics.median(r['s_per_epoch'] for r in mine):.1f} | {epochs} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--vaegan-epochs", type=int)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gan_vs_vaegan.jsonl"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    params = load_params()
    if args.vaegan_epochs:
        params = dataclasses.replace(params, vaegan=dataclasses.replace(params.vaegan, epochs=args.vaegan_epochs))
    rows = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.is_file() else []
    rows = [r for r in rows if r["params"] == section_of(r["model"], params)]
    data = load_pngs(Path("data/prepared/gan"))[1]
    for seed in args.seeds:
        for model in ("dcgan", "vaegan"):
            if any(r["model"] == model and r["seed"] == seed for r in rows):
                continue
            scores, seconds = train(model, params, seed, data)
            epochs = (params.gan if model == "dcgan" else params.vaegan).epochs
            rows.append({"model": model, "seed": seed, "epochs": epochs, "s_per_epoch": round(seconds, 2),
                         **{k: scores[k] for k in ("fd_vgg19", "kid_vgg19", "floor_fd_vgg19", "ceiling_fd_vgg19")},
                         "params": section_of(model, params)})
            with args.out.open("a") as f:
                f.write(json.dumps(rows[-1]) + "\n")
            print(json.dumps(rows[-1]), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
