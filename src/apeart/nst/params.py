"""The `nst` section: Gatys et al. neural style transfer and its studies."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from apeart.core.config import SEED, ParamsError, bounds
from apeart.vgg.layers import VGG19_LAYERS, vgg_layers

# The PyTorch tutorial (seeds 002, 003) numbers VGG19's convolutions conv_1 .. conv_16: accepted as aliases.
TUTORIAL_LAYERS = {f"conv_{i}": name for i, name in enumerate(VGG19_LAYERS, start=1)}


@dataclass(frozen=True)
class NstParams:
    SECTION: ClassVar[str] = "nst"

    content_count: int = field(metadata=bounds(1))
    collection_images: int = field(metadata=bounds(0))  # stylize_collection_gatys: the first N (0 = all)
    size: int = field(metadata=bounds(16, 4096))
    backbone: Literal["vgg19_caffe", "vgg19", "vgg16"]
    pooling: Literal["max", "avg"]
    content_layers: list[str]
    style_layers: list[str]
    style_layer_weights: list[float]
    alpha: float = field(metadata=bounds(0))
    beta: float = field(metadata=bounds(0))
    gram_norm: Literal["sum356", "gatys", "mean", "sum"]  # loss convention: nst/losses.py
    tv_weight: float = field(metadata=bounds(0))
    optimizer: Literal["lbfgs", "adam", "sgd"]
    lr: float = field(metadata=bounds(0, lo_open=True))
    momentum: float = field(metadata=bounds(0, 1, hi_open=True))  # sgd only
    init: Literal["content", "noise"]
    steps: int = field(metadata=bounds(1))
    style_source: Literal["gan", "images"]
    style_batch: int = field(metadata=bounds(0))
    style_dir: str
    style_blend_weights: list[float]
    style_scale: float = field(metadata=bounds(0, 8, lo_open=True))
    preserve_color: Literal["none", "luminance", "histogram"]
    scales: list[int]
    memory_format: Literal["auto", "channels_last", "contiguous"]
    snapshots: int = field(metadata=bounds(1))
    seed: int = field(metadata=SEED)
    device: Literal["auto", "cpu", "cuda"]
    sweep_betas: list[float]
    reconstruct_size: int = field(metadata=bounds(16, 4096))
    reconstruct_steps: int = field(metadata=bounds(1))
    reconstruct_content_layers: list[str]

    def __post_init__(self) -> None:
        for key in ("content_layers", "style_layers", "reconstruct_content_layers"):
            object.__setattr__(self, key, [TUTORIAL_LAYERS.get(name, name) for name in getattr(self, key)])
        if self.alpha == 0 and self.beta == 0:
            raise ParamsError("nst.alpha and nst.beta are both 0: the stylized image would have no loss")
        for key in ("content_layers", "style_layers", "reconstruct_content_layers"):
            layers = getattr(self, key)
            if not layers and key == "content_layers" and self.alpha > 0:
                raise ParamsError("nst.content_layers: empty while nst.alpha > 0")
            for name in layers:
                if name not in VGG19_LAYERS:
                    raise ParamsError(f"nst.{key}: unknown layer {name!r}; known: {', '.join(VGG19_LAYERS)}")
            if len(set(layers)) != len(layers):
                raise ParamsError(f"nst.{key}: a layer is listed twice in {layers}")
        if not self.style_layers and self.beta > 0:
            raise ParamsError("nst.style_layers: empty while nst.beta > 0")
        arch = "vgg19" if self.backbone == "vgg19_caffe" else self.backbone
        for key in ("content_layers", "style_layers", "reconstruct_content_layers"):
            absent = sorted(set(getattr(self, key)) - set(vgg_layers(arch)))
            if absent:
                raise ParamsError(f"nst.{key}: {self.backbone} has no {absent}")
        if self.style_layer_weights and len(self.style_layer_weights) != len(self.style_layers):
            raise ParamsError(
                f"nst.style_layer_weights: {len(self.style_layer_weights)} weights for "
                f"{len(self.style_layers)} style layers; give one per layer or an empty list"
            )
        for key in ("style_layer_weights", "style_blend_weights", "sweep_betas"):
            values = getattr(self, key)
            if any(v < 0 for v in values):
                raise ParamsError(f"nst.{key}: {values} has a negative value; allowed >= 0")
            if values and key != "sweep_betas" and sum(values) <= 0:
                raise ParamsError(f"nst.{key}: {values} sums to 0; give at least one positive weight")
        if self.scales:
            if any(b <= a for a, b in zip(self.scales, self.scales[1:])) or self.scales[0] < 16 or self.scales[-1] >= self.size:
                raise ParamsError(
                    f"nst.scales: {self.scales} must be increasing sizes >= 16 and below nst.size ({self.size}); "
                    "the last scale is always nst.size"
                )
