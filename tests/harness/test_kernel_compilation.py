"""The driver compiles each Numba kernel its plan needs once, before workers start."""
from __future__ import annotations

import importlib
from types import SimpleNamespace

# The package re-exports the function ``run``, which hides the module of the same name.
run_module = importlib.import_module("fusionbench.harness.run")


def _plan(*algorithms: str, metrics: tuple[str, ...] = ()) -> SimpleNamespace:
    jobs = [SimpleNamespace(name=name) for name in metrics]
    return SimpleNamespace(tasks=[SimpleNamespace(algorithm=name, metrics=jobs) for name in algorithms])


def _record_compilations(monkeypatch) -> list[str]:
    compiled = []
    import fusionbench.baselines.sparse_coding as sparse_coding
    import fusionbench.models.winograd_channels_last as winograd_channels_last

    monkeypatch.setattr(sparse_coding, "compile_kernel", lambda: compiled.append("lpsr"))
    monkeypatch.setattr(winograd_channels_last, "compile_kernels", lambda: compiled.append("winograd"))
    monkeypatch.setattr(run_module, "warm_metrics", lambda plan: compiled.append("metrics"))
    return compiled


def test_every_ifcnn_compiles_the_winograd_kernels_once(monkeypatch):
    compiled = _record_compilations(monkeypatch)
    run_module.compile_kernels(_plan("ifcnn-max", "ifcnn-sum", "ifcnn-max", "gff"))
    assert compiled == ["winograd", "metrics"]


def test_lpsr_kernel(monkeypatch):
    compiled = _record_compilations(monkeypatch)
    run_module.compile_kernels(_plan("lpsr", "average", metrics=("QABF",)))
    assert compiled == ["lpsr", "metrics"]


def test_no_algorithm_kernel_for_plain_baselines(monkeypatch):
    compiled = _record_compilations(monkeypatch)
    run_module.compile_kernels(_plan("average", "gff", metrics=("SF",)))
    assert compiled == ["metrics"]


def _metric_plan(*jobs, sources: int = 2) -> SimpleNamespace:
    from fusionbench.harness.plan import MetricJob

    metric_jobs = [MetricJob(name, (protocol,), "key", dialect) for name, protocol, dialect in jobs]
    return SimpleNamespace(tasks=[SimpleNamespace(algorithm="average", metrics=metric_jobs,
                                                  source_paths=["a.png"] * sources)])


def test_warming_computes_each_built_in_metric_once_in_the_driver(monkeypatch):
    calls = []
    work = importlib.import_module("fusionbench.harness.work")
    original = work.compute_metric_value
    monkeypatch.setattr(work, "compute_metric_value",
                        lambda job, *arguments: calls.append((job.name, job.dialect)) or original(job, *arguments))
    plan = _metric_plan(("QABF", "standard", None), ("SF", "standard", None), ("Qcb", "vifb", "vifb"))
    plan.tasks.append(plan.tasks[0])  # the same jobs again: warmed once
    run_module.warm_metrics(plan)
    assert sorted(calls) == [("QABF", None), ("Qcb", "vifb"), ("SF", None)]


def test_warming_never_runs_a_plugin_metric_in_the_driver():
    from fusionbench.registry import METRICS, register_metric

    ran = []

    @register_metric("warm-test-plugin-metric", sources=2)
    def plugin_metric(fused, sources):  # would abort the driver if a plugin did so here
        ran.append(1)
        return 0.0

    plugin_metric.__module__ = "someone_elses_plugin"
    try:
        run_module.warm_metrics(_metric_plan(("warm-test-plugin-metric", "standard", None)))
    finally:
        METRICS.remove("warm-test-plugin-metric")
    assert ran == []
