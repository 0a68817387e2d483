"""Report sections fed by run.json and the fused images: execution (efficiency) and reproduction."""
from __future__ import annotations

import json

import numpy as np

from fusionbench.image_io import read_image, write_png
from fusionbench.reports.html import write_report

from run_directory_factory import make_run_directory


def _add_published_counterpart(run, offset: int) -> None:
    """vifb:IFCNN images = ifcnn-max's plus ``offset`` grey levels, with metric rows of its own."""
    for path in sorted((run / "fused" / "ifcnn-max" / "lytro").glob("*.png")):
        image = read_image(path).astype(np.int16) + offset
        write_png(run / "fused" / "vifb@IFCNN" / "lytro" / path.name, np.clip(image, 0, 255).astype(np.uint8))
    lines = (run / "metrics.csv").read_text().splitlines()
    lines += [line.replace(",ifcnn-max,", ",vifb:IFCNN,") for line in lines if line.startswith("lytro,") and ",ifcnn-max," in line]
    (run / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_the_report_shows_execution_and_how_a_model_reproduces_its_published_images(tmp_path):
    run = make_run_directory(tmp_path, {"lytro": ("multi-focus", 2, False)})
    _add_published_counterpart(run, 1)
    record = json.loads((run / "run.json").read_text())
    record["algorithms"]["vifb:IFCNN"] = {"name": "vifb:IFCNN", "version": "1", "options": {}}
    record.update(executor="local", workers=2, threads_per_worker=1, wall_seconds=12.5, parallel_efficiency=0.874,
                  stage_seconds={"plan": 0.5, "execute": 11.0, "collect": 0.1})
    (run / "run.json").write_text(json.dumps(record))
    page = write_report(run, gallery=False).read_text(encoding="utf-8")
    assert "87%</b>parallel efficiency" in page
    assert "2 worker(s) × 1 thread(s) in 12.5 s — plan 0.5 s · execute 11.0 s · collect 0.1 s" in page
    section = page.split('<section id="reproduction">')[1].split("</section>")[0]
    cells = section.split("<tbody>")[1].split("</tr>")[0]
    # every value one level up, except those already at 255 (clipped: equal)
    images = [read_image(path) for path in sorted((run / "fused" / "ifcnn-max" / "lytro").glob("*.png"))]
    exact = 100 * sum(int((image == 255).sum()) for image in images) / sum(image.size for image in images)
    assert 0 < exact < 5
    assert (f"<td>ifcnn-max</td><td>vifb:IFCNN</td><td>lytro</td><td>2</td><td>100.00%</td><td>100.00%</td>"
            f"<td>{exact:.2f}%</td><td>{1 - exact / 100:.2f}</td>") in cells


def test_no_reproduction_section_without_a_published_counterpart(tmp_path):
    run = make_run_directory(tmp_path, {"lytro": ("multi-focus", 1, False)})
    page = write_report(run, gallery=False).read_text(encoding="utf-8")
    assert 'id="reproduction"' not in page and 'id="execution"' not in page
