"""VGG layer names: convolutions per block of each architecture, and the names convB_I that follow from them."""
from __future__ import annotations

VGG_BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}


def vgg_layers(arch: str) -> tuple[str, ...]:
    """`conv1_1`, `conv1_2`, ... of a VGG architecture, in order."""
    return tuple(f"conv{block}_{i}" for block, n in enumerate(VGG_BLOCKS[arch], start=1) for i in range(1, n + 1))


VGG19_LAYERS = vgg_layers("vgg19")
