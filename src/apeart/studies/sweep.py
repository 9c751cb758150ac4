"""An in-run beta sweep: one batched stylisation per beta, everything else as in the stylize stage."""
from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image

from apeart.nst.params import NstParams
from apeart.core.grids import square, tile_grid
from apeart.nst.objective import Weights
from apeart.nst.transfer import TransferResult, transfer_weighted


def format_beta(beta: float) -> str:
    """1e-05 -> '1e-05', 1000.0 -> '1000': the spelling used in labels and folder names."""
    return f"{beta:g}"


def sweep_betas(content: torch.Tensor, styles: list[torch.Tensor], params: NstParams, device: torch.device,
                betas: list[float], on_result: Callable[[float, TransferResult], None] | None = None
                ) -> dict[float, TransferResult]:
    """{beta: result} of the stylize step with each of `betas` as the style weight (same seed, same inputs)."""
    results = {}
    for beta in betas:
        torch.manual_seed(params.seed)
        results[beta] = transfer_weighted(content, styles, params, Weights(params.alpha, beta, params.tv_weight), device)
        if on_result:
            on_result(beta, results[beta])
    return results


def beta_grid(names: list[str], content: list[torch.Tensor], columns: dict[float, list[torch.Tensor]],
              tile: int, style: torch.Tensor | None = None) -> Image.Image:
    """Rows = content images, columns = content | beta... (ascending) | style; labelled."""
    betas = sorted(columns)
    rows = []
    for i in range(len(names)):
        row = [content[i]] + [columns[b][i] for b in betas]
        if style is not None:
            row.append(square(style))
        rows.append(row)
    labels = ["content"] + [f"beta={format_beta(b)}" for b in betas] + (["style"] if style is not None else [])
    return tile_grid(rows, tile, labels, names)
