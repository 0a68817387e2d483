"""Neural fusion networks: IFCNN (network, checkpoints, presets, fast and tiled inference) and
networks run from their authors' published weights (SeAFusion, DIDFuse).

Importing this package registers ``ifcnn-max``, ``ifcnn-mean``, ``ifcnn-sum``, any trained
checkpoints found in ``$FUSIONBENCH_CHECKPOINTS`` or ``<repository>/checkpoints``, ``seafusion``
and ``didfuse`` — without importing torch, which is loaded only when a network is first used.
"""
from . import didfuse, seafusion  # noqa: F401  (importing registers the algorithm)
from .algorithms import register_official_algorithms, register_trained_checkpoints

register_official_algorithms()
register_trained_checkpoints()
