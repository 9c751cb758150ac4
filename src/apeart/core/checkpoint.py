"""Training checkpoints: written atomically with a digest of their contents, loaded only when intact."""
from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import torch

from apeart.core.files import write_bytes

# What a model file holds: its "kind" -> (what it is called, the stage that writes it).
KINDS = {"dcgan": ("DCGAN generator", "train_gan"), "vaegan": ("VAE-GAN decoder", "train_vaegan"),
         "texnet": ("texture network", "train_texnet"), "vaegan_encoder": ("VAE-GAN encoder", "train_vaegan"),
         "dcgan_samples": ("DCGAN fixed-noise samples", "train_gan"),
         "vaegan_samples": ("VAE-GAN fixed-noise samples", "train_vaegan")}


def payload_digest(payload: dict) -> str:
    """SHA-256 over a checkpoint payload: every tensor's bytes and every other value, keys in order."""
    digest = hashlib.sha256()

    def feed(key: str, value: object) -> None:
        if isinstance(value, torch.Tensor):
            digest.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
            digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, dict):
            for k in sorted(value, key=str):
                feed(f"{key}/{k}", value[k])
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                feed(f"{key}[{i}]", v)
        else:
            digest.update(f"{key}={value!r};".encode())

    feed("", {k: v for k, v in payload.items() if k != "digest"})
    return digest.hexdigest()


def _non_finite(payload: object, key: str = "") -> str | None:
    """The key of the first floating tensor in `payload` holding NaN or inf, else None."""
    if isinstance(payload, torch.Tensor):
        return key if payload.is_floating_point() and not torch.isfinite(payload).all() else None
    items = payload.items() if isinstance(payload, dict) else enumerate(payload) if isinstance(payload, (list, tuple)) else ()
    return next((bad for k, v in items if (bad := _non_finite(v, f"{key}/{k}"))), None)


def _intern_keys(obj: object) -> object:
    """`obj` with every str dict key interned, recursively through dicts and lists.

    pickle memoises by object identity: a fresh run's history and optimiser state share the interned
    literal keys ("step", "d_loss", "exp_avg", ...), a loaded checkpoint brings one new str per key, so a
    resumed run wrote the same values in other bytes (+64 B to +12 KB): a different md5 for DVC."""
    if isinstance(obj, dict):
        return {(sys.intern(k) if isinstance(k, str) else k): _intern_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_intern_keys(v) for v in obj]
    return obj


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write `payload` plus its digest atomically and durably (temp file, fsync, rename)."""
    payload = {**payload, "digest": payload_digest(payload)}
    buffer = io.BytesIO()  # in memory, so the bytes do not depend on a file name
    torch.save(payload, buffer)
    write_bytes(path, buffer.getvalue(), durable=True)


def read_checkpoint(path: Path, device: torch.device) -> tuple[dict | None, str]:
    """(payload, "") if `path` is readable, matches its digest and is finite; else (None, why)."""
    if not path.is_file():
        return None, "no such file"
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # zip, pickle and weights_only errors have no common base class
        return None, f"not a readable checkpoint ({str(error).splitlines()[0][:200]})"
    if not isinstance(payload, dict) or payload.get("digest") != payload_digest(payload):
        return None, "its contents do not match the digest stored with them (damaged on disk?)"
    if bad := _non_finite(payload):
        return None, f"non-finite values in {bad}"
    return _intern_keys(payload), ""  # saved again, it pickles to the bytes of an uninterrupted run


def read_model_file(path: Path, device: torch.device, kind: str, error: type[Exception]) -> dict:
    """The payload of a `kind` model file (KINDS): intact (digest), finite and of that kind; `error` naming
    `path` and the fault otherwise."""
    name, stage = KINDS[kind]
    payload, why = read_checkpoint(path, device)
    if payload is None:
        raise error(f"{path}: {why}; run {stage} (dvc repro) to write it again")
    if payload.get("kind") != kind:
        held = KINDS.get(payload.get("kind"), ("something else",))[0]
        raise error(f"{path}: not a {name} file (it holds a {held})")
    return payload


def load_checkpoint(path: Path, device: torch.device, stage: str, key: str,
                    error: type[Exception], report: bool = True) -> dict | None:
    """The intact checkpoint of the configuration `key` at `path`, else None (no file; or damaged: reported
    on stderr, training starts over). One of another configuration raises `error` (the stage's one line).
    `report` False (every rank of torchrun but rank 0) keeps the resumed and damaged lines to one per run."""
    if not path.is_file():
        return None
    payload, why = read_checkpoint(path, device)
    if payload is None:
        if report:
            print(f"{stage}: {path} is damaged: {why}; ignoring it and training from the start", file=sys.stderr)
    elif payload.get("fingerprint") != key:
        raise error(f"{path} was written for other {stage} params or data (fingerprint "
                    f"{payload.get('fingerprint')} != {key}); delete it to start over")
    elif report:
        print(f"{stage}: resuming from {path} (epoch {payload.get('epoch')})")
    return payload


def resume_path(stage: str, key: str) -> Path:
    """Where a stage keeps its resume state: outside its outputs (DVC deletes those before a run), one file
    per configuration `key`."""
    return Path(".cache") / stage / f"checkpoint-{key}.pt"
