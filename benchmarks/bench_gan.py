"""GAN training throughput: our Trainer vs a pytorch/examples-style loop, same data, same run.

The baseline decodes PNGs with PIL through torchvision's ImageFolder and a DataLoader every epoch
(NCHW, fp32, a `.item()` host sync per step, as pytorch/examples/dcgan does); ours decodes once into a
uint8 tensor, skips D's weight gradients in G's step and, with `precision: bf16`, runs the forward passes
under bf16 autocast. Same models, batch and optimiser settings; DiffAugment and EMA off so all do the same
arithmetic. Prints images/s of each and the ratios to the baseline.

    python benchmarks/bench_gan.py [--images 512] [--repeats 3]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision import datasets, transforms

import apeart  # noqa: F401  (sets the OpenMP wait policy before torch starts)
from apeart.collection.demo import generate
from apeart.core.config import GanParams
from apeart.core.datasets import load_pngs
from apeart.gan.models import Discriminator, Generator, init_weights
from apeart.gan.train import Trainer
from apeart.prepare import prepare_images


def baseline_epoch(folder: Path, params: GanParams) -> int:
    """One epoch the pytorch/examples way; returns images seen."""
    torch.manual_seed(0)
    data = datasets.ImageFolder(str(folder), transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)]))
    loader = torch.utils.data.DataLoader(data, batch_size=params.batch_size, shuffle=True, num_workers=0)
    G, D = Generator(params.nz, params.ngf), Discriminator(params.ndf, params.leaky_slope)
    G.apply(init_weights)
    D.apply(init_weights)
    opt_g = torch.optim.Adam(G.parameters(), lr=params.lr, betas=(params.beta1, params.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=params.lr, betas=(params.beta1, params.beta2))
    seen = 0
    for real, _ in loader:
        z = torch.randn(len(real), params.nz, 1, 1)
        fake = G(z)
        opt_d.zero_grad()
        out_real, out_fake = D(real), D(fake.detach())
        d_loss = F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real)) + \
            F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake))
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        out = D(fake)
        F.binary_cross_entropy_with_logits(out, torch.ones_like(out)).backward()
        opt_g.step()
        print(f"{d_loss.item():.3f}", end="\r")  # the per-step host sync the examples do when logging
        seen += len(real)
    return seen


def ours_epoch(folder: Path, params: GanParams, work: Path) -> int:
    """One epoch of our Trainer, including the one-time decode; returns images seen."""
    data = load_pngs(folder)[1]
    ckpt = work / f"ckpt-{time.monotonic_ns()}.pt"
    Trainer(params, data, torch.device("cpu"), ckpt).run()
    ckpt.unlink()
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = GanParams(epochs=1, ngf=64, ndf=64, batch_size=64, diffaugment="", ema_decay=0.0, grid_size=1)
    bf16 = dataclasses.replace(params, precision="bf16")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generate(range(args.images), 0, work / "raw")
        prepare_images(sorted((work / "raw").glob("*.png")), work / "gan" / "all", 64)
        runs = {
            "baseline (ImageFolder + PIL each epoch, fp32)": lambda: baseline_epoch(work / "gan", params),
            "ours fp32 (uint8 tensor, Trainer)": lambda: ours_epoch(work / "gan" / "all", params, work),
            "ours bf16 (precision: bf16)": lambda: ours_epoch(work / "gan" / "all", bf16, work),
        }
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):  # interleaved
            for name, run in runs.items():
                start = time.perf_counter()
                seen = run()
                rates[name].append(seen / (time.perf_counter() - start))
    print(f"threads={torch.get_num_threads()} images={args.images} ngf=ndf=64 batch=64 repeats={args.repeats}")
    base = statistics.median(next(iter(rates.values())))
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:46s} {median:6.1f} img/s  {median / base:.2f}x  {[round(r, 1) for r in values]}")


if __name__ == "__main__":
    main()
