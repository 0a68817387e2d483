"""No code execution from checkpoint files: crafted pickles are refused, real checkpoints round-trip.

Each attack file carries a pickle whose loading would create a marker file (``pathlib.Path.touch``
or ``os.system``). The controls prove that the files are armed: an unrestricted load does create the
marker. The product must refuse the same files with a one-line ``error: FILE: ...`` and status 2.
"""
from __future__ import annotations

import copyreg
import dataclasses
import io
import os
import pathlib
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from fusionbench.errors import ConfigError, DataNotFoundError
from fusionbench.models.checkpoints import discover_trained_checkpoints, read_checkpoint_summary
from fusionbench.training.checkpoint_file import load_checkpoint, save_checkpoint
from fusionbench.training.recipes import recipe_for
from fusionbench.training.rgbd_sources import RGBDImage, synthetic_depth
from fusionbench.training.trainer import TrainingJob, train

REPOSITORY = Path(__file__).resolve().parents[2]
COMMITTED_CHECKPOINTS = sorted((REPOSITORY / "checkpoints").rglob("*.pt"))
LAYOUTS = ("zip", "legacy", "pickle")


class _TouchOnLoad:
    """Unpickles by calling ``Path.touch(marker)``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


class _ShellOnLoad:
    """Unpickles by running a shell command through ``os.system``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def _armed_payload(marker: Path) -> dict:
    """Looks like a fusionbench-ifcnn checkpoint, with code in the fields the trainer reads first."""
    return {"format": "fusionbench-ifcnn", "format_version": 1, "variant": _TouchOnLoad(marker),
            "fusion_rule": "max", "state_dict": {}, "iteration": 0, "stage": _ShellOnLoad(marker),
            "recipe": {}, "data": "", "code_version": ""}


def write_armed_checkpoint(path: Path, marker: Path, layout: str) -> Path:
    """A crafted checkpoint: torch's zip format, torch's legacy format, or a bare pickle."""
    payload = _armed_payload(marker)
    if layout == "zip":
        torch.save(payload, path)
    elif layout == "legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=4))
    return path


@pytest.fixture
def plain_images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    import cv2

    rng = np.random.default_rng(0)
    for index in range(3):
        image = np.kron(rng.uniform(0, 255, (12, 16, 3)), np.ones((4, 4, 1))).astype(np.uint8)
        cv2.imwrite(str(folder / f"{index}.png"), image)
    return folder


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_crafted_files_are_armed(tmp_path, layout):
    """Control: without the restriction, reading the file runs its code (else the tests below prove nothing)."""
    marker = tmp_path / "ran"
    path = write_armed_checkpoint(tmp_path / "armed.pt", marker, layout)
    try:
        torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # noqa: BLE001 -- a bare pickle is not a torch file: torch fails, after running it
        pass
    assert marker.exists()


def _train_command(plain_images: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """``fusionbench train`` in a fresh interpreter, so stderr holds everything a user would see."""
    command = [sys.executable, "-m", "fusionbench", "train", "--variant", "baseline-max", "--preset", "smoke",
               "--data", str(plain_images), "--out", str(out), "--device", "cpu", "--threads", "1",
               "--no-progress", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=out.parent)


def _assert_refused(result: subprocess.CompletedProcess, path: Path, marker: Path) -> None:
    assert not marker.exists(), "the checkpoint's code ran"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}: "), lines[0]
    assert result.returncode == 2


@pytest.mark.parametrize("layout", LAYOUTS)
def test_resume_refuses_a_crafted_last_pt(tmp_path, plain_images, layout):
    out = tmp_path / "run"
    out.mkdir()
    marker = tmp_path / "ran"
    path = write_armed_checkpoint(out / "last.pt", marker, layout)
    result = _train_command(plain_images, out, "--resume")
    _assert_refused(result, path, marker)
    assert "not a readable PyTorch checkpoint" in result.stderr


@pytest.mark.parametrize("layout", ("zip", "pickle"))  # the legacy layout is read as resume's is
def test_init_from_refuses_a_crafted_file(tmp_path, plain_images, layout):
    marker = tmp_path / "ran"
    path = write_armed_checkpoint(tmp_path / "pre-training.pt", marker, layout)
    result = _train_command(plain_images, tmp_path / "run", "--init-from", str(path))
    _assert_refused(result, path, marker)
    assert not (tmp_path / "run" / "log.csv").exists()  # refused before training started


def test_perceptual_weights_refuse_a_crafted_file(tmp_path):
    from fusionbench.training.losses import build_perceptual_loss

    marker = tmp_path / "ran"
    path = write_armed_checkpoint(tmp_path / "resnet101.pth", marker, "zip")
    with pytest.raises(ConfigError) as caught:
        build_perceptual_loss("resnet101", path)
    assert str(caught.value).startswith(f"{path}: ") and "could run code" in str(caught.value)
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# Plain-data checkpoints that are still wrong: one message naming the file, never a traceback.


def _valid_payload() -> dict:
    return load_checkpoint(REPOSITORY / "checkpoints" / "baseline-max.pt")


def _with(**changes):
    def change(payload: dict) -> dict:
        payload.update(changes)
        return payload
    return change


def _without(key: str):
    def change(payload: dict) -> dict:
        del payload[key]
        return payload
    return change


@pytest.mark.parametrize("change, message", [
    (lambda payload: [payload], "not a fusionbench-ifcnn checkpoint"),
    (_with(format="other"), "not a fusionbench-ifcnn checkpoint"),
    (_with(format_version=2), "format version 2, expected 1"),
    (_with(iteration="7"), "field 'iteration' is a str, expected int"),
    (_with(iteration=True), "field 'iteration' is a bool, expected int"),
    (_with(iteration=-1), "iteration -1 is negative"),
    (_without("variant"), "field 'variant' is missing, expected str"),
    (_with(state_dict={"conv1.weight": [1.0]}), "state_dict entry 'conv1.weight' is not a named tensor"),
    (_with(rng=torch.zeros(4)), "rng is a torch.float32 tensor"),
    (_with(optimizer=[1, 2]), "field 'optimizer' is a list, expected dict"),
], ids=["list", "format", "version", "iteration-text", "iteration-bool", "negative", "no-variant",
        "state-dict", "rng", "optimizer"])
def test_wrong_plain_data_is_one_clear_error(tmp_path, change, message):
    path = tmp_path / "last.pt"
    torch.save(change(_valid_payload()), path)
    with pytest.raises(ConfigError) as caught:
        load_checkpoint(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(DataNotFoundError, match=f"^{tmp_path / 'absent.pt'}: "):
        load_checkpoint(tmp_path / "absent.pt")


# ---------------------------------------------------------------------------------------------
# Real checkpoints: plain data, and the training state survives the round trip.


def _smoke_job(out_dir: Path, **changes) -> TrainingJob:
    """The smoke recipe on four synthetic images, conv1 drawn at random (no reference files needed)."""
    rng = np.random.default_rng(0)
    images = [RGBDImage(np.kron(rng.uniform(0, 255, (14, 16, 3)), np.ones((4, 4, 1))).astype(np.uint8),
                        synthetic_depth(56, 64, index), f"test-{index}") for index in range(4)]
    conv1 = torch.randn(64, 3, 7, 7, generator=torch.Generator().manual_seed(0)) * 0.05
    job = TrainingJob(variant="baseline-max", recipe=recipe_for("smoke", "baseline-max"), images=images,
                      data_description="test images", out_dir=out_dir, progress=False, conv1_weight=conv1)
    return dataclasses.replace(job, **changes)


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """(run folder, returned payload) of a smoke run stopped after iteration 7, inside pre-training."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic and fair on a shared machine
    try:
        out_dir = tmp_path_factory.mktemp("interrupted") / "run"
        payload = train(_smoke_job(out_dir, max_iterations=7))
    finally:
        torch.set_num_threads(threads)
    return out_dir, payload


@pytest.fixture
def run_copy(interrupted_run, tmp_path):
    """A private copy of the interrupted run's folder (tests change its last.pt)."""
    import shutil

    return Path(shutil.copytree(interrupted_run[0], tmp_path / "run"))


def test_training_checkpoint_round_trips_as_plain_data(interrupted_run, run_copy):
    saved = interrupted_run[1]
    last = run_copy / "last.pt"
    raw = torch.load(last, map_location="cpu", weights_only=True)  # plain data: no allow-listing needed
    assert raw["iteration"] == 7 and raw["rng"].dtype == torch.uint8
    momentum = [state["momentum_buffer"] for state in raw["optimizer"]["state"].values()]
    assert momentum and all(isinstance(buffer, torch.Tensor) for buffer in momentum)

    # A populated AMP scaler state (CUDA runs write one) is plain numbers and comes back unchanged.
    scaler = torch.amp.GradScaler("cpu", init_scale=512.0, growth_interval=7)
    raw["scaler"] = scaler.state_dict()
    save_checkpoint(raw, last)
    loaded = load_checkpoint(last)
    assert loaded["scaler"] == scaler.state_dict() and loaded["scaler"]["scale"] == 512.0
    restored_scaler = torch.amp.GradScaler("cpu")
    restored_scaler.load_state_dict(loaded["scaler"])
    assert restored_scaler.get_scale() == 512.0 and restored_scaler.get_growth_interval() == 7

    generator, original = torch.Generator(), torch.Generator()
    generator.set_state(loaded["rng"])
    original.set_state(saved["rng"])
    assert torch.equal(torch.rand(8, generator=generator), torch.rand(8, generator=original))
    for key, value in saved["optimizer"]["state"].items():
        assert torch.equal(loaded["optimizer"]["state"][key]["momentum_buffer"], value["momentum_buffer"])
    assert loaded["optimizer"]["param_groups"] == saved["optimizer"]["param_groups"]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        job = _smoke_job(run_copy, resume=True)
        resumed = train(job)
    finally:
        torch.set_num_threads(threads)
    assert resumed["iteration"] == job.recipe.total_iterations


def _misfit_weights(payload):
    payload["state_dict"]["conv2.conv.weight"] = torch.zeros(3)
    return "weights do not fit the IFCNN architecture"


def _misfit_rng(payload):
    payload["rng"] = torch.zeros(4, dtype=torch.uint8)
    return "its saved rng state does not fit this run"


def _misfit_optimizer(payload):
    payload["optimizer"] = {"state": {}, "param_groups": []}
    return "its saved optimizer state does not fit this run"


def _misfit_recipe(payload):
    payload["recipe"] = {"stages": 5}
    return "its recipe is not a training recipe"


@pytest.mark.parametrize("misfit", [_misfit_weights, _misfit_rng, _misfit_optimizer, _misfit_recipe],
                         ids=["weights", "rng", "optimizer", "recipe"])
def test_resume_from_plain_data_that_does_not_fit_is_one_clear_error(run_copy, misfit):
    last = run_copy / "last.pt"
    payload = load_checkpoint(last)
    message = misfit(payload)
    save_checkpoint(payload, last)
    with pytest.raises(ConfigError) as caught:
        train(_smoke_job(run_copy, resume=True))
    assert str(caught.value).startswith(f"{last}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("path", COMMITTED_CHECKPOINTS, ids=lambda path: str(path.relative_to(REPOSITORY)))
def test_committed_checkpoints_are_plain_data(path):
    raw = torch.load(path, map_location="cpu", weights_only=True)
    payload = load_checkpoint(path)
    assert payload["iteration"] == raw["iteration"] > 0
    assert all(payload[key] is None for key in ("optimizer", "rng", "scaler"))  # released copies
    assert read_checkpoint_summary(path)["variant"] == payload["variant"]


# ---------------------------------------------------------------------------------------------
# The summary reader that lists trained checkpoints without torch.


def _zip_with_pickle(path: Path, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{path.stem}/data.pkl", data)
    return path


class _OrderedDictWithAttributes:
    """Pickles as an OrderedDict whose BUILD state replaces its ``get`` method."""

    def __reduce__(self):
        import collections

        items = [("format", "fusionbench-ifcnn"), ("format_version", 1), ("variant", "baseline-max"),
                 ("fusion_rule", "max"), ("iteration", 3), ("state_dict", {})]
        return collections.OrderedDict, (), {"get": collections.OrderedDict}, None, iter(items)


def test_summary_reader_ignores_attributes_set_by_the_pickle(tmp_path):
    path = _zip_with_pickle(tmp_path / "tricky.pt", pickle.dumps(_OrderedDictWithAttributes(), protocol=2))
    summary = read_checkpoint_summary(path)
    assert summary.get("variant") == "baseline-max"  # the real dict method, not the file's replacement
    assert [name for name, _, _ in discover_trained_checkpoints([tmp_path])] == ["baseline-max"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_checkpoint_listing_skips_crafted_files_without_running_them(tmp_path, layout):
    marker = tmp_path / "ran"
    write_armed_checkpoint(tmp_path / "armed.pt", marker, layout)
    assert discover_trained_checkpoints([tmp_path]) == []
    with pytest.raises(ConfigError, match=f"^{tmp_path / 'armed.pt'}: "):
        read_checkpoint_summary(tmp_path / "armed.pt")
    assert not marker.exists()


class _RefusingUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"{module}.{name}")


def test_summary_reader_refuses_cached_copyreg_extensions(tmp_path):
    """The C unpickler resolves a known extension code from a process-wide cache, bypassing find_class."""
    marker = tmp_path / "ran"
    key, code = (os.system.__module__, "system"), 0x7FFFFF01
    copyreg.add_extension(*key, code)
    try:
        pickle.loads(pickle.dumps(os.system, protocol=2))  # some earlier, ordinary unpickling warms the cache
        control = _RefusingUnpickler(io.BytesIO(pickle.dumps(os.system, protocol=2))).load()
        assert control is os.system  # the hole: find_class was never asked
        data = pickle.dumps({"format": "fusionbench-ifcnn", "variant": _ShellOnLoad(marker)}, protocol=2)
        path = _zip_with_pickle(tmp_path / "extension.pt", data)
        with pytest.raises(ConfigError, match=f"^{path}: "):
            read_checkpoint_summary(path)
        assert discover_trained_checkpoints([tmp_path]) == []
    finally:
        copyreg.remove_extension(*key, code)
        copyreg.clear_extension_cache()
    assert not marker.exists()
