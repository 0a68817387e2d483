"""User datasets from a folder with a TOML manifest, and ``fusionbench datasets``."""
from __future__ import annotations

import pytest

from fusionbench.cli import main
from fusionbench.datasets import get_dataset, load_manifest
from fusionbench.errors import ConfigError, DataNotFoundError


def test_grouping_manifest_gives_items_with_sources_in_name_order(tiny_dataset):
    dataset = load_manifest(tiny_dataset)
    assert (dataset.name, dataset.family) == ("tiny", "multi-focus")
    assert [item.name for item in dataset.items] == ["a", "b", "c"]
    assert [path.name for path in dataset.items[1].source_paths()] == ["b-1.png", "b-2.png"]
    assert get_dataset(str(tiny_dataset)).name == "tiny"
    assert get_dataset("tiny").items == dataset.items  # registered under its name on first use


def test_explicit_items_keep_the_listed_order_and_check_hashes(tiny_dataset):
    from fusionbench.cache_key import file_sha256

    digest = file_sha256(tiny_dataset / "a-2.png")
    (tiny_dataset / "fusionbench-dataset.toml").write_text(
        'name = "ordered"\nfamily = "medical"\n[[items]]\nname = "one"\n'
        f'sources = [{{file = "a-2.png", sha256 = "{digest}"}}, "a-1.png"]\n')
    dataset = load_manifest(tiny_dataset)
    assert [path.name for path in dataset.items[0].source_paths()] == ["a-2.png", "a-1.png"]


@pytest.mark.parametrize("text, message", [
    ('family = "multi-focus"\n[grouping]\npattern = "(?P<item>.)"\n', "'name' must be"),
    ('name = "x"\nfamily = "focus"\n[grouping]\npattern = "(?P<item>.)"\n', "family 'focus'"),
    ('name = "x"\nfamily = "medical"\n', "give either"),
    ('name = "x"\nfamily = "medical"\n[grouping]\npattern = "(.+)"\n', "group named 'item'"),
    ('name = "x"\nfamily = "medical"\n[[items]]\nname = "a"\nsources = ["a-1.png"]\n', "at least 2"),
    ('name = "x\n', "not valid TOML"),
    ('name = "lytro"\nfamily = "medical"\n[grouping]\npattern = \'(?P<item>[a-z])-[12]\\.png\'\n', "taken"),
])
def test_bad_manifests_are_one_sentence_errors(tiny_dataset, text, message):
    (tiny_dataset / "fusionbench-dataset.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        get_dataset(str(tiny_dataset))


def test_missing_listed_file_names_the_file(tiny_dataset):
    (tiny_dataset / "fusionbench-dataset.toml").write_text(
        'name = "gone"\nfamily = "medical"\n[[items]]\nname = "a"\nsources = ["a-1.png", "nope.png"]\n')
    with pytest.raises(DataNotFoundError, match="nope.png"):
        load_manifest(tiny_dataset).items[0].source_paths()


def test_datasets_command_list_and_verify(tiny_dataset, capsys):
    assert main(["datasets", "list", str(tiny_dataset)]) == 0
    assert "tiny" in capsys.readouterr().out
    assert main(["datasets", "verify", str(tiny_dataset)]) == 0
    (tiny_dataset / "fusionbench-dataset.toml").write_text(
        'name = "listed"\nfamily = "medical"\n[[items]]\nname = "a"\nsources = ["a-1.png", "c-2.png"]\n')
    (tiny_dataset / "c-2.png").unlink()
    assert main(["datasets", "verify", str(tiny_dataset)]) == 1
    assert "c-2.png" in capsys.readouterr().out


def test_builtin_datasets_verify_against_the_mirror(reference_file, capsys):
    reference_file("lytro/lytro-01-A.jpg")  # skips without the data mirror
    assert main(["datasets", "verify", "medical", "tno-iv"]) == 0
    assert "ok" in capsys.readouterr().out
