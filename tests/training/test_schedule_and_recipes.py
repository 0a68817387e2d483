"""Eq. 9 learning rate, the BN momentum schedule and freezing, and the presets' numbers."""
import dataclasses

import pytest
import torch

from fusionbench.errors import UnknownNameError
from fusionbench.models.ifcnn_network import IFCNN
from fusionbench.training.recipes import PRESETS, VARIANTS, fusion_rule_of, recipe_for
from fusionbench.training.schedule import (batch_norm_layers, freeze_batch_norm, linear_bn_momentum,
                                           poly_learning_rate, set_bn_momentum, torch_bn_momentum)


def test_poly_learning_rate_follows_eq9():
    assert poly_learning_rate(0.01, 0, 5000) == 0.01
    assert poly_learning_rate(0.01, 2500, 5000) == pytest.approx(0.01 * 0.5**0.9)
    assert poly_learning_rate(0.01, 4999, 5000) == pytest.approx(0.01 * (1 / 5000) ** 0.9)
    assert poly_learning_rate(0.01, 5000, 5000) == 0.0
    assert poly_learning_rate(0.01, 15_000, 60_000) == pytest.approx(0.01 * 0.75**0.9)
    with pytest.raises(ValueError):
        poly_learning_rate(0.01, 5001, 5000)


def test_bn_momentum_decreases_linearly_from_099_to_0():
    values = [linear_bn_momentum(i, 5000) for i in range(5000)]
    assert values[0] == 0.99 and values[-1] == 0.0
    assert values[2499] == pytest.approx(0.99 * (1 - 2499 / 4999))
    steps = [a - b for a, b in zip(values, values[1:])]
    assert max(steps) == pytest.approx(min(steps)) == pytest.approx(0.99 / 4999)


def test_bn_momentum_conventions():
    assert torch_bn_momentum(0.99, "pytorch") == 0.99
    assert torch_bn_momentum(0.99, "decay") == pytest.approx(0.01)
    with pytest.raises(ValueError):
        torch_bn_momentum(0.5, "caffe?")


def test_bn_momentum_zero_keeps_running_statistics_and_one_copies_the_batch():
    network = IFCNN("max").train()
    images = [torch.rand(2, 3, 12, 12), torch.rand(2, 3, 12, 12)]
    set_bn_momentum(network, 0.0)
    before = [layer.running_mean.clone() for layer in batch_norm_layers(network)]
    network(images)
    assert all(torch.equal(a, layer.running_mean) for a, layer in zip(before, batch_norm_layers(network)))
    set_bn_momentum(network, 1.0)
    network(images)
    assert not torch.equal(before[0], batch_norm_layers(network)[0].running_mean)


def test_frozen_batch_norm_uses_and_keeps_running_statistics_and_is_not_trained():
    network = IFCNN("max").train()
    network(([torch.rand(2, 3, 12, 12)] * 2))  # some non-trivial running statistics
    freeze_batch_norm(network)
    layer = network.conv2.bn
    statistics = (layer.running_mean.clone(), layer.running_var.clone())
    network([torch.rand(2, 3, 12, 12)] * 2)
    assert torch.equal(statistics[0], layer.running_mean) and torch.equal(statistics[1], layer.running_var)
    assert not layer.training
    assert not any(parameter.requires_grad for layer in batch_norm_layers(network) for parameter in layer.parameters())
    assert network.conv2.conv.weight.requires_grad and not network.conv1.weight.requires_grad


def test_paper_preset_is_the_papers_numbers():
    recipe = PRESETS["paper"]
    pre, fine = recipe.stages
    assert (pre.name, pre.iterations, pre.batch_size, pre.base_learning_rate, pre.poly_power) == (
        "pre-training", 5000, 64, 0.01, 0.9)
    assert (pre.basic_weight, pre.perceptual_weight, pre.batch_norm, pre.bn_momentum_start, pre.bn_momentum_end,
            pre.colour_augmentation) == (1.0, 0.0, "schedule", 0.99, 0.0, False)
    assert (fine.name, fine.iterations, fine.batch_size, fine.base_learning_rate, fine.poly_power) == (
        "fine-training", 60_000, 32, 0.01, 0.9)
    assert (fine.basic_weight, fine.perceptual_weight, fine.batch_norm, fine.colour_augmentation) == (
        1.0, 1.0, "frozen", True)
    assert recipe.crop_size == 224 and recipe.perceptual_backbone == "resnet101"
    assert recipe.total_iterations == 65_000


def test_baselines_drop_only_the_perceptual_loss():
    for preset in PRESETS:
        ifcnn, baseline = recipe_for(preset, "ifcnn-max"), recipe_for(preset, "baseline-max")
        assert all(stage.perceptual_weight == 0.0 for stage in baseline.stages)
        assert baseline == dataclasses.replace(ifcnn, stages=tuple(
            dataclasses.replace(stage, perceptual_weight=0.0) for stage in ifcnn.stages))


def test_perceptual_weight_is_one_for_resnet101_and_calibrated_for_efficientnet():
    assert recipe_for("paper", "ifcnn-sum").stages[1].perceptual_weight == 1.0
    assert recipe_for("paper", "ifcnn-sum", "efficientnet-lite0").stages[1].perceptual_weight == 0.015
    assert recipe_for("cpu-small", "ifcnn-max").stages[1].perceptual_weight == 0.015
    assert all(stage.perceptual_weight == 0.0 for stage in recipe_for("paper", "ifcnn-max").stages[:1])


def test_variants_and_unknown_names():
    assert [fusion_rule_of(variant) for variant in VARIANTS] == ["max", "mean", "sum", "max", "mean"]
    with pytest.raises(UnknownNameError, match="ifcnn-min"):
        fusion_rule_of("ifcnn-min")
    with pytest.raises(UnknownNameError, match="huge"):
        recipe_for("huge", "ifcnn-max")
    assert recipe_for("paper", "ifcnn-max", "efficientnet-lite0").perceptual_backbone == "efficientnet-lite0"


def test_recipe_round_trips_through_a_dict():
    recipe = recipe_for("cpu-small", "baseline-mean")
    assert type(recipe).from_dict(recipe.as_dict()) == recipe


def test_gpu_short_is_the_paper_recipe_with_fewer_iterations():
    paper, short = PRESETS["paper"], PRESETS["gpu-short"]
    assert [stage.iterations for stage in short.stages] == [1000, 3000]
    assert [dataclasses.replace(stage, iterations=0) for stage in short.stages] == \
        [dataclasses.replace(stage, iterations=0) for stage in paper.stages]
    assert (short.crop_size, short.source_scale, short.perceptual_backbone) == (224, 1.0, "resnet101")
