"""The NST experiment params: defaults in params.yaml, and bad values name the key."""
from pathlib import Path

import pytest

import defaults
from apeart.core.config import ParamsError

ROOT = Path(__file__).resolve().parents[1]


def test_good_values_parse() -> None:
    nst = defaults.parse({"nst": {"optimizer": "sgd", "preserve_color": "histogram", "scales": [32, 64],
                                "style_blend_weights": [1, 3], "sweep_betas": ["1e-05", 10], "style_scale": 0.5,
                                "pooling": "avg", "backbone": "vgg16", "content_layers": ["conv2_2"]}}).nst
    assert nst.sweep_betas == [1e-05, 10.0] and nst.style_blend_weights == [1.0, 3.0] and nst.scales == [32, 64]


@pytest.mark.parametrize(
    ("nst", "message"),
    [
        ({"optimizer": "rmsprop"}, "nst.optimizer: 'rmsprop' is not allowed; choose one of lbfgs, adam, sgd"),
        ({"preserve_color": "yes"}, "nst.preserve_color: 'yes' is not allowed"),
        ({"scales": [64, 32]}, "nst.scales: [64, 32] must be increasing"),
        ({"scales": [128]}, "below nst.size (128)"),
        ({"scales": [8]}, "nst.scales: [8] must be increasing sizes >= 16"),
        ({"style_blend_weights": [0, 0]}, "nst.style_blend_weights: [0.0, 0.0] sums to 0"),
        ({"style_blend_weights": [-1, 2]}, "nst.style_blend_weights: [-1.0, 2.0] has a negative value"),
        ({"sweep_betas": "1e-5"}, "nst.sweep_betas: expected a list"),
        ({"sweep_betas": [-1]}, "nst.sweep_betas: [-1.0] has a negative value"),
        ({"style_scale": 0}, "nst.style_scale: 0.0 is out of range"),
        ({"momentum": 1.0}, "nst.momentum: 1.0 is out of range"),
        ({"memory_format": "nhwc"}, "nst.memory_format: 'nhwc' is not allowed"),
        ({"reconstruct_content_layers": ["conv6_1"]}, "nst.reconstruct_content_layers: unknown layer 'conv6_1'"),
        ({"backbone": "vgg16", "reconstruct_content_layers": ["conv5_4"]}, "nst.reconstruct_content_layers: vgg16 has no"),
        ({"style_layers": ["conv1_1", "conv1_1"]}, "nst.style_layers: a layer is listed twice"),
        ({"style_layers": []}, "nst.style_layers: empty while nst.beta > 0"),
        ({"reconstruct_steps": 0}, "nst.reconstruct_steps: 0 is out of range"),
    ],
)
def test_bad_values_name_the_key(nst: dict, message: str) -> None:
    with pytest.raises(ParamsError) as info:
        defaults.parse({"nst": nst})
    assert message in str(info.value)
