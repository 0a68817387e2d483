"""``fusionbench train`` on the command line: a smoke run, and user errors as one-line messages."""
import numpy as np
import pytest
import torch

from fusionbench.cli import main
from fusionbench.training.checkpoint_file import load_checkpoint


@pytest.fixture
def plain_images(tmp_path):
    import cv2

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(3):
        cv2.imwrite(str(folder / f"{index}.png"), np.kron(rng.uniform(0, 255, (12, 16, 3)), np.ones((4, 4, 1))).astype(np.uint8))
    return folder


def test_smoke_run_from_the_command_line(tmp_path, plain_images, reference_file):
    reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth")  # conv1 comes from the official snapshot
    threads = torch.get_num_threads()
    try:
        status = main(["train", "--variant", "baseline-mean", "--preset", "smoke", "--data", str(plain_images),
                       "--out", str(tmp_path / "out"), "--device", "cpu", "--threads", "1", "--no-progress"])
    finally:
        torch.set_num_threads(threads)
    assert status == 0
    payload = load_checkpoint(tmp_path / "out" / "final.pt")
    assert (payload["variant"], payload["fusion_rule"], payload["iteration"]) == ("baseline-mean", "mean", 16)
    assert payload["data"].startswith("plain: 3 images")
    official = torch.load(reference_file("ifcnn-official/snapshots/IFCNN-MAX.pth"), map_location="cpu", weights_only=True)
    torch.testing.assert_close(payload["state_dict"]["conv1.weight"], official["conv1.weight"])


def test_missing_data_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("FUSIONBENCH_TRAIN_DATA", raising=False)
    assert main(["train", "--variant", "ifcnn-max", "--preset", "smoke", "--out", str(tmp_path / "o")]) == 2
    assert "error: no training data: pass --data DIR or set FUSIONBENCH_TRAIN_DATA." in capsys.readouterr().err
    monkeypatch.setenv("FUSIONBENCH_TRAIN_DATA", str(tmp_path / "absent"))
    assert main(["train", "--variant", "ifcnn-max", "--preset", "smoke", "--out", str(tmp_path / "o")]) == 2
    assert "absent does not exist" in capsys.readouterr().err
