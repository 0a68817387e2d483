"""Model cards: ``fusionbench list algorithms --verbose`` shows each zoo model's licence, weights and verification.

The SHA-256s below are written out (not read from the modules) so that a changed constant fails
here as well as in the download check; the pages in ``docs/models/`` must state the same hashes.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fusionbench.cli import main
from fusionbench.models.model_cards import model_cards

REPOSITORY = Path(__file__).resolve().parents[2]

#: Zoo model -> (SHA-256 of each weight file, a phrase of its licence line).
ZOO = {
    "seafusion": (["8d65a7f9a50f36349803368cf9920f40420776995e7e8cc8a56d8d30e499431d"], "weights MIT"),
    "didfuse": (["4d84a4e64e58469d3d4591f83c6683ead3e422498519db99bb617cb29d268471",
                 "c6974e2a7c66ab579a77bacb086023237a229e769d459783bad8ff43e52e9986"], "no LICENSE file"),
    "tardal": (["e0fa61e25cffa9fb14ff17b47ea7ba237a6e8c6f37e1b9b115d63354ff0f13e1"], "no LICENSE file"),
    "tardal+": (["cff3756548b511e3e415616debc557cdc85b3bb19393ca158cac8d08f232897c"], "no LICENSE file"),
    "tardal++": (["7009d125e36db043d6918d9358e10c6dca7fdf2dd08ada09c5ecd294f45f98c5"], "no LICENSE file"),
    "u2fusion": (["15b7d283a1de8f616cc42978346bd24d47a9c380d624370368b956beb593014e",
                  "e50cada8d4ec92f2577ad5db5d212fba521dffb35d04e00a20364b43512c64c8"], "no LICENSE file"),
    "ifcnn-max": (["6022b44c88a2f0367ba9b08fcdf0d663745d9a966fca0ee1f41867797b6ff53f"], "no LICENSE file"),
}


def listing(capsys, *arguments: str) -> str:
    assert main(["list", "algorithms", *arguments]) == 0
    return capsys.readouterr().out


def blocks(text: str) -> dict[str, str]:
    """Verbose output split into one block per algorithm, by name."""
    return {block.split("\n", 1)[0]: block for block in text.strip().split("\n\n")}


def test_verbose_listing_shows_each_zoo_models_card(capsys):
    described = blocks(listing(capsys, "--verbose"))
    for name, (hashes, licence) in ZOO.items():
        block = described[name]
        for sha256 in hashes:
            assert f"sha256 {sha256}" in block, name
        licence_line = next(line for line in block.splitlines() if line.strip().startswith("licence:"))
        assert licence in licence_line and "does not redistribute" in licence_line, name
        assert "verified:" in block and f"card:     {model_cards()[name].document}" in block
    tardal_verification = "\n  verified: 3 pairs of VIF-Benchmark's float16 GPU run: 100 % of values within +-2"
    assert tardal_verification in described["tardal++"]
    assert "kind:     deep" in described["u2fusion"] and "families: infrared-visual" in described["u2fusion"]


def test_verbose_listing_describes_algorithms_without_a_card(capsys):
    described = blocks(listing(capsys, "--verbose"))
    assert "kind:     classical" in described["gff"] and "licence:" not in described["gff"]
    assert "kind:     published" in described["vifb:SeAFusion"] and "VIFB" in described["vifb:SeAFusion"]


def test_plain_listing_is_the_table_without_cards(capsys):
    text = listing(capsys)
    lines = text.splitlines()
    assert lines[0].split() == ["name", "kind", "families", "inputs", "colour", "origin", "summary"]
    assert any(line.split()[:2] == ["seafusion", "deep"] for line in lines)
    assert "sha256" not in text and "licence" not in text


def test_every_card_names_a_page_that_states_its_hashes():
    for name, card in model_cards().items():
        page = (REPOSITORY / card.document).read_text(encoding="utf-8")
        for remote in card.weights:
            assert remote.sha256 in page, (name, remote.file_name)


def test_verbose_listing_imports_no_heavy_library():
    probe = ("import json, sys; from fusionbench.cli import main; status = main(['list', 'algorithms', '--verbose']); "
             "print(json.dumps([status, sorted(sys.modules)]))")
    finished = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    status, modules = json.loads(finished.stdout.splitlines()[-1])
    assert status == 0 and "sha256 8d65a7f9" in finished.stdout
    assert [name for name in modules if name.split(".")[0] in ("torch", "pandas", "matplotlib")] == []


@pytest.mark.parametrize("name", sorted(ZOO))
def test_card_weights_are_the_ones_fuse_downloads(name):
    # the card reads the modules' constants; written-out hashes above guard both
    assert [remote.sha256 for remote in model_cards()[name].weights] == ZOO[name][0]
