"""Learning-rate and batch-norm schedules of IFCNN training (paper Sec. 2.5).

* Eq. 9, the 'poly' policy: ``lr_i = lr_0 * (1 - i / maxI) ** power`` with ``power = 0.9``, ``i`` the
  0-based iteration of the current stage and ``maxI`` its number of iterations (so the last iteration
  runs at a small positive rate and the rate would reach 0 at ``i = maxI``). Both stages start at 0.01.
* Pre-training: the BN momentum decreases linearly from 0.99 (first iteration) to 0 (last iteration).
  Conventions differ: PyTorch's ``momentum`` is the weight of the *new* batch statistics
  (``running = (1 - m) * running + m * batch``), Caffe/Keras "momentum" is the weight of the *old*
  running value (``running = m * running + (1 - m) * batch``). We read the paper's numbers in PyTorch's
  convention (the authors' released code is PyTorch) -- ``bn_momentum_convention = "pytorch"``: the
  running statistics follow the batches closely at first (when they are meaningless anyway) and stop
  changing at the end of pre-training, i.e. they settle into a long average over the late, well-trained
  iterations and hand over smoothly to fine-training, where BN is frozen. The other reading
  (``"decay"``: PyTorch momentum = 1 - 0.99 .. 1 - 0) would end pre-training with running statistics equal
  to those of the single last batch, a noisier estimate no schedule would aim for. Both are selectable.
* Fine-training: BN frozen -- eval mode (running statistics are used and no longer updated) and its
  affine parameters excluded from optimisation; only the convolutions (CONV2-4; CONV1 is always frozen)
  are trained.
"""
from __future__ import annotations

from torch import nn

BN_MOMENTUM_CONVENTIONS = ("pytorch", "decay")


def poly_learning_rate(base_rate: float, iteration: int, max_iterations: int, power: float = 0.9) -> float:
    """Eq. 9: ``base_rate * (1 - iteration / max_iterations) ** power``."""
    if not 0 <= iteration <= max_iterations:
        raise ValueError(f"iteration {iteration} outside 0..{max_iterations}")
    return base_rate * (1.0 - iteration / max_iterations) ** power


def linear_bn_momentum(iteration: int, max_iterations: int, start: float = 0.99, end: float = 0.0) -> float:
    """The paper's BN momentum: ``start`` at iteration 0, ``end`` at iteration ``max_iterations - 1``, linear between."""
    if max_iterations <= 1:
        return end
    return start + (end - start) * iteration / (max_iterations - 1)


def torch_bn_momentum(paper_momentum: float, convention: str) -> float:
    """The value for ``nn.BatchNorm2d.momentum`` that realises ``paper_momentum`` under ``convention``."""
    if convention == "pytorch":
        return paper_momentum
    if convention == "decay":
        return 1.0 - paper_momentum
    raise ValueError(f"unknown BN momentum convention {convention!r}; valid: {', '.join(BN_MOMENTUM_CONVENTIONS)}")


def batch_norm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]


def set_bn_momentum(model: nn.Module, momentum: float) -> None:
    for layer in batch_norm_layers(model):
        layer.momentum = momentum


def freeze_batch_norm(model: nn.Module) -> None:
    """BN in eval mode (running statistics used, not updated) and its weight/bias not trainable."""
    for layer in batch_norm_layers(model):
        layer.eval()
        for parameter in layer.parameters():
            parameter.requires_grad_(False)


def unfreeze_batch_norm(model: nn.Module) -> None:
    for layer in batch_norm_layers(model):
        layer.train()
        for parameter in layer.parameters():
            parameter.requires_grad_(True)
