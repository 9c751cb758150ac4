"""Training a texture network: Adam on the Gatys loss of its outputs, a checkpoint every epoch."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch

from apeart.core.distributed import data_parallel, even_batches, mean_over_ranks
from apeart.core.trainer import EpochTrainer, TrainState
from apeart.nst.params import NstParams
from apeart.texnet.params import TexnetParams
from apeart.nst.objective import (
    Weights,
    blended_styles,
    content_features,
    objective_for,
)
from apeart.texnet.models import TextureNet
from apeart.vgg.backbones import VGGFeatures

TERMS = ("total", "content", "style", "tv")


def loss_network(nst: NstParams, device: torch.device) -> VGGFeatures:
    """The frozen VGG of the `nst` loss (backbone, pooling, content and style layers)."""
    layers = list(dict.fromkeys(nst.content_layers + nst.style_layers))
    return VGGFeatures(nst.backbone, layers, nst.pooling).to(device).eval().requires_grad_(False)


def weights_of(params: TexnetParams) -> Weights:
    """texnet.alpha, texnet.beta and texnet.tv_weight."""
    return Weights(params.alpha, params.beta, params.tv_weight)


def seeded_net(params: TexnetParams) -> TextureNet:
    """A texture network with PyTorch's default init drawn from texnet.seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params.seed)
        return TextureNet(params.levels, params.channels, params.norm)


def fingerprint(params: TexnetParams, nst: NstParams, images: torch.Tensor, styles: list[torch.Tensor]) -> str:
    """Hash of the texnet params (minus device and inference-only keys), the nst loss keys, and the training
    and style images."""
    p = params
    config = [p.size, p.levels, p.channels, p.norm, p.style_source, p.style_batch, p.alpha, p.beta, p.tv_weight,
              p.train_images, p.epochs, p.batch_size, p.processes, p.lr, p.noise_scale, p.seed]
    loss = [nst.backbone, nst.pooling, nst.content_layers, nst.style_layers, nst.style_layer_weights, nst.gram_norm,
            nst.style_blend_weights]
    digest = hashlib.sha256(json.dumps([config, loss], sort_keys=True).encode())
    for tensor in [images, *styles]:
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def loss_params(nst: NstParams, texnet: TexnetParams) -> NstParams:
    """The nst loss settings as the texture network uses them: no colour preservation (it learns colours),
    and nst.style_blend_weights only for paintings (a GAN batch is blended equally, as its mean Gram)."""
    return dataclasses.replace(nst, preserve_color="none",
                               style_blend_weights=nst.style_blend_weights if texnet.style_source == "images" else [])


class Loss:
    """The nst objective (layers, backbone, Gram convention) with texnet's weights towards one style."""

    def __init__(self, nst: NstParams, texnet: TexnetParams, styles: list[torch.Tensor], device: torch.device) -> None:
        nst = loss_params(nst, texnet)
        self.nst, self.weights = nst, weights_of(texnet)
        self.vgg = loss_network(nst, device)
        self.styles = blended_styles(self.vgg, [s.to(device) for s in styles], nst)

    def __call__(self, content: torch.Tensor, output: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-image losses of `output` for `content` (both RGB [0, 1], same shape)."""
        targets = content_features(self.vgg, content, self.nst)
        objective = objective_for(self.vgg, targets, self.styles, self.nst, self.weights, len(content))
        return objective(self.vgg.to_input(output))


class Trainer(EpochTrainer):
    """A texture network, its Adam state and RNG; `run` (core.trainer) trains to texnet.epochs, checkpointing
    each epoch.

    Under torchrun (`world` > 1) every rank draws the whole batch's order and noise from the one shared RNG and
    trains on its slice, DDP averaging the gradients: together the ranks compute the one-process batch, and
    rank 0's checkpoint (the RNG included) resumes them all."""

    stage = "train_texnet"

    def __init__(self, params: TexnetParams, nst: NstParams, images: torch.Tensor, styles: list[torch.Tensor],
                 device: torch.device, checkpoint: Path, rank: int = 0, world: int = 1) -> None:
        super().__init__(fingerprint(params, nst, images, styles), params.epochs, checkpoint, device, rank, world)
        self.params, self.nst, self.images = params, nst, images
        self.steps_per_epoch = len(self._batches(torch.arange(len(images))))
        self.net = seeded_net(params).to(device).train()
        self.model = data_parallel(self.net, world)
        self.losses = Loss(nst, params, styles, device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=params.lr)
        self.rng = torch.Generator().manual_seed(params.seed)

    def payload(self) -> dict:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict(), "rng": self.rng.get_state()}

    def restore(self, payload: dict) -> None:
        self.net.load_state_dict(payload["net"])
        self.opt.load_state_dict(payload["opt"])
        self.rng.set_state(payload["rng"])

    def _batches(self, order: torch.Tensor) -> list[torch.Tensor]:
        return even_batches(order, self.params.batch_size, self.world)

    def _epoch(self, epoch: int, bar) -> None:
        p, size = self.params, self.params.size
        order = torch.randperm(len(self.images), generator=self.rng)
        rows = []
        for idx in self._batches(order):
            noise = self.net.noise(len(idx), size, p.noise_scale, self.rng)
            mine = slice(self.rank, None, self.world)  # this rank's share of the batch
            content = self.images[idx[mine]].to(self.device).float().div_(255)
            losses = self.losses(content, self.model(content, [z[mine].to(self.device) for z in noise]))
            self.opt.zero_grad(set_to_none=True)
            losses["total"].mean().backward()
            self.opt.step()
            bar.update()
            rows.append(torch.stack([losses[t].detach().mean() for t in TERMS]))  # no host sync per step
        values = mean_over_ranks(torch.stack(rows), self.world).cpu()  # every rank sees (and checks) the same
        self.check_finite(values, epoch, "; lower texnet.lr")
        self.record(epoch, TERMS, values.tolist())

    def run(self, until: int | None = None) -> TrainState:
        """Train (core.trainer), then leave the network in eval mode."""
        state = super().run(until)
        self.net.eval()
        return state
