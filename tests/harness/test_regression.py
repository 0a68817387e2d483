"""``fusionbench regress``: drift, missing and extra rows; --update; exit codes."""
from __future__ import annotations

import pandas as pd
import pytest

from fusionbench.cli import main
from fusionbench.regression import compare, read_values

ROWS = """dataset,item,algorithm,protocol,metric,value
lytro,lytro-01,gff,standard,SF,19.2943
lytro,lytro-01,gff,standard,AG,2.5
lytro,lytro-02,gff,standard,SF,18.0
"""


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "metrics.csv").write_text(ROWS)
    return folder


def write_expected(tmp_path, text):
    path = tmp_path / "expected.csv"
    path.write_text(text)
    return path


def test_unchanged_values_pass(run_dir, tmp_path, capsys):
    expected = write_expected(tmp_path, ROWS)
    assert main(["regress", str(run_dir), "--expected", str(expected)]) == 0
    assert "3 values" in capsys.readouterr().out


def test_one_altered_value_fails_with_a_readable_row(run_dir, tmp_path, capsys):
    expected = write_expected(tmp_path, ROWS.replace("19.2943", "19.2953"))
    assert main(["regress", str(run_dir), "--expected", str(expected)]) == 1
    out = capsys.readouterr().out
    assert "1 drifted, 0 missing, 0 extra" in out and "lytro-01" in out and "19.2953" in out and "FAILED" in out
    # Within a loose tolerance the same change passes.
    assert main(["regress", str(run_dir), "--expected", str(expected), "--rtol", "1e-4"]) == 0


def test_missing_and_extra_rows_fail(run_dir, tmp_path):
    expected = write_expected(tmp_path, ROWS.replace("lytro,lytro-02,gff,standard,SF,18.0\n", "") +
                              "medical,c01,gff,standard,SF,5.0\n")
    report = compare(read_values(run_dir / "metrics.csv", "run"), read_values(expected, "expected"))
    assert report.missing[["dataset", "item"]].values.tolist() == [["medical", "c01"]]
    assert report.extra[["dataset", "item"]].values.tolist() == [["lytro", "lytro-02"]]
    assert report.drifted.empty and not report.passed
    assert main(["regress", str(run_dir), "--expected", str(expected)]) == 1


def test_update_rewrites_the_expected_file(run_dir, tmp_path):
    expected = write_expected(tmp_path, ROWS.replace("19.2943", "1.0"))
    assert main(["regress", str(run_dir), "--expected", str(expected), "--update"]) == 0
    assert main(["regress", str(run_dir), "--expected", str(expected)]) == 0
    assert pd.read_csv(expected).value.tolist() == [2.5, 19.2943, 18.0]  # sorted by key


def test_bad_expected_file_is_a_one_line_error(run_dir, tmp_path, capsys):
    expected = write_expected(tmp_path, "dataset,item,value\nx,y,1\n")
    assert main(["regress", str(run_dir), "--expected", str(expected)]) == 2
    assert "missing columns" in capsys.readouterr().err


MIXED = """dataset,item,algorithm,protocol,metric,value
lytro,lytro-01,gff,standard,SF,19.2943
lytro,lytro-01,ifcnn-max,standard,SF,19.4246
lytro,lytro-01,ifcnn-max-trained,standard,SF,18.2400
"""


def test_per_algorithm_tolerance_loosens_only_the_matching_rows(tmp_path, capsys):
    run = tmp_path / "metrics.csv"
    run.write_text(MIXED.replace("19.4246", "19.4250").replace("18.2400", "18.2403").replace("19.2943", "19.2945"))
    expected = write_expected(tmp_path, MIXED)
    # ifcnn rows move by 2e-5 relative, the gff row by 1e-5: only gff is still held to the default 1e-6.
    assert main(["regress", str(run), "--expected", str(expected), "--rtol-for", "ifcnn-*=1e-4"]) == 1
    out = capsys.readouterr().out
    assert "1 drifted" in out and "ifcnn-*: 0.0001" in out
    drifted = out.split("drifted:")[1]
    assert "gff" in drifted and "ifcnn" not in drifted
    # Later patterns win: tightening the trained checkpoint again makes it drift too.
    assert main(["regress", str(run), "--expected", str(expected), "--rtol-for", "ifcnn-*=1e-4",
                 "--rtol-for", "*-trained=1e-6", "--rtol-for", "gff=1e-4"]) == 1
    assert "ifcnn-max-trained" in capsys.readouterr().out.split("drifted:")[1]
    assert main(["regress", str(run), "--expected", str(expected), "--rtol-for", "*=1e-4"]) == 0


@pytest.mark.parametrize("text", ["ifcnn-*", "=1e-4", "ifcnn-*=fast", "ifcnn-*=-1"])
def test_malformed_tolerance_override_is_a_one_line_error(run_dir, tmp_path, capsys, text):
    expected = write_expected(tmp_path, ROWS)
    assert main(["regress", str(run_dir), "--expected", str(expected), "--rtol-for", text]) == 2
    assert "expected ALGORITHM_PATTERN=RTOL" in capsys.readouterr().err
