"""The `data` section: which collection, and how its images are fetched."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from apeart.core.config import SEED, ParamsError, bounds
from apeart.ipfs.urls import normalize_gateway


@dataclass(frozen=True)
class DataParams:
    SECTION: ClassVar[str] = "data"

    source: Literal["demo", "ipfs"]
    limit: int = field(metadata=bounds(1, 10000))
    seed: int = field(metadata=SEED)
    token_ids: str
    manifest: Literal["provenance", "metadata", "csv"]
    manifest_path: str
    metadata_cid: str
    gateways: list[str]
    concurrency: int = field(metadata=bounds(1, 256, speed_only=True))
    per_gateway: int = field(metadata=bounds(1, 256, speed_only=True))
    timeout_s: float = field(metadata=bounds(0, lo_open=True))
    retries: int = field(metadata=bounds(0, 20))
    max_bytes: int = field(metadata=bounds(1))
    min_fraction: float = field(metadata=bounds(0, 1))

    def __post_init__(self) -> None:
        if not self.gateways:
            raise ParamsError("data.gateways: empty; give at least one http(s) gateway URL")
        for url in self.gateways:
            try:
                normalize_gateway(url)
            except ValueError as error:
                raise ParamsError(f"data.gateways: {error}") from None
