"""The one exception family of fusionbench.

Every error a user can cause (a bad file, an unknown name, a missing dataset) is a
:class:`FusionBenchError` whose message is a single sentence naming the file or value
at fault. The CLI prints it as ``error: ...`` and exits non-zero; the run harness
records it per item and carries on.
"""


class FusionBenchError(Exception):
    """Base class: a problem the user can fix, described in one sentence."""


class ImageError(FusionBenchError):
    """An image file is missing, unreadable, corrupt or has unusable content."""


class InputMismatchError(FusionBenchError):
    """Source images disagree in size or channel count, or there are too few of them."""


class UnknownNameError(FusionBenchError):
    """A name (algorithm, metric, dataset, protocol, ...) is not registered."""


class DataNotFoundError(FusionBenchError):
    """A dataset file, checkpoint or dictionary is neither in a mirror, the cache, nor downloadable."""


class ChecksumError(FusionBenchError):
    """A downloaded or mirrored file does not have the expected SHA-256."""


class AlgorithmError(FusionBenchError):
    """A fusion algorithm failed or returned an unusable image."""


class MetricError(FusionBenchError):
    """A metric could not be computed (bad inputs, or a non-finite value)."""


class ConfigError(FusionBenchError):
    """An option, manifest or checkpoint does not fit what it is used for."""
