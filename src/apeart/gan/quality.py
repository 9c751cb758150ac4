"""GAN sample quality offline: Frechet distance and KID in VGG19 feature space (and Inception when cached)."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from apeart.vgg.backbones import IMAGENET_MEAN, IMAGENET_STD, VGGFeatures, cached_weights_file

INCEPTION_WEIGHTS = "inception_v3_google-0cc3c7bd.pth"  # torchvision's IMAGENET1K_V1 file (vgg/backbones.py)


class FeatureExtractor:
    """Maps uint8 images (N, 3, H, W) to one feature vector each, in batches, without gradients."""

    def __init__(self, net: torch.nn.Module, size: int | None, device: torch.device) -> None:
        self.net, self.size, self.device = net.to(device).eval(), size, device

    def embed(self, net_input: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
        out = []
        for i in range(0, len(images), batch):
            x = images[i : i + batch].to(self.device).float() / 255
            if self.size and x.shape[-1] != self.size:
                x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
            out.append(self.embed(x).double().cpu())
        return torch.cat(out)


class VGGEmbedding(FeatureExtractor):
    """Global-average-pooled activations of one layer (evaluate.layer) of the offline Caffe VGG19, divided by 255.

    The Caffe network sees 0-255 input; the division brings its features to the magnitude of Inception's
    pool features, where KID's cubic kernel (x.y/d + 1)^3 is meant to work.
    """

    def __init__(self, device: torch.device, layer: str, size: int | None = None) -> None:
        super().__init__(VGGFeatures("vgg19_caffe", [layer]), size, device)
        self.layer = layer

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.net.to_input(x))[self.layer].mean((2, 3)) / 255


class InceptionEmbedding(FeatureExtractor):
    """torchvision Inception-v3 pool features (2048-d), only from weights already in the torch cache."""

    def __init__(self, device: torch.device) -> None:
        from torchvision import models  # only here: core/grids.py says why

        net = models.inception_v3(weights=None, aux_logits=True, init_weights=False)
        net.load_state_dict(torch.load(inception_weights_file(), map_location="cpu", weights_only=True))
        net.fc = torch.nn.Identity()
        super().__init__(net, 299, device)
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


def inception_weights_file() -> Path:
    """Where torchvision keeps Inception-v3 weights; they are never downloaded here."""
    return cached_weights_file(INCEPTION_WEIGHTS)


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(m)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), in float64."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = torch.cov(a.T), torch.cov(b.T)
    root_a = _sqrt_psd(s_a)
    cross = torch.linalg.eigvalsh(root_a @ s_b @ root_a).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + torch.trace(s_a) + torch.trace(s_b) - 2 * cross)


def kernel_inception_distance(a: torch.Tensor, b: torch.Tensor, subsets: int = 50, subset_size: int = 500,
                              seed: int = 0) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel, mean and std over random subsets."""
    rng = torch.Generator().manual_seed(seed)
    m = min(subset_size, len(a), len(b))
    if m == len(a) == len(b):
        subsets = 1  # each subset would be both whole sets: the same value every time, no spread to report
    dim = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=rng)[:m]]
        y = b[torch.randperm(len(b), generator=rng)[:m]]
        k_xx, k_yy = (x @ x.T / dim + 1) ** 3, (y @ y.T / dim + 1) ** 3
        k_xy = (x @ y.T / dim + 1) ** 3
        off = m * (m - 1)
        mmd = (k_xx.sum() - k_xx.diagonal().sum()) / off + (k_yy.sum() - k_yy.diagonal().sum()) / off
        values.append(float(mmd - 2 * k_xy.mean()))
    t = torch.tensor(values)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def compare(real: torch.Tensor, fake: torch.Tensor, seed: int, kid: tuple[int, int] = (50, 500)) -> dict[str, float]:
    """fd and kid (mean, std over `kid` = (subsets, subset size)) between two feature sets."""
    kid, kid_std = kernel_inception_distance(real, fake, *kid, seed=seed)
    return {"fd": frechet_distance(real, fake), "kid": kid, "kid_std": kid_std}


def gan_scores(embed: FeatureExtractor, real: torch.Tensor, trained: torch.Tensor, untrained: torch.Tensor,
               seed: int, half: int, kid: tuple[int, int] = (50, 500)) -> dict[str, dict[str, float]]:
    """Scores against `half` real images: as many other real ones (floor), trained G, untrained G (ceiling).

    All three sets have the same size, so the sample-size bias of FD is the same for each.
    """
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))
    reference = embed(real[order[:half]])
    sets = {"real_floor": real[order[half : 2 * half]], "trained": trained[:half], "untrained_ceiling": untrained[:half]}
    return {name: compare(reference, embed(images), seed, kid) for name, images in sets.items()}
