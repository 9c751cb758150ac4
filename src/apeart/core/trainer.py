"""The trainer skeleton shared by the DCGAN, the VAE-GAN and the texture network: resume from the checkpoint,
train epoch by epoch, checkpoint after each epoch, and stop on a non-finite or diverged loss."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from apeart.core.checkpoint import load_checkpoint, save_checkpoint
from apeart.core.distributed import barrier
from apeart.core.errors import ApeartError
from apeart.core.progress import progress


class TrainingError(ApeartError, RuntimeError):
    """Training diverged, or a checkpoint does not belong to this configuration."""


@dataclass
class TrainState:
    """The progress a checkpoint holds besides the trainer's own payload."""

    epoch: int = 0
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


class EpochTrainer:
    """Trains to `epochs`, resuming from an intact checkpoint of the configuration `key` and writing one
    atomically after each epoch (rank 0; under torchrun every rank waits for it at a barrier).

    A subclass sets `stage` and `steps_per_epoch`, and implements `_epoch` (one epoch's steps), `payload` (what
    its checkpoint holds besides the state) and `restore` (the inverse); `start` (a fresh run) and `end_epoch`
    are hooks."""

    stage: str
    steps_per_epoch: int

    def __init__(self, key: str, epochs: int, checkpoint: Path, device: torch.device, rank: int, world: int) -> None:
        self.key, self.epochs = key, epochs
        self.checkpoint, self.device, self.rank, self.world = checkpoint, device, rank, world
        self.state = TrainState()
        self.resumed_from = 0  # the epoch `run` started from (a resumed run trains only the rest)

    def _epoch(self, epoch: int, bar: tqdm) -> None:
        raise NotImplementedError

    def payload(self) -> dict:
        """The networks, optimisers and RNGs to checkpoint; called on every rank (it may gather from each)."""
        raise NotImplementedError

    def restore(self, payload: dict) -> None:
        """Load what `payload` wrote back into the networks, optimisers and RNGs."""
        raise NotImplementedError

    def start(self) -> None:
        """Called once before the first epoch of a run that resumed nothing."""

    def end_epoch(self) -> None:
        """Called after each epoch, before its checkpoint is written."""

    def save(self) -> None:
        """Write the checkpoint atomically and durably (core.checkpoint); rank 0 writes it."""
        payload = self.payload()
        if self.rank == 0:
            save_checkpoint(self.checkpoint, {"fingerprint": self.key, "epoch": self.state.epoch,
                                              "step": self.state.step, "history": self.state.history, **payload})
        barrier(self.world)  # no rank starts the next epoch before the checkpoint is on disk

    def load(self) -> bool:
        """Resume from an intact checkpoint of this configuration (a damaged one is reported and training
        starts over); one of another configuration raises TrainingError."""
        payload = load_checkpoint(self.checkpoint, self.device, self.stage, self.key, TrainingError,
                                  report=self.rank == 0)
        if payload is None:
            return False
        self.restore(payload)
        self.state = TrainState(payload["epoch"], payload["step"], payload["history"])
        return True

    def fault(self, what: str, epoch: int, step: int, advice: str = "") -> TrainingError:
        """The one-line error for `what` (a non-finite or diverged loss) at 1-based `epoch` and `step`, saying
        which checkpoint survives; `advice` is appended after the step (e.g. "; lower gan.lr")."""
        kept = (f"last good checkpoint (epoch {self.state.epoch}) kept" if self.state.epoch
                else "no checkpoint yet (it is written after each epoch)")
        return TrainingError(f"{what} at epoch {epoch}, step {step}{advice}; {kept}")

    def check_finite(self, rows: torch.Tensor, epoch: int, advice: str = "") -> None:
        """Raise `fault` for the first of this epoch's per-step rows (0-based `epoch`) holding a non-finite value."""
        bad = (~torch.isfinite(rows)).any(1).nonzero()
        if len(bad):
            raise self.fault("non-finite loss", epoch + 1, self.state.step + int(bad[0]) + 1, advice)

    def record(self, epoch: int, names: tuple[str, ...], rows: list[list[float]]) -> None:
        """Append one history row per step of 0-based `epoch`: its step, epoch and the named values."""
        for row in rows:
            self.state.step += 1
            self.state.history.append({"step": self.state.step, "epoch": epoch + 1, **dict(zip(names, row))})

    def run(self, until: int | None = None) -> TrainState:
        """Train to epoch `until` (default: all `epochs`), resuming when a matching checkpoint exists or where
        an earlier call stopped, and return the state."""
        if not self.state.epoch and not self.load():
            self.start()
        self.resumed_from = self.state.epoch
        until = self.epochs if until is None else until
        with progress(total=until * self.steps_per_epoch, initial=self.state.step, unit="step",
                      disable=self.rank > 0) as bar:
            for epoch in range(self.state.epoch, until):
                bar.set_description(f"{self.stage} epoch {epoch + 1}/{self.epochs}")
                self._epoch(epoch, bar)
                self.state.epoch = epoch + 1
                self.end_epoch()
                self.save()
        return self.state
