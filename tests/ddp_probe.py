"""What the training scripts of tests/test_distributed_training.py (run under torchrun) add to a Trainer."""
from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from torch import nn
from torch.optim import Optimizer


def record_first_gradients(first: dict, nets: dict[str, tuple[nn.Module, Optimizer]]) -> None:
    """Make each optimiser's step keep its network's gradients (DDP-averaged under torchrun) of the first step
    in `first[name]`."""
    for name, (net, opt) in nets.items():
        def recording(*args, _step=opt.step, _name=name, _net=net, **kwargs):
            if _name not in first:
                first[_name] = {n: p.grad.clone() for n, p in _net.named_parameters()}
            return _step(*args, **kwargs)
        opt.step = recording


def die_at_second_epoch(epoch: int, rank: int, stage: str) -> None:
    """SIGKILL this process as epoch 2 of `stage` starts if it is rank $KILL_RANK and `stage` is $KILL_STAGE
    (after epoch 1's checkpoint)."""
    if epoch == 1 and os.environ.get("KILL_RANK") == str(rank) and os.environ.get("KILL_STAGE") == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def freeze_batchnorm(*nets: nn.Module) -> None:
    """BatchNorm on its running statistics: how a batch is split over ranks cannot matter."""
    for net in nets:
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.eval()


def probed(trainer: type, nets: Callable[[Any], dict[str, tuple[nn.Module, Optimizer]]], frozen: bool = False) -> type:
    """`trainer` that keeps the first gradients of `nets(self)` in `self.first`, dies as epoch 2 starts on rank
    $KILL_RANK when its stage is $KILL_STAGE, and with `frozen` runs those networks' BatchNorm on running
    statistics."""
    class Probed(trainer):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.first: dict = {}
            record_first_gradients(self.first, nets(self))

        def _epoch(self, epoch: int, bar: Any) -> None:
            die_at_second_epoch(epoch, self.rank, self.stage)
            if frozen:
                freeze_batchnorm(*(net for net, _ in nets(self).values()))
            super()._epoch(epoch, bar)

    return Probed
