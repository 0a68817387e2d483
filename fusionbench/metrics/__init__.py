"""Fusion quality metrics, each registered with its exact definition (see ``fusionbench list metrics``).

Importing this package registers every built-in metric. Compute them with
:func:`fusionbench.metrics.evaluation.compute_metric` / ``compute_metrics`` under a protocol of
:mod:`fusionbench.metrics.protocols`, or with one :class:`~fusionbench.metrics.evaluation.MetricInputs`
per fused image for several metrics (validation and grey conversion once). Other toolboxes'
conventions (e.g. VIFB's) are dialects: :func:`~fusionbench.metrics.dialects.compute_in_dialect`.
"""
from . import (chen_blum, gradients, mef_ssim, mutual_information, qabf, scd, ssim_sum,  # noqa: F401
               ssim_yang, statistics, viff)
from .evaluation import MetricInputs, applicable_metrics, compute_metric, compute_metrics
from .protocols import PROTOCOLS, get_protocol
from .dialects import compute_in_dialect, get_dialect, list_dialects

#: The six metrics of the IFCNN paper's tables, in the paper's order.
PAPER_METRICS = ("VIFF", "ISSIM", "NMI", "SF", "AG", "MEF-SSIM")

__all__ = ["PAPER_METRICS", "PROTOCOLS", "MetricInputs", "applicable_metrics", "compute_in_dialect", "compute_metric",
           "compute_metrics", "get_dialect", "get_protocol", "list_dialects"]
