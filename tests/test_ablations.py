"""Seed 001's ablation cells: each changes exactly one thing from the nst params."""
from __future__ import annotations

import dataclasses

import defaults
from apeart.nst.params import NstParams
from apeart.studies.ablations import variants

BASE = defaults.nst(style_layers=["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"], scales=[64])


def _changed(a: NstParams, b: NstParams) -> set[str]:
    return {f.name for f in dataclasses.fields(NstParams) if getattr(a, f.name) != getattr(b, f.name)}


def test_each_cell_changes_one_thing() -> None:
    cells = dict(variants(BASE))
    base = cells.pop("base (lbfgs, max pool, vgg19_caffe)")
    assert base.scales == [] and _changed(base, BASE) == {"scales"}  # one size: cells differ only in their change
    assert cells["style layers +3"].style_layers == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1",
                                                     "conv3_2", "conv4_1", "conv5_1"]
    assert cells["style layers -2"].style_layers == ["conv1_1", "conv2_1", "conv3_1"]
    assert _changed(base, cells["optimizer adam"]) == {"optimizer", "lr"}
    assert {"optimizer"} <= _changed(base, cells["optimizer sgd"]) <= {"optimizer", "lr"}
    assert cells["avg pooling"].pooling == "avg" and _changed(base, cells["avg pooling"]) == {"pooling"}
    assert {cells[k].backbone for k in ("backbone vgg19", "backbone vgg16")} == {"vgg19", "vgg16"}
    assert len(cells) == 7
