"""The run pipeline: plan -> execute -> collect, one stage per module, data flowing one way.

* :mod:`.settings` — what a run was asked to do (:class:`RunSettings`);
* :mod:`.suites` — named selections (``run --suite paper``);
* :mod:`.plan` — datasets x algorithms x metrics -> tasks with content keys;
* :mod:`.work` — one task as a worker performs it (decode, fuse, measure; writes nothing);
* :mod:`.executors` — where work runs: isolated local processes or a Dask cluster;
* :mod:`.collect` — the single writer of the run directory (PNGs, cache records, CSVs, run.json);
* :mod:`.run` — the three stages in order.

Tables and the HTML report (:mod:`fusionbench.reports`) read the finished run directory; neither
package imports the other.
"""
from .run import RunSummary, run
from .settings import RunSettings, default_run_directory, parse_option_assignment, parse_protocols

__all__ = ["RunSettings", "RunSummary", "default_run_directory", "parse_option_assignment", "parse_protocols",
           "run"]
