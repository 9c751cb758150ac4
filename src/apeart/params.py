"""Every section of params.yaml: what check_params validates and the report shows. A stage loads only the
sections it reads (`apeart.core.config.load_sections`)."""
from __future__ import annotations

from dataclasses import dataclass

from apeart.collection.params import DataParams
from apeart.core.config import ParamsError, build, read_params
from apeart.gan.figure_params import FiguresParams
from apeart.gan.evaluate_params import EvaluateParams
from apeart.gan.params import GanParams
from apeart.gan.sample_params import SampleParams
from apeart.nst.params import NstParams
from apeart.prepare import PrepareParams
from apeart.texnet.params import TexnetParams
from apeart.vaegan.params import VaeganParams


@dataclass(frozen=True)
class Params:
    data: DataParams
    prepare: PrepareParams
    gan: GanParams
    evaluate: EvaluateParams
    vaegan: VaeganParams
    figures: FiguresParams
    sample: SampleParams
    nst: NstParams
    texnet: TexnetParams


def parse_params(raw: dict) -> Params:
    """A whole params mapping (as loaded from params.yaml) validated into `Params`."""
    return build(Params, raw, "")


def load_params(path: str = "params.yaml") -> Params:
    """Read and validate all of params.yaml; ParamsError naming the offending key or why the file is unreadable."""
    return parse_params(read_params(path))


__all__ = ["Params", "ParamsError", "load_params", "parse_params"]
