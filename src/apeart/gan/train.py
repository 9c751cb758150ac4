"""DCGAN training loop with per-epoch checkpoints that make a killed run resume exactly, saving the sampler's
images for a fixed noise after every epoch (the figure stages draw them)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from apeart.core.config import as_dict
from apeart.core.distributed import data_parallel, even_batches, gather_objects, mean_over_ranks
from apeart.core.runtime import fast_layout
from apeart.core.trainer import EpochTrainer
from apeart.gan.augment import diff_augment
from apeart.gan.models import Generator, initialised_discriminator, seeded_generator, to_uint8
from apeart.gan.params import FIXED_SAMPLES, GanParams


DIVERGED = 1e3  # a BCE loss this large means logits of ~1e3: the run is broken, not merely unstable
SUSPECT = 50.0  # a last-epoch mean loss above this is worth a warning


def loss_warning(history: list[dict[str, float]]) -> str | None:
    """A warning when the last epoch's mean D or G loss is suspiciously high (unstable training), else None."""
    last = [h for h in history if h["epoch"] == history[-1]["epoch"]] if history else []
    for name in ("d_loss", "g_loss"):
        mean = sum(h[name] for h in last) / max(1, len(last))
        if mean > SUSPECT:
            return (f"last epoch's mean {name} is {mean:.3g} (> {SUSPECT:g}): training is unstable; "
                    "the samples are likely noise (lower gan.lr?)")
    return None


def fingerprint(params: GanParams, data: torch.Tensor) -> str:
    """Hash of the GAN params (minus device) and the training images; names a resumable run."""
    config = {k: v for k, v in as_dict(params).items() if k != "device"}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    digest.update(str(tuple(data.shape)).encode())
    digest.update(data.numpy().tobytes())
    return digest.hexdigest()[:16]


def real_label_at(params: GanParams, epoch: int) -> float:
    """One-sided label smoothing schedule: `real_label`, then `real_label_late` from halfway."""
    return params.real_label if epoch < params.epochs // 2 else params.real_label_late


def discriminator_loss(loss: str, out_real: torch.Tensor, out_fake: torch.Tensor, real_label: float) -> torch.Tensor:
    """D's loss on its logits: BCE against `real_label` and 0, or the hinge loss (Lim & Ye 2017; no labels)."""
    if loss == "hinge":
        return F.relu(1 - out_real).mean() + F.relu(1 + out_fake).mean()
    return (F.binary_cross_entropy_with_logits(out_real, torch.full_like(out_real, real_label))
            + F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake)))


def ema_beta(decay: float, step: int) -> float:
    """EMA decay at optimiser step `step` (0-based): min(decay, (1 + t) / (10 + t)).

    The ramp keeps the average over roughly the last t/9 steps early on, so it forgets the random init;
    `decay` itself binds from step (10 * decay - 1) / (1 - decay) on (step 890, the 891st update, for 0.99).
    """
    return min(decay, (1 + step) / (10 + step))


def lr_factor(step: int, total: int, decay_from: float) -> float:
    """The lrs' multiplier at optimiser step `step` (0-based) of `total`: 1, then from step `decay_from * total` on
    linearly down to 0 at `total`, after the last step (`decay_from` 1: always 1)."""
    start = decay_from * total
    return 1.0 if step < start or start == total else (total - step) / (total - start)


class RampedEma:
    """`multi_avg_fn` for `AveragedModel`: the EMA update with decay `ema_beta(decay, step)`.

    The trainer sets `step` before each update: a host int, which resumes with the checkpointed step
    (AveragedModel's `n_averaged` buffer is not in the checkpoint; it only has to be non-zero)."""

    def __init__(self, decay: float) -> None:
        self.decay, self.step = decay, 0

    def __call__(self, ema: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        get_ema_multi_avg_fn(ema_beta(self.decay, self.step))(ema, current, n_averaged)


class Trainer(EpochTrainer):
    """Holds G, D, their optimisers and RNG; `run` (core.trainer) trains to `params.epochs`, checkpointing
    each epoch.

    With `ema_decay > 0` it also keeps `G_ema`, an exponential moving average of G's weights (the module
    of a torch.optim.swa_utils.AveragedModel, `ema`); `sampler` is the network to draw images from (G_ema
    when enabled, else G). `samples[e]` holds the sampler's images for the fixed noise after epoch e (0: the
    initialisation); that noise comes from a generator of its own, so the samples never move the training RNG.
    """

    stage = "train_gan"

    def __init__(self, params: GanParams, data: torch.Tensor, device: torch.device, checkpoint: Path,
                 rank: int = 0, world: int = 1) -> None:
        super().__init__(fingerprint(params, data), params.epochs, checkpoint, device, rank, world)
        self.params, self.data = params, data
        self.rng = torch.Generator().manual_seed(params.seed)
        # Under torchrun the batch order and noise come from the shared `rng` (every rank slices the one-process
        # batch); DiffAugment draws per image of a rank's own slice, from a generator of its own.
        self.aug_rng = self.rng if world == 1 else torch.Generator().manual_seed(params.seed * 1_000_003 + rank + 1)
        self.G = seeded_generator(params)
        self.D = initialised_discriminator(params)  # drawn from the global RNG right after G's
        # channels_last on the CPU: 0.92x a step's time at the default and at the paper width (bench_gan)
        self.G.to(device, memory_format=fast_layout(device))
        self.D.to(device, memory_format=fast_layout(device))
        self.G_ddp, self.D_ddp = data_parallel(self.G, world), data_parallel(self.D, world)
        self.policy = params.policy
        self.G_ema: Generator | None = None
        self.ema: AveragedModel | None = None
        if params.ema_decay > 0:
            self._ema_fn = RampedEma(params.ema_decay)
            self.ema = AveragedModel(self.G, multi_avg_fn=self._ema_fn).eval().requires_grad_(False)
            self.ema.n_averaged.fill_(1)  # G's init counts as the first average: step 0 blends, it does not copy
            self.G_ema = self.ema.module
        betas = (params.beta1, params.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=params.lr, betas=betas)
        d_lr = params.lr * params.d_lr_mult
        self.opt_d = (torch.optim.Adam(self.D.parameters(), lr=d_lr, betas=betas) if params.d_optimizer == "adam"
                      else torch.optim.RMSprop(self.D.parameters(), lr=d_lr))
        self.steps_per_epoch = len(self._batches(torch.arange(len(data))))
        total = params.epochs * self.steps_per_epoch
        self.schedulers = [LambdaLR(opt, lambda step: lr_factor(step, total, params.lr_decay_from))
                           for opt in (self.opt_g, self.opt_d)]
        noise = torch.Generator().manual_seed(params.seed)
        self.fixed_z = torch.randn(FIXED_SAMPLES, params.nz, 1, 1, generator=noise).to(device)
        self.samples: list[torch.Tensor] = []

    @property
    def sampler(self) -> Generator:
        """The generator to sample from and to save: the EMA copy when enabled, else G."""
        return self.G_ema if self.G_ema is not None else self.G

    def sample_fixed(self) -> torch.Tensor:
        """The sampler's images (eval mode) for the fixed noise, as uint8."""
        net = self.sampler
        was_training = net.training
        net.eval()
        with torch.no_grad():
            images = to_uint8(net(self.fixed_z))
        net.train(was_training)
        return images

    def _update_ema(self, step: int) -> None:
        """G_ema <- beta * G_ema + (1 - beta) * G for weights, beta = ema_beta(ema_decay, step); BatchNorm
        statistics are copied (AveragedModel with use_buffers=False)."""
        assert self.ema is not None
        self._ema_fn.step = step
        self.ema.update_parameters(self.G)

    def payload(self) -> dict:
        """The samples, networks, optimisers, schedulers and RNG; under torchrun also every rank's DiffAugment
        generator."""
        extra = {} if self.world == 1 else {"aug_rngs": gather_objects(self.aug_rng.get_state(), self.world)}
        return {
            "samples": self.samples,
            "G": self.G.state_dict(),
            "G_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "schedulers": [s.state_dict() for s in self.schedulers],
            "rng": self.rng.get_state(),
            **extra,
        }

    def restore(self, payload: dict) -> None:
        self.G.load_state_dict(payload["G"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(payload["G_ema"])
        self.D.load_state_dict(payload["D"])
        self.opt_g.load_state_dict(payload["opt_g"])
        self.opt_d.load_state_dict(payload["opt_d"])
        for scheduler, state in zip(self.schedulers, payload["schedulers"]):
            scheduler.load_state_dict(state)
        self.rng.set_state(payload["rng"])
        if self.world > 1:
            self.aug_rng.set_state(payload["aug_rngs"][self.rank])
        self.samples = list(payload["samples"])

    def _autocast(self) -> torch.autocast:
        """bf16 autocast for the forward passes when `precision: bf16`; a no-op for fp32."""
        return torch.autocast(self.device.type, torch.bfloat16, enabled=self.params.precision == "bf16")

    def _batches(self, order: torch.Tensor) -> list[torch.Tensor]:
        return even_batches(order, self.params.batch_size, self.world)

    def _epoch(self, epoch: int, bar: tqdm) -> None:
        p, data, device = self.params, self.data, self.device
        order = torch.randperm(len(data), generator=self.rng)
        batches = self._batches(order)
        real_label = real_label_at(p, epoch)
        losses = []
        aug = (lambda x: diff_augment(x, self.policy, self.aug_rng)) if self.policy else (lambda x: x)
        mine = slice(self.rank, None, self.world)  # this rank's share of each batch
        for i, idx in enumerate(batches):
            real = data[idx[mine]].to(device, non_blocking=True).float().div_(127.5).sub_(1)
            z = torch.randn(len(idx), p.nz, 1, 1, generator=self.rng)[mine].to(device, non_blocking=True)
            with self._autocast():
                fake = self.G_ddp(z)
                out_real, out_fake = self.D_ddp(aug(real)).float(), self.D_ddp(aug(fake.detach())).float()

            self.opt_d.zero_grad(set_to_none=True)
            d_loss = discriminator_loss(p.loss, out_real, out_fake, real_label)
            d_loss.backward()
            self.opt_d.step()

            # G's step needs gradients through D, not of D's weights: skipping those saves ~10% of a step.
            # D itself, not its DDP wrapper: no gradient of D's weights to average in this backward.
            self.D.requires_grad_(False)
            with self._autocast():
                out = self.D(aug(fake)).float()
            self.D.requires_grad_(True)
            self.opt_g.zero_grad(set_to_none=True)
            g_loss = F.binary_cross_entropy_with_logits(out, torch.ones_like(out)) if p.loss == "bce" else -out.mean()
            g_loss.backward()
            self.opt_g.step()
            for scheduler in self.schedulers:
                scheduler.step()
            bar.update()
            if self.G_ema is not None:
                self._update_ema(self.state.step + i)
            # Kept on the device: no host sync per step.
            losses.append(torch.stack([d_loss.detach(), g_loss.detach(), out_real.detach().sigmoid().mean(),
                                       out_fake.detach().sigmoid().mean()]))
        values = mean_over_ranks(torch.stack(losses), self.world).cpu()  # every rank sees (and checks) the same
        self.check_finite(values, epoch)
        huge = (values[:, :2] > DIVERGED).any(1).nonzero()
        if len(huge):
            i = int(huge[0])
            d, g = values[i, :2].tolist()
            raise self.fault("diverged", epoch + 1, self.state.step + i + 1,
                             f": d_loss {d:.3g}, g_loss {g:.3g} (> {DIVERGED:g}); lower gan.lr")
        self.record(epoch, ("d_loss", "g_loss", "d_real", "d_fake"), values.tolist())

    def start(self) -> None:
        self.samples.append(self.sample_fixed())

    def end_epoch(self) -> None:
        self.samples.append(self.sample_fixed())
