"""What the quality studies share: the full configs they start from, training and scoring, and their rows.

A study never reads params.yaml: each variant is a complete `gan:` (or `vaegan:`) section written out here, so a
rerun trains what the row says whatever the defaults have become since. Every row (harness.record) holds that
section in full, the yardstick's `evaluate:` section, the thread count (torch's float sums, and so a run, differ
with it) and the sha256 of the training set, and a rerun skips exactly the rows already there for that config.
"""
from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

import apeart  # noqa: F401, I001  (first: sets the OpenMP wait policy before torch starts)
import torch
from apeart.gan.evaluate_params import EvaluateParams
from apeart.core.datasets import load_pngs
from apeart.core.runtime import deterministic

from harness import read_rows, record

CPU = torch.device("cpu")
DATA = Path("data/prepared/gan")  # the prepare stage's 64x64 set (1,024 demo apes at the default data: section)

# The default run's DCGAN: batch 8, ngf 32, ndf 32, 16 epochs, DiffAugment and EMA.
DCGAN: dict[str, Any] = {
    "seed": 0, "epochs": 16, "batch_size": 8, "processes": 1, "nz": 100, "ngf": 32, "ndf": 32, "lr": 0.0005,
    "d_lr_mult": 1.0, "lr_decay_from": 1.0, "beta1": 0.5, "beta2": 0.999, "init_std": 0.02, "leaky_slope": 0.2,
    "real_label": 1.0, "real_label_late": 1.0, "diffaugment": "translation,cutout", "ema_decay": 0.99,
    "precision": "fp32", "device": "cpu",
    "loss": "bce", "spectral_norm": False, "minibatch_std": False, "d_optimizer": "adam",
}
# The default run's VAE-GAN (Larsen et al. 2016 at an eighth of the width).
VAEGAN: dict[str, Any] = {
    "seed": 0, "epochs": 5, "batch_size": 16, "processes": 1, "latent": 128, "width": 0.125, "decoder": "larsen",
    "ngf": 32, "dis_layer": 4, "gamma": 0.01, "pixel_weight": 1.0, "dec_gan": "nonsaturating", "margin": 0.0,
    "equilibrium": 0.68, "optimizer": "adam", "lr": 0.0003, "beta1": 0.5, "beta2": 0.999, "device": "cpu",
}
# evaluate_gan's yardstick: FD and KID in conv5_1's pooled features.
YARDSTICK: dict[str, Any] = {"samples": 512, "layer": "conv5_1", "kid_subsets": 50, "kid_subset_size": 500}
SCORES = ("fd_vgg19", "kid_vgg19")


def section(cls: type, config: dict[str, Any]) -> Any:
    """`cls(**config)`, refusing a config that leaves out a field (a param added since it was written)."""
    missing = {f.name for f in dataclasses.fields(cls)} - set(config)
    if missing:
        raise SystemExit(f"{cls.__name__}: the study's config lacks {sorted(missing)}; write them into it")
    return cls(**config)


def training_set(folder: Path = DATA) -> tuple[torch.Tensor, dict[str, Any]]:
    """The 64x64 images, and what identifies them in a row (folder, count, sha256 of the pixels)."""
    data = load_pngs(folder)[1]
    return data, {"folder": str(folder), "images": len(data),
                  "sha256": hashlib.sha256(data.numpy().tobytes()).hexdigest()}


def seeded(seed: int, threads: int) -> None:
    """The stages' determinism settings, then `threads` torch threads."""
    deterministic(seed)
    torch.set_num_threads(threads)


def train(trainer_class: type, params: Any, data: torch.Tensor, threads: int, until: int | None = None) -> tuple[Any, float]:
    """A trainer of `params` on `data` from its seed, run to the end (or epoch `until`): (trainer, seconds).
    Its checkpoint lives in a temporary folder the trainer no longer needs once it has run."""
    seeded(params.seed, threads)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = trainer_class(params, data, CPU, Path(tmp) / "checkpoint.pt")
        trainer.run() if until is None else trainer.run(until=until)
    return trainer, time.perf_counter() - start


def yardstick() -> EvaluateParams:
    return section(EvaluateParams, YARDSTICK)


def scores(metrics: dict[str, Any]) -> dict[str, float]:
    """fd_vgg19 and kid_vgg19 of a score_generator result, with the real-vs-real floor and untrained ceiling."""
    return {**{k: metrics[k] for k in SCORES}, **{f"floor_{k}": metrics["real_floor"][k] for k in SCORES},
            **{f"ceiling_{k}": metrics["untrained_ceiling"][k] for k in SCORES}}


class Results:
    """A study's rows in one JSONL file: `done(config)` says whether a row of that exact config is there."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = read_rows(path)

    def done(self, config: dict[str, Any]) -> bool:
        return any(row.get("config") == config for row in self.rows)

    def add(self, config: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
        self.rows.append(record(self.path, config, results))
        return self.rows[-1]

