"""Thread limits: a worker's share of the cores, without breaking libraries already loaded."""
import subprocess
import sys
import textwrap


def test_numba_keeps_compiling_after_the_thread_limit_changes():
    # CI failure (2026-12-07): an in-process run with 1 thread, then one with 2, changed
    # NUMBA_NUM_THREADS under a launched pool; every later Numba compilation raised.
    script = textwrap.dedent("""
        from fusionbench.harness.threads import apply_thread_limit, set_thread_environment
        set_thread_environment(1)  # before Numba loads: its pool starts with one thread
        import numba, numpy as np
        @numba.njit(parallel=True)
        def total(values):
            result = 0.0
            for index in numba.prange(values.shape[0]):
                result += values[index]
            return result
        assert total(np.ones(1000)) == 1000.0
        apply_thread_limit(2)
        @numba.njit
        def double(value):
            return 2 * value
        assert double(21) == 42
        print("ok", numba.get_num_threads())
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split() == ["ok", "1"]
