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
    monkeypatch.setattr(run_module, "_compile_qabf_kernel", lambda: compiled.append("qabf"))
    return compiled


def test_every_ifcnn_compiles_the_winograd_kernels_once(monkeypatch):
    compiled = _record_compilations(monkeypatch)
    run_module.compile_kernels(_plan("ifcnn-max", "ifcnn-sum", "ifcnn-max", "gff"))
    assert compiled == ["winograd"]


def test_lpsr_and_qabf_kernels(monkeypatch):
    compiled = _record_compilations(monkeypatch)
    run_module.compile_kernels(_plan("lpsr", "average", metrics=("QABF",)))
    assert compiled == ["lpsr", "qabf"]


def test_nothing_to_compile_for_plain_baselines(monkeypatch):
    compiled = _record_compilations(monkeypatch)
    run_module.compile_kernels(_plan("average", "gff", metrics=("SF",)))
    assert compiled == []
