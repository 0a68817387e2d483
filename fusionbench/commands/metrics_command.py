"""``fusionbench metrics FUSED SOURCE [SOURCE ...]``: metric values of one fused image."""
from __future__ import annotations

import argparse
import json
import sys

NAME = "metrics"
HELP = "compute fusion metrics of one fused image against its source images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("fused", metavar="FUSED", help="the fused image file")
    parser.add_argument("sources", metavar="SOURCE", nargs="+", help="the source image files, in the dataset's order")
    parser.add_argument("--metric", metavar="NAME", dest="metrics", action="extend", nargs="+",
                        help="metrics to compute (repeatable; default: every registered metric that "
                             "applies to this many sources; see 'fusionbench list metrics')")
    parser.add_argument("--protocol", default="standard",
                        help="how two-source metrics receive the sources: 'standard' = metric(A, B, F) "
                             "(default), 'ifcnn-paper' = metric(A, A, F) as the IFCNN paper computed them")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run(arguments: argparse.Namespace) -> int:
    from ..errors import FusionBenchError
    from ..image_io import match_channels, read_image
    from ..metrics.evaluation import applicable_metrics, compute_metrics, prepare_images
    from ..metrics.protocols import get_protocol
    from ..registry import get_metric

    protocol = get_protocol(arguments.protocol).name
    requested = [get_metric(name).name for name in arguments.metrics] if arguments.metrics else None
    paths = [arguments.fused, *arguments.sources]
    fused, *sources = (read_image(path) for path in paths)
    fused, sources = prepare_images(fused, match_channels(sources), labels=paths)
    names = requested or applicable_metrics(len(sources))
    values: dict[str, float] = {}
    failures: dict[str, str] = {}
    for name in names:
        try:
            values.update(compute_metrics([name], fused, sources, protocol))
        except FusionBenchError as error:
            if requested:
                raise  # an explicitly requested metric that cannot be computed is the user's error
            failures[name] = str(error)
    if arguments.json:
        print(json.dumps({"fused": arguments.fused, "sources": arguments.sources, "protocol": protocol,
                          "metrics": values, "failures": failures}, indent=2))
    else:
        width = max(len(name) for name in names)
        for name, value in values.items():
            print(f"{name.ljust(width)}  {value:.10g}")
    for name, message in failures.items():
        print(f"error: {name}: {message}", file=sys.stderr)
    return 2 if failures else 0
