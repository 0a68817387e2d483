"""Modules imported during the execute stage; forks wait for the imports to finish."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from fusionbench.commands.background_imports import BackgroundImports


def test_imports_in_the_background_and_waits():
    imports = BackgroundImports(["json", "fusionbench.reports.escaping"])
    imports.start()
    imports.start()  # a second call does nothing
    imports.wait()
    assert "fusionbench.reports.escaping" in sys.modules


def test_a_missing_module_is_left_to_the_real_import():
    imports = BackgroundImports(["fusionbench.no_such_module_here"])
    imports.start()
    imports.wait()
    assert "fusionbench.no_such_module_here" not in sys.modules


def test_fork_waits_for_the_imports(tmp_path):
    """A module that takes a while to import: the child forked meanwhile sees it fully imported.

    Without the fork hook the child deadlocks on the module lock its parent's thread held (checked).
    """
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(1.0)\nDONE = True\n")
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(tmp_path)!r})
        from fusionbench.commands.background_imports import BackgroundImports
        imports = BackgroundImports(["slow_module"])
        imports.start()
        pid = os.fork()
        if pid == 0:
            import slow_module
            os._exit(0 if slow_module.DONE else 3)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "child 0", result.stderr


def test_run_starts_the_hook_once_the_first_result_is_in(tmp_path, monkeypatch):
    import importlib

    from fusionbench.harness.settings import RunSettings

    run_module = importlib.import_module("fusionbench.harness.run")
    calls = []
    settings = RunSettings(out=tmp_path / "run", datasets=["lytro"], algorithms=["average", "max-abs"],
                           max_items=1, metrics=["SF"], jobs=1, progress=False, in_process=True)
    run_module.run(settings, log=lambda text: None, while_executing=lambda: calls.append(1))
    assert calls == [1]
