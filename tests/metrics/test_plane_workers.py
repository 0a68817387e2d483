"""Threads for a dialect's colour planes follow a run worker's share of the cores."""
from fusionbench.metrics.dialects import plane_workers


def test_plane_threads_follow_the_explicit_setting_then_the_workers_share(monkeypatch):
    monkeypatch.delenv("FUSIONBENCH_PLANE_WORKERS", raising=False)
    monkeypatch.setenv("FUSIONBENCH_THREADS", "1")  # what the harness sets in a worker of a 2-worker run on 2 cores
    assert plane_workers() == 1
    monkeypatch.setenv("FUSIONBENCH_THREADS", "8")
    assert plane_workers() == 3  # three planes: more threads than that would idle
    monkeypatch.setenv("FUSIONBENCH_PLANE_WORKERS", "2")
    assert plane_workers() == 2
