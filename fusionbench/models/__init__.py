"""Neural fusion networks: IFCNN (network, checkpoints, presets, fast and tiled inference) and
networks run from their authors' published weights (SeAFusion, DIDFuse, TarDAL, U2Fusion).

Importing this package registers ``ifcnn-max``, ``ifcnn-mean``, ``ifcnn-sum``, any trained
checkpoints found in ``$FUSIONBENCH_CHECKPOINTS`` or ``<repository>/checkpoints``, ``seafusion``,
``didfuse``, ``tardal``, ``tardal+``, ``tardal++`` and ``u2fusion`` — without importing torch, which
is loaded only when a network is first used.
"""
from . import didfuse, seafusion, tardal, u2fusion  # noqa: F401  (importing registers the algorithms)
from .algorithms import register_official_algorithms, register_trained_checkpoints

register_official_algorithms()
register_trained_checkpoints()
