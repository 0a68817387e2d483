"""IFCNN (Zhang et al., Information Fusion 2020): network, checkpoints, presets, fast and tiled inference.

Importing this package registers ``ifcnn-max``, ``ifcnn-mean``, ``ifcnn-sum`` and any trained
checkpoints found in ``$FUSIONBENCH_CHECKPOINTS`` or ``<repository>/checkpoints`` — without
importing torch, which is loaded only when a network is first used.
"""
from .algorithms import register_official_algorithms, register_trained_checkpoints

register_official_algorithms()
register_trained_checkpoints()
