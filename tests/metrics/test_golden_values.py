"""Acceptance 1: every golden value from the Octave reference code, within 0.1% (1e-6 absolute
below 1e-3), through the public API ``compute_metrics``."""
from __future__ import annotations

from collections import defaultdict

import pytest

from fusionbench.metrics import compute_metrics

from .golden_data import FUSED_PATTERNS, GOLDEN_FILES, decoded, read_golden, sources_of


def _within_tolerance(value: float, golden: float) -> bool:
    if abs(golden) < 1e-3:
        return abs(value - golden) <= 1e-6
    return abs(value - golden) <= 1e-3 * abs(golden)


@pytest.mark.parametrize("golden_file", GOLDEN_FILES)
def test_every_golden_row_matches(golden_file, reference_file):
    rows = read_golden(reference_file(f"metrics-golden/{golden_file}"))
    assert rows, f"{golden_file} has no rows"
    groups = defaultdict(list)
    for row in rows:
        groups[(row["algorithm"], row["dataset"], row["item"], row["protocol"])].append(row)
    mismatches = []
    for (algorithm, dataset, item, protocol), group in groups.items():
        fused = decoded(reference_file(FUSED_PATTERNS[(algorithm, dataset)].format(item=item)))
        values = compute_metrics([row["metric"] for row in group], fused, list(sources_of(dataset, item)), protocol)
        for row in group:
            golden = float(row["value"])
            if not _within_tolerance(values[row["metric"]], golden):
                mismatches.append(f"{dataset}/{item} {row['metric']} ({protocol}): {values[row['metric']]:.10g} "
                                  f"vs golden {golden:.10g}")
    assert not mismatches, "\n".join(mismatches)


def test_golden_files_cover_the_six_paper_metrics(reference_file):
    metrics = {row["metric"] for name in GOLDEN_FILES for row in read_golden(reference_file(f"metrics-golden/{name}"))}
    assert metrics == {"VIFF", "ISSIM", "NMI", "SF", "AG", "MEF-SSIM"}
