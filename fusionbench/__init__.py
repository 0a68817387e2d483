"""fusionbench: a benchmark harness for image fusion with metrics verified against reference code."""
from .errors import FusionBenchError
from .registry import (
    create_algorithm,
    get_algorithm,
    get_metric,
    list_algorithms,
    list_metrics,
    load_plugin,
    register_algorithm,
    register_metric,
)

__version__ = "0.1.0"

__all__ = [
    "FusionBenchError",
    "create_algorithm",
    "get_algorithm",
    "get_metric",
    "list_algorithms",
    "list_metrics",
    "load_plugin",
    "register_algorithm",
    "register_metric",
    "__version__",
]
