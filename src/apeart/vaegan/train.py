"""VAE-GAN training (Larsen et al. 2016, Algorithm 1) with per-epoch checkpoints that make a killed run resume exactly.

Losses per batch x (all means over the batch):
  L_prior = KL(q(z|x) || N(0, I)), summed over the latent dimensions;
  L_llike = 1/2 ||Dis_l(x~) - Dis_l(x)||^2, summed over Dis_l's features: the Gaussian negative log-likelihood
            (sigma 1, constant dropped) of Larsen's `GaussianNegLogLikelihood`; x~ = Dec(z), z ~ q(z|x); Dis_l(x)
            is the target (no gradient), and D's weights get none of this loss (Larsen: weight 0);
  L_GAN   = BCE(D(x), 1) + BCE(D(x~), 0) + BCE(D(x_p), 0), x_p = Dec(z_p), z_p ~ N(0, I) (their eq. 9).
Updates: encoder <- L_prior + L_llike; decoder <- gamma * L_llike - L_GAN; discriminator <- L_GAN. As in Larsen's
code, the GAN term reaches the decoder from a second decode of z with its gradient to the encoder cut, and
the equilibrium rule skips D's step while D is too good (a real or fake BCE below equilibrium - margin) and
the decoder's while D is too poor (above equilibrium + margin).

gamma is Larsen's, in Larsen's scaling: L_llike is a per-image *sum* over Dis_l (256 x 8 x 8 at their width) and
L_GAN a per-image BCE, as in their summed losses; the default 1e-5 is their CelebA value (`recon_vs_gan_weight`).
One backward pass computes every gradient: the decoder output on the L_llike path is scaled by gamma on the
way back (its input by 1/gamma, so the encoder still gets the full L_llike), the GAN decode's output passes a
gradient reversal (the decoder ascends L_GAN), and Dis_l for L_llike runs D's weights detached.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call
from tqdm import tqdm

from apeart.core.config import as_dict
from apeart.core.distributed import data_parallel, even_batches, mean_over_ranks
from apeart.core.trainer import EpochTrainer
from apeart.gan.models import to_uint8
from apeart.gan.params import FIXED_SAMPLES
from apeart.vaegan.models import Discriminator, seeded_networks
from apeart.vaegan.params import VaeganParams

DIVERGED = 1e6  # an L_llike/KL this large (or a BCE of ~1e6) means the run is broken
CURVES = ("kl", "llike", "d_loss", "dec_gan", "d_real", "d_fake")


class ScaleGrad(torch.autograd.Function):
    """Identity forward; the gradient times `scale` backward (Larsen's ScaleGradient)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad * ctx.scale, None


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row: -1/2 sum(1 + logvar - mu^2 - exp(logvar)); (B,)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


def reparameterise(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """z = mu + sigma * eps: differentiable in mu and logvar."""
    return mu + (0.5 * logvar).exp() * eps


def frozen(D: nn.Module) -> dict[str, Tensor]:
    """D's parameters and buffers detached, for `functional_call`: a loss through D that trains only its inputs."""
    return {k: v.detach() for k, v in D.state_dict(keep_vars=True).items()}


def feature_llike(D: Discriminator, fake: Tensor, real: Tensor) -> Tensor:
    """L_llike per image (B,): 1/2 squared distance of Dis_l features, real as the target.

    As in Larsen's code, fake and real go through D in one batch (the same BatchNorm statistics) and D's
    weights are detached: this loss trains the encoder and decoder, never D."""
    feats = functional_call(D, frozen(D), args=(torch.cat([fake, real]),), kwargs={"dis_l": True})
    f_fake, f_real = feats[: len(fake)], feats[len(fake) :].detach()
    return 0.5 * (f_fake - f_real).pow(2).flatten(1).sum(1)


def pixel_llike(fake: Tensor, real: Tensor) -> Tensor:
    """Pixel-space Gaussian NLL per image (B,): 1/2 squared distance summed over pixels ([-1, 1] units)."""
    return 0.5 * (fake - real).pow(2).flatten(1).sum(1)


def fingerprint(params: VaeganParams, data: Tensor) -> str:
    """Hash of the VAE-GAN params (minus device) and the training images; names a resumable run."""
    config = {k: v for k, v in as_dict(params).items() if k != "device"}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    digest.update(str(tuple(data.shape)).encode())
    digest.update(data.numpy().tobytes())
    return digest.hexdigest()[:16]


def _optimiser(params: VaeganParams, module: nn.Module) -> torch.optim.Optimizer:
    if params.optimizer == "rmsprop":
        return torch.optim.RMSprop(module.parameters(), lr=params.lr)
    return torch.optim.Adam(module.parameters(), lr=params.lr, betas=(params.beta1, params.beta2))


class Trainer(EpochTrainer):
    """Holds E, Dec, D, their optimisers and RNG; `run` (core.trainer) trains to `params.epochs`, checkpointing
    each epoch.

    Under torchrun (`world` > 1) every rank draws the whole batch's order and noise from the one shared RNG and
    trains on its slice, each network in DDP; the losses the equilibrium rule reads are averaged over the
    ranks, so all take the same decision. Rank 0's checkpoint (the RNG included) resumes them all.
    `samples[e]` holds the decoder's images for a fixed prior noise after epoch e (0: the initialisation), that
    noise drawn from a generator of its own."""

    stage = "train_vaegan"

    def __init__(self, params: VaeganParams, data: Tensor, device: torch.device, checkpoint: Path,
                 rank: int = 0, world: int = 1) -> None:
        super().__init__(fingerprint(params, data), params.epochs, checkpoint, device, rank, world)
        self.params, self.data = params, data
        self.steps_per_epoch = len(self._batches(torch.arange(len(data))))
        self.rng = torch.Generator().manual_seed(params.seed)
        E, Dec, D = seeded_networks(params)
        self.E, self.Dec, self.D = E.to(device), Dec.to(device), D.to(device)
        # Dec runs twice per step: one backward still gives each parameter one summed gradient to average.
        self.E_ddp, self.Dec_ddp, self.D_ddp = (data_parallel(m, world) for m in (self.E, self.Dec, self.D))
        self.opt_e, self.opt_dec, self.opt_d = (_optimiser(params, m) for m in (self.E, self.Dec, self.D))
        noise = torch.Generator().manual_seed(params.seed)
        self.fixed_z = torch.randn(FIXED_SAMPLES, params.latent, generator=noise).to(device)
        self.samples: list[Tensor] = []

    def sample_fixed(self) -> Tensor:
        """The decoder's images (eval mode) for the fixed prior noise, as uint8."""
        was = self.Dec.training
        self.Dec.eval()
        with torch.no_grad():
            images = to_uint8(self.Dec(self.fixed_z))
        self.Dec.train(was)
        return images

    def payload(self) -> dict:
        return {
            "samples": self.samples,
            "E": self.E.state_dict(), "Dec": self.Dec.state_dict(), "D": self.D.state_dict(),
            "opt_e": self.opt_e.state_dict(), "opt_dec": self.opt_dec.state_dict(), "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state(),
        }

    def restore(self, payload: dict) -> None:
        for name in ("E", "Dec", "D", "opt_e", "opt_dec", "opt_d"):
            getattr(self, name).load_state_dict(payload[name])
        self.rng.set_state(payload["rng"])
        self.samples = list(payload["samples"])

    def losses(self, real: Tensor) -> dict[str, Tensor]:
        """One batch's forward pass: the three losses (means), the decoder's GAN objective, D's mean outputs,
        and `total`, whose single backward gives every network its own gradient (module docstring)."""
        p = self.params
        gamma = max(p.gamma, 1e-30)  # gamma 0: the decoder ignores L_llike; the encoder still gets all of it
        mu, logvar = self.E_ddp(real)
        eps = self._noise(mu.shape)
        z = reparameterise(mu, logvar, eps)
        z_prior = self._noise(mu.shape)

        recon = ScaleGrad.apply(self.Dec_ddp(ScaleGrad.apply(z, 1.0 / gamma)), gamma if p.gamma > 0 else 0.0)
        kl = kl_divergence(mu, logvar).mean()
        llike = feature_llike(self.D, recon, real).mean()
        if p.pixel_weight > 0:
            llike = llike + p.pixel_weight * pixel_llike(recon, real).mean()

        fakes = self.Dec_ddp(torch.cat([z.detach(), z_prior]))  # Larsen: the GAN decode; no GAN gradient to E
        n = len(real)
        if p.dec_gan == "minimax":  # Larsen: the decoder ascends D's own loss (gradient reversal, one D pass)
            logits = self.D_ddp(torch.cat([real, ScaleGrad.apply(fakes, -1.0)]))
            dec_gan = None
        else:  # non-saturating: D's loss on detached fakes; the decoder's through D with its weights detached
            logits = self.D_ddp(torch.cat([real, fakes.detach()]))
            dec_logits = functional_call(self.D, frozen(self.D), (torch.cat([real, fakes]),))[n:]
            dec_gan = 2 * F.binary_cross_entropy_with_logits(dec_logits, torch.ones_like(dec_logits))
        out_real, out_recon, out_prior = logits[:n], logits[n : 2 * n], logits[2 * n :]
        bce_real = F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real))
        bce_fake = F.binary_cross_entropy_with_logits(logits[n:], torch.zeros_like(logits[n:]))
        gan = bce_real + F.binary_cross_entropy_with_logits(out_recon, torch.zeros_like(out_recon)) \
            + F.binary_cross_entropy_with_logits(out_prior, torch.zeros_like(out_prior))
        total = kl + llike + gan + (dec_gan if dec_gan is not None else 0)
        return {"total": total, "kl": kl, "llike": llike, "d_loss": gan,
                "dec_gan": -gan if dec_gan is None else dec_gan,
                "bce_real": bce_real, "bce_fake": bce_fake,
                "d_real": out_real.detach().sigmoid().mean(), "d_fake": logits[n:].detach().sigmoid().mean()}

    def _noise(self, shape: torch.Size) -> Tensor:
        """N(0, I) for this rank's slice of the whole batch, drawn from the shared RNG."""
        whole = torch.randn(shape[0] * self.world, *shape[1:], generator=self.rng)
        return whole[self.rank :: self.world].to(self.device)

    def step(self, real: Tensor) -> dict[str, float]:
        """One update of all three networks (the equilibrium rule may skip D's or the decoder's)."""
        p = self.params
        for opt in (self.opt_e, self.opt_dec, self.opt_d):
            opt.zero_grad(set_to_none=True)
        out = self.losses(real)
        out["total"].backward()
        names = [k for k in out if k != "total"]
        means = mean_over_ranks(torch.stack([out[k].detach() for k in names]), self.world)
        values = dict(zip(names, means.tolist()))
        update_dec = update_d = True
        if p.margin > 0:
            lo, hi = p.equilibrium - p.margin, p.equilibrium + p.margin
            update_d = not (values["bce_real"] < lo or values["bce_fake"] < lo)
            update_dec = not (values["bce_real"] > hi or values["bce_fake"] > hi)
            if not (update_d or update_dec):
                update_d = update_dec = True
        bad = [k for k, v in values.items() if not torch.isfinite(torch.tensor(v)) or abs(v) > DIVERGED]
        if bad:
            raise self.fault(f"non-finite or diverged {bad[0]} ({values[bad[0]]:.3g})", self.state.epoch + 1,
                             self.state.step + 1, "; lower vaegan.lr")
        self.opt_e.step()
        if update_dec:
            self.opt_dec.step()
        if update_d:
            self.opt_d.step()
        values["dec_update"], values["d_update"] = float(update_dec), float(update_d)
        return values

    def _batches(self, order: Tensor) -> list[Tensor]:
        """The epoch's batches; BatchNorm needs two images a rank, so a last batch short of that is dropped."""
        return [b for b in even_batches(order, self.params.batch_size, self.world) if len(b) >= 2 * self.world]

    def _epoch(self, epoch: int, bar: tqdm) -> None:
        data = self.data
        order = torch.randperm(len(data), generator=self.rng)
        for idx in self._batches(order):
            real = data[idx[self.rank :: self.world]].to(self.device).float().div_(127.5).sub_(1)
            values = self.step(real)
            self.state.step += 1
            self.state.history.append({"step": self.state.step, "epoch": epoch + 1, **values})
            bar.update()

    def start(self) -> None:
        self.samples.append(self.sample_fixed())

    def end_epoch(self) -> None:
        self.samples.append(self.sample_fixed())
