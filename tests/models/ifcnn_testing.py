"""Helpers shared by the IFCNN tests (imported by name: pytest puts this folder on sys.path)."""
from __future__ import annotations

import torch

from fusionbench.models.ifcnn_network import IFCNN


def random_network(rule: str, seed: int = 0) -> IFCNN:
    """An IFCNN with random weights and non-trivial BatchNorm statistics (CPU, eval mode)."""
    torch.manual_seed(seed)
    network = IFCNN(rule)
    for block in (network.conv2, network.conv3):
        block.bn.running_mean.uniform_(-0.5, 0.5)
        block.bn.running_var.uniform_(0.5, 2.0)
        block.bn.weight.data.uniform_(0.5, 1.5)
        block.bn.bias.data.uniform_(-0.2, 0.2)
    return network.eval()


def plain(network, inputs):
    """The plain network's output, as the official demo computes it (no autograd)."""
    with torch.no_grad():
        return network(inputs)
