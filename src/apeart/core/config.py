"""Typed pipeline parameters: `params.yaml` -> dataclasses, validated before any work.

The dataclasses are the schema (types, ranges); the values, defaults included, live only in params.yaml.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from apeart.core.credentials import WHERE, mask

# Convolutions per block of each VGG architecture; the layer names convB_I follow from them.
VGG_BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")  # each implemented in apeart.gan.augment


def vgg_layers(arch: str) -> tuple[str, ...]:
    """`conv1_1`, `conv1_2`, ... of a VGG architecture, in order."""
    return tuple(f"conv{block}_{i}" for block, n in enumerate(VGG_BLOCKS[arch], start=1) for i in range(1, n + 1))


STYLE_LAYER_NAMES = vgg_layers("vgg19")
# The PyTorch tutorial (seeds 002, 003) numbers VGG19's convolutions conv_1 .. conv_16: accepted as aliases.
TUTORIAL_LAYERS = {f"conv_{i}": name for i, name in enumerate(STYLE_LAYER_NAMES, start=1)}


class ParamsError(ValueError):
    """A parameter is unknown, missing, of the wrong type or out of range."""


def _range(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False,
           speed_only: bool = False) -> dict:
    """Field metadata: the allowed range, and whether the value can only change speed, never an output."""
    return {"range": (lo, hi, lo_open, hi_open), "speed_only": speed_only}


# Seeds feed torch.Generator.manual_seed (at most 2**64 - 1), also as seed + 1 and seed * 1_000_003 + rank + 1.
SEED = _range(0, 2**32 - 1)


def _check_split(section: str, batch_size: int, processes: int) -> None:
    if batch_size % processes:
        raise ParamsError(f"{section}.batch_size: {batch_size} is not a multiple of {section}.processes "
                          f"({processes}); it is the global batch, split evenly across the processes")


@dataclass(frozen=True)
class DataParams:
    source: Literal["demo", "ipfs"]
    limit: int = field(metadata=_range(1, 10000))
    seed: int = field(metadata=SEED)
    token_ids: str
    manifest: Literal["provenance", "metadata", "csv"]
    manifest_path: str
    metadata_cid: str
    gateways: list[str]
    concurrency: int = field(metadata=_range(1, 256, speed_only=True))
    per_gateway: int = field(metadata=_range(1, 256, speed_only=True))
    timeout_s: float = field(metadata=_range(0, lo_open=True))
    retries: int = field(metadata=_range(0, 20))
    max_bytes: int = field(metadata=_range(1))
    min_fraction: float = field(metadata=_range(0, 1))


@dataclass(frozen=True)
class PrepareParams:
    workers: int = field(metadata=_range(1, 64, speed_only=True))


@dataclass(frozen=True)
class GanParams:
    seed: int = field(metadata=SEED)
    epochs: int = field(metadata=_range(1))
    batch_size: int = field(metadata=_range(1))
    processes: int = field(metadata=_range(1, 4096))  # DDP ranks; each trains on batch_size / processes
    nz: int = field(metadata=_range(1))
    ngf: int = field(metadata=_range(1))
    ndf: int = field(metadata=_range(1))
    lr: float = field(metadata=_range(0, lo_open=True))
    d_lr_mult: float = field(metadata=_range(0, lo_open=True))
    lr_decay_from: float = field(metadata=_range(0, 1))  # fraction of the run after which both lrs fall linearly to 0
    beta1: float = field(metadata=_range(0, 1, hi_open=True))
    beta2: float = field(metadata=_range(0, 1, hi_open=True))
    init_std: float = field(metadata=_range(0, lo_open=True))
    leaky_slope: float = field(metadata=_range(0, 1))
    real_label: float = field(metadata=_range(0, 1, lo_open=True))
    real_label_late: float = field(metadata=_range(0, 1, lo_open=True))
    diffaugment: str  # comma list of color, translation, cutout
    ema_decay: float = field(metadata=_range(0, 1))
    grid_size: int = field(metadata=_range(1, 256))
    grid_every: int = field(metadata=_range(1))  # epochs between progress grids
    walk_rows: int = field(metadata=_range(1, 64))  # latent interpolation: walks (rows)
    walk_steps: int = field(metadata=_range(2, 64))  # and images per walk
    precision: Literal["fp32", "bf16"]  # bf16: autocast (CPUs with AVX512-BF16/AMX, GPUs)
    device: Literal["auto", "cpu", "cuda"]
    loss: Literal["bce", "hinge"]  # hinge: Lim & Ye 2017 (real_label does not apply)
    spectral_norm: bool  # on D's convolutions (Miyato et al. 2018)
    minibatch_std: bool  # D sees its batch's feature spread before its last convolution (Karras et al. 2018)
    d_optimizer: Literal["adam", "rmsprop"]  # rmsprop: seed 003's D lever (lr x d_lr_mult, no betas)

    def __post_init__(self) -> None:
        for name in self.policy:
            if name not in DIFFAUGMENT_POLICIES:
                raise ParamsError(f"gan.diffaugment: unknown policy {name!r}; use a comma list of "
                                  f"{', '.join(DIFFAUGMENT_POLICIES)}, or \"\" for none")
        if self.ema_decay >= 1:
            raise ParamsError(f"gan.ema_decay: {self.ema_decay!r} is out of range; allowed >= 0 and < 1")
        _check_split("gan", self.batch_size, self.processes)

    @property
    def policy(self) -> tuple[str, ...]:
        """The DiffAugment names in order: `"translation, cutout"` -> ("translation", "cutout"); "" -> ()."""
        return tuple(name.strip() for name in self.diffaugment.split(",") if name.strip())


@dataclass(frozen=True)
class EvaluateParams:
    """The GAN yardstick (stage evaluate_gan): FD and KID in a VGG19 layer's pooled features."""

    samples: int = field(metadata=_range(2))  # per set (at most half the real set)
    layer: str
    kid_subsets: int = field(metadata=_range(1))
    kid_subset_size: int = field(metadata=_range(2))

    def __post_init__(self) -> None:
        if self.layer not in STYLE_LAYER_NAMES:
            raise ParamsError(f"evaluate.layer: unknown layer {self.layer!r}; known: {', '.join(STYLE_LAYER_NAMES)}")


@dataclass(frozen=True)
class VaeganParams:
    """Larsen et al. 2016 VAE-GAN (seed 003), trained beside the DCGAN on the same data (stage train_vaegan)."""

    seed: int = field(metadata=SEED)
    epochs: int = field(metadata=_range(1))
    batch_size: int = field(metadata=_range(1))
    processes: int = field(metadata=_range(1, 4096))  # DDP ranks; each trains on batch_size / processes
    latent: int = field(metadata=_range(1))
    width: float = field(metadata=_range(0, 4, lo_open=True))  # x Larsen's channels and FC widths
    decoder: Literal["larsen", "dcgan"]  # dcgan: apeart.gan.models.Generator (width ngf)
    ngf: int = field(metadata=_range(1))  # the dcgan decoder's width (gan.ngf holds G fixed)
    dis_layer: int = field(metadata=_range(1, 4))  # Dis_l: D's k-th conv, before BatchNorm
    gamma: float = field(metadata=_range(0))  # decoder: gamma * L_llike + its GAN loss
    pixel_weight: float = field(metadata=_range(0))  # + this x pixel Gaussian NLL in L_llike
    dec_gan: Literal["nonsaturating", "minimax"]
    margin: float = field(metadata=_range(0))  # Larsen's equilibrium margin; 0 = always update
    equilibrium: float = field(metadata=_range(0, lo_open=True))
    optimizer: Literal["adam", "rmsprop"]
    lr: float = field(metadata=_range(0, lo_open=True))
    beta1: float = field(metadata=_range(0, 1, hi_open=True))  # adam only
    beta2: float = field(metadata=_range(0, 1, hi_open=True))  # adam only
    grid_size: int = field(metadata=_range(1, 256))
    grid_every: int = field(metadata=_range(1))
    walk_rows: int = field(metadata=_range(1, 64))  # latent walks between two real apes (rows)
    walk_steps: int = field(metadata=_range(2, 64))
    device: Literal["auto", "cpu", "cuda"]

    def __post_init__(self) -> None:
        _check_split("vaegan", self.batch_size, self.processes)
        if self.batch_size < 2 * self.processes:
            raise ParamsError(f"vaegan.batch_size: {self.batch_size} gives a rank fewer than 2 images; BatchNorm "
                              f"needs 2 per process (vaegan.processes {self.processes})")


@dataclass(frozen=True)
class SampleParams:
    seed: int = field(metadata=SEED)
    batches: int = field(metadata=_range(1))
    batch_size: int = field(metadata=_range(1))
    model: Literal["dcgan", "vaegan"]  # the generator of the style batches: models/<model>/generator.pt


@dataclass(frozen=True)
class NstParams:
    content_count: int = field(metadata=_range(1))
    collection_images: int = field(metadata=_range(0))  # stylize_collection_gatys: the first N (0 = all)
    size: int = field(metadata=_range(16, 4096))
    backbone: Literal["vgg19_caffe", "vgg19", "vgg16"]
    pooling: Literal["max", "avg"]
    content_layers: list[str]
    style_layers: list[str]
    style_layer_weights: list[float]
    alpha: float = field(metadata=_range(0))
    beta: float = field(metadata=_range(0))
    gram_norm: Literal["sum356", "gatys", "mean", "sum"]  # loss convention: nst/losses.py
    tv_weight: float = field(metadata=_range(0))
    optimizer: Literal["lbfgs", "adam", "sgd"]
    lr: float = field(metadata=_range(0, lo_open=True))
    momentum: float = field(metadata=_range(0, 1, hi_open=True))  # sgd only
    init: Literal["content", "noise"]
    steps: int = field(metadata=_range(1))
    style_source: Literal["gan", "images"]
    style_batch: int = field(metadata=_range(0))
    style_dir: str
    style_blend_weights: list[float]
    style_scale: float = field(metadata=_range(0, 8, lo_open=True))
    preserve_color: Literal["none", "luminance", "histogram"]
    scales: list[int]
    memory_format: Literal["auto", "channels_last", "contiguous"]
    snapshots: int = field(metadata=_range(1))
    seed: int = field(metadata=SEED)
    device: Literal["auto", "cpu", "cuda"]
    sweep_betas: list[float]
    reconstruct_size: int = field(metadata=_range(16, 4096))
    reconstruct_steps: int = field(metadata=_range(1))
    reconstruct_content_layers: list[str]

    def __post_init__(self) -> None:
        for key in ("content_layers", "style_layers", "reconstruct_content_layers"):
            object.__setattr__(self, key, [TUTORIAL_LAYERS.get(name, name) for name in getattr(self, key)])


@dataclass(frozen=True)
class TexnetParams:
    """Ulyanov et al. 2016 texture networks (seed 002): one feed-forward stylizer per style."""

    size: int = field(metadata=_range(4, 4096))  # multiple of 2^(levels - 1), >= 2^levels
    levels: int = field(metadata=_range(1, 8))  # pyramid levels K
    channels: int = field(metadata=_range(1, 256))  # per level: 8, 16, ... 8K after the joins
    norm: Literal["batch", "instance"]
    style_source: Literal["gan", "images"]  # the style: a GAN style batch or nst.style_dir's paintings
    style_batch: int = field(metadata=_range(0))
    alpha: float = field(metadata=_range(0))  # loss weights, in nst.gram_norm's convention
    beta: float = field(metadata=_range(0))
    tv_weight: float = field(metadata=_range(0))
    train_images: int = field(metadata=_range(0))  # first N; 0 = the collection minus the NST content set
    epochs: int = field(metadata=_range(1))
    batch_size: int = field(metadata=_range(1))
    processes: int = field(metadata=_range(1, 4096))  # DDP ranks; each trains on batch_size / processes
    lr: float = field(metadata=_range(0, lo_open=True))
    noise_scale: float = field(metadata=_range(0))  # k of the U(0, k) noise in training
    noise_scales: list[float]  # fig. 6 row (inference)
    workers: int = field(metadata=_range(1, 256, speed_only=True))  # stylize_collection processes
    seed: int = field(metadata=SEED)
    device: Literal["auto", "cpu", "cuda"]

    def __post_init__(self) -> None:
        step = 2 ** (self.levels - 1)
        if self.size % step or self.size < 2 * step:
            raise ParamsError(f"texnet.size: {self.size} is not a multiple of 2^(levels-1) = {step} of at least "
                              f"{2 * step} (every pyramid level halves it, down to 2 px); "
                              f"try {max(2 * step, round(self.size / step) * step)}")
        if any(k < 0 for k in self.noise_scales):
            raise ParamsError(f"texnet.noise_scales: {self.noise_scales} has a negative value; allowed >= 0")
        if self.alpha == 0 and self.beta == 0:
            raise ParamsError("texnet.alpha and texnet.beta are both 0: the texture network would have no loss")
        _check_split("texnet", self.batch_size, self.processes)


@dataclass(frozen=True)
class Params:
    data: DataParams
    prepare: PrepareParams
    gan: GanParams
    evaluate: EvaluateParams
    vaegan: VaeganParams
    sample: SampleParams
    nst: NstParams
    texnet: TexnetParams


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Return `value` as type `hint`, or raise ParamsError naming `key`."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ParamsError(f"{key}: {value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ParamsError(f"{key}: expected a list, got {value!r}")
        return [_coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint in (int, float):
        # `dvc exp run -S nst.beta=1e-5` writes `1e-05`, which YAML 1.1 loaders return as a string.
        if isinstance(value, str):
            try:
                value = float(value) if hint is float else int(value)
            except ValueError:
                raise ParamsError(f"{key}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ParamsError(f"{key}: {value!r} is not a finite number")
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise ParamsError(f"{key}: expected an integer, got {value!r}")
        return hint(value)
    if hint is str:
        if not isinstance(value, str):
            raise ParamsError(f"{key}: expected a string, got {value!r}")
        if "\0" in value:  # no path, URL or name holds one; the OS refuses it with a ValueError
            raise ParamsError(f"{key}: {value!r} contains a NUL character")
        return value
    raise TypeError(f"unsupported parameter type {hint!r}")


def _check_range(key: str, value: float, spec: tuple) -> None:
    lo, hi, lo_open, hi_open = spec
    below = lo is not None and (value <= lo if lo_open else value < lo)
    above = hi is not None and (value >= hi if hi_open else value > hi)
    if below or above:
        lo_txt = "" if lo is None else f"{'>' if lo_open else '>='} {lo}"
        hi_txt = "" if hi is None else f"{'<' if hi_open else '<='} {hi}"
        raise ParamsError(f"{key}: {value!r} is out of range; allowed {' and '.join(t for t in (lo_txt, hi_txt) if t)}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A params class's field types, resolved once (get_type_hints evaluates every annotation of the class)."""
    return typing.get_type_hints(cls)


def check_field(cls: type, name: str, value: Any, key: str) -> Any:
    """`value` as params class `cls` takes it for field `name` (type, then range); ParamsError naming `key`."""
    value = _coerce(key, value, _hints(cls)[name])
    if spec := {f.name: f for f in dataclasses.fields(cls)}[name].metadata.get("range"):
        _check_range(key, value, spec)
    return value


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{prefix or 'params'}: expected a mapping, got {raw!r}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParamsError(f"{prefix}{unknown[0]}: unknown parameter; known keys: {', '.join(fields)}")
    values = {}
    for name, value in raw.items():
        key, hint = f"{prefix}{name}", hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, f"{key}.")
            continue
        values[name] = check_field(cls, name, value, key)
    missing = [name for name in fields if name not in raw]
    if missing:
        raise ParamsError(f"{prefix}{missing[0]}: missing; params.yaml gives every key (see the committed one)")
    return cls(**values)


def _check_nst(nst: NstParams) -> None:
    if nst.alpha == 0 and nst.beta == 0:
        raise ParamsError("nst.alpha and nst.beta are both 0: the stylized image would have no loss")
    for key in ("content_layers", "style_layers", "reconstruct_content_layers"):
        layers = getattr(nst, key)
        if not layers and key == "content_layers" and nst.alpha > 0:
            raise ParamsError("nst.content_layers: empty while nst.alpha > 0")
        for name in layers:
            if name not in STYLE_LAYER_NAMES:
                raise ParamsError(f"nst.{key}: unknown layer {name!r}; known: {', '.join(STYLE_LAYER_NAMES)}")
        if len(set(layers)) != len(layers):
            raise ParamsError(f"nst.{key}: a layer is listed twice in {layers}")
    if not nst.style_layers and nst.beta > 0:
        raise ParamsError("nst.style_layers: empty while nst.beta > 0")
    arch = "vgg19" if nst.backbone == "vgg19_caffe" else nst.backbone
    for key in ("content_layers", "style_layers", "reconstruct_content_layers"):
        absent = sorted(set(getattr(nst, key)) - set(vgg_layers(arch)))
        if absent:
            raise ParamsError(f"nst.{key}: {nst.backbone} has no {absent}")
    if nst.style_layer_weights and len(nst.style_layer_weights) != len(nst.style_layers):
        raise ParamsError(
            f"nst.style_layer_weights: {len(nst.style_layer_weights)} weights for "
            f"{len(nst.style_layers)} style layers; give one per layer or an empty list"
        )
    for key in ("style_layer_weights", "style_blend_weights", "sweep_betas"):
        values = getattr(nst, key)
        if any(v < 0 for v in values):
            raise ParamsError(f"nst.{key}: {values} has a negative value; allowed >= 0")
        if values and key != "sweep_betas" and sum(values) <= 0:
            raise ParamsError(f"nst.{key}: {values} sums to 0; give at least one positive weight")
    if nst.scales:
        if any(b <= a for a, b in zip(nst.scales, nst.scales[1:])) or nst.scales[0] < 16 or nst.scales[-1] >= nst.size:
            raise ParamsError(
                f"nst.scales: {nst.scales} must be increasing sizes >= 16 and below nst.size ({nst.size}); "
                "the last scale is always nst.size"
            )


def parse_params(raw: dict) -> Params:
    """Validate a params mapping (as loaded from params.yaml) into `Params`."""
    params = _build(Params, raw, "")
    _check_nst(params.nst)
    if not params.data.gateways:
        raise ParamsError("data.gateways: empty; give at least one http(s) gateway URL")
    for url in params.data.gateways:
        try:
            normalize_gateway(url)
        except ValueError as error:
            raise ParamsError(f"data.gateways: {error}") from None
    return params


def normalize_gateway(url: str) -> str:
    """A gateway base URL (http/https, a host, no query, fragment or credentials) without a trailing `/` or
    `/ipfs`; ValueError saying what is wrong (params refuse it, the gateway client normalises with it)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts, host = None, None
    shown = mask(url)
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"gateway {shown!r}: need an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError(f"gateway {shown!r}: no credentials in a param; {WHERE}")
    if parts.query or parts.fragment:
        raise ValueError(f"gateway {shown!r}: no query or fragment allowed")
    path = parts.path.rstrip("/")
    path = path[: -len("/ipfs")] if path.endswith("/ipfs") else path
    return f"{parts.scheme}://{parts.netloc}{path}"


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml; raises ParamsError with the offending key, or why the file is unreadable."""
    try:
        raw = YAML(typ="safe", pure=True).load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        if not Path("dvc.yaml").is_file():
            raise ParamsError(f"{path}: not found in {Path.cwd()}: run stages from the repository root "
                              "(the folder with dvc.yaml and params.yaml)") from None
        raise ParamsError(f"{path}: cannot read: No such file or directory") from None
    except OSError as error:
        raise ParamsError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ParamsError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except MarkedYAMLError as error:
        where = f", line {error.problem_mark.line + 1}" if error.problem_mark else ""
        raise ParamsError(f"{path}: not valid YAML{where}: {error.problem}") from None
    except YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    return parse_params(raw)


def as_dict(section: Any) -> dict:
    """A params section as a plain dict (for fingerprints and reports)."""
    return dataclasses.asdict(section)


def speed_only(section: Any) -> set[str]:
    """Names of a section's keys that only change speed (no stage lists them as params: no output depends on them)."""
    return {f.name for f in dataclasses.fields(section) if f.metadata.get("speed_only")}


__all__ = ["Params", "ParamsError", "load_params", "parse_params", "as_dict", "speed_only", "STYLE_LAYER_NAMES"]
