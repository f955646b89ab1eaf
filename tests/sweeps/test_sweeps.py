"""Tests of clln_theory.sweeps: executors, atomic resumable result files, progress, Dask."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from clln_theory.errors import ArgumentError, DataFormatError
from clln_theory.sweeps import SerialExecutor, grid, load_records, run_sweep

ROOT = Path(__file__).resolve().parents[2]


# Module-level functions: picklable for process pools and Dask workers.
def square(item):
    return {"x": item["x"], "y": np.float64(item["x"]) ** 2, "v": np.arange(3) * item["x"]}


def fail_on_three(x):
    if x == 3:
        raise ArithmeticError(f"three is not allowed (got {x})")
    return x * 10


def interrupt_on_three(x):
    if x == 3:
        raise KeyboardInterrupt
    return x * 10


class Counter:
    """Counts calls (in-process, with SerialExecutor)."""

    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, x):
        self.calls.append(x)
        return self.fn(x)


def test_grid_order_and_validation():
    items = grid(tau=np.array([0.1, 1.0]), seed=range(3))
    assert len(items) == 6
    assert items[0] == {"tau": 0.1, "seed": 0} and items[-1] == {"tau": 1.0, "seed": 2}
    assert type(items[0]["tau"]) is float  # numpy scalars converted, so keys are JSON
    with pytest.raises(ArgumentError, match="axis 'seed' is empty"):
        grid(tau=[1.0], seed=[])


def test_process_pool_default_keeps_item_order(tmp_path):
    items = grid(x=[3, 1, 2, 0])
    res = run_sweep(square, items, max_workers=2, path=tmp_path / "s.jsonl")
    assert [r["y"] for r in res.results] == [9.0, 1.0, 4.0, 0.0]
    assert res.results[0]["v"] == [0, 3, 6]  # stored form: arrays became lists
    assert res.n_computed == 4 and res.n_resumed == 0 and res.ok
    recs = load_records(tmp_path / "s.jsonl")
    assert sorted(r["item"]["x"] for r in recs) == [0, 1, 2, 3]
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"


def test_without_path_results_are_returned_unchanged():
    res = run_sweep(square, grid(x=[2]), executor=SerialExecutor())
    assert isinstance(res.results[0]["v"], np.ndarray)
    assert res.path is None


def test_thread_pool_executor_works_unchanged():
    with cf.ThreadPoolExecutor(2) as ex:
        res = run_sweep(fail_on_three, [0, 1, 2], executor=ex)
    assert res.results == (0, 10, 20)


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_failure_keeps_finished_records_and_resume_computes_only_the_rest(tmp_path, suffix):
    path = tmp_path / f"sweep{suffix}"
    with pytest.raises(ArithmeticError, match="three is not allowed") as info:
        run_sweep(fail_on_three, range(6), executor=SerialExecutor(), path=path)
    assert any("sweep item 3" in n for n in getattr(info.value, "__notes__", [""]))
    # SerialExecutor ran every item at submit time: all but item 3 finished and are kept.
    assert sorted(r["result"] for r in load_records(path)) == [0, 10, 20, 40, 50]
    counting = Counter(lambda x: x * 10)
    res = run_sweep(counting, range(6), executor=SerialExecutor(), path=path)
    assert counting.calls == [3]
    assert res.results == (0, 10, 20, 30, 40, 50)
    assert (res.n_resumed, res.n_computed) == (5, 1)
    if suffix == ".json":
        assert len(json.loads(path.read_text())["records"]) == 6


def test_keyboard_interrupt_keeps_what_finished(tmp_path):
    path = tmp_path / "s.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(interrupt_on_three, range(6), executor=SerialExecutor(), path=path)
    assert sorted(r["key"] for r in load_records(path)) == ["0", "1", "2"]


def test_record_mode_reports_and_retries_errors(tmp_path):
    path = tmp_path / "s.jsonl"
    res = run_sweep(
        fail_on_three, range(5), executor=SerialExecutor(), path=path, on_error="record"
    )
    assert not res.ok
    (f,) = res.failures
    assert res.failed == (3,) and (f.what, f.kind) == ("item", "ArithmeticError")
    assert f.why == "three is not allowed (got 3)" and f.where.startswith("item 3")
    assert res.results[3] is None and res.results[4] == 40
    counting = Counter(lambda x: -1)
    again = run_sweep(counting, range(5), executor=SerialExecutor(), path=path)
    assert counting.calls == [3] and again.results[3] == -1 and again.ok


def test_resume_false_recomputes_and_foreign_records_are_kept(tmp_path):
    path = tmp_path / "s.jsonl"
    run_sweep(fail_on_three, [0, 1, 2], executor=SerialExecutor(), path=path)
    counting = Counter(lambda x: x + 100)
    res = run_sweep(counting, [1, 2], executor=SerialExecutor(), path=path, resume=False)
    assert counting.calls == [1, 2] and res.results == (101, 102)
    stored = {r["key"]: r["result"] for r in load_records(path)}
    assert stored == {"0": 0, "1": 101, "2": 102}


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ArgumentError, match="same sweep key"):
        run_sweep(abs, [1, 1], executor=SerialExecutor())
    with pytest.raises(ArgumentError, match="on_error"):
        run_sweep(abs, [1], executor=SerialExecutor(), on_error="ignore")
    with pytest.raises(ArgumentError, match="`func`"):
        run_sweep(42, [1], executor=SerialExecutor())
    with pytest.raises(ArgumentError, match="cannot be stored"):
        run_sweep(lambda x: object(), [1], executor=SerialExecutor(), path=tmp_path / "a.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"key": "1", "result": 1}\nnot json\n')
    with pytest.raises(DataFormatError, match="line 2"):
        load_records(tmp_path / "bad.jsonl")
    ex = SerialExecutor()
    ex.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):  # the Executor contract
        ex.submit(abs, 1)


def test_custom_key_for_unhashable_items(tmp_path):
    items = [object(), object()]
    res = run_sweep(
        lambda it: 1, items, executor=SerialExecutor(), key=lambda it: str(id(it)), path=None
    )
    assert res.results == (1, 1)
    with pytest.raises(ArgumentError, match="pass `key=`"):
        run_sweep(lambda it: 1, items, executor=SerialExecutor())


def test_progress_bar_on_stderr(capsys):
    run_sweep(abs, range(4), executor=SerialExecutor(), progress=True, progress_delay=0, desc="T")
    err = capsys.readouterr().err
    assert "T [" in err and "4/4" in err and "100%" in err
    run_sweep(abs, range(4), executor=SerialExecutor(), progress=True, progress_delay=60)
    assert capsys.readouterr().err == "", "short sweeps must stay silent"


def test_killed_sweep_loses_nothing_already_written(tmp_path):
    """SIGKILL a process-pool sweep mid-run: the file stays valid and resume completes it."""
    path = tmp_path / "killed.jsonl"
    script = textwrap.dedent(
        f"""
        import time
        from clln_theory.sweeps import run_sweep
        from test_sweeps import slow_square
        run_sweep(slow_square, list(range(40)), max_workers=2, path={str(path)!r})
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "sweeps"), str(ROOT)]))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env=env, start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        n = 0
        while time.monotonic() < deadline:
            n = len(load_records(path)) if path.exists() else 0
            if n >= 4 or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert n >= 4
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    recs = load_records(path)  # parses: never half-written
    assert len(recs) >= n and all(r["result"] == int(r["key"]) ** 2 for r in recs)
    counting = Counter(lambda x: x * x)
    res = run_sweep(counting, list(range(40)), executor=SerialExecutor(), path=path)
    assert res.n_resumed == len(recs) and len(counting.calls) == 40 - len(recs)
    assert res.results == tuple(x * x for x in range(40))


def slow_square(x):
    time.sleep(0.1)
    return x * x


def test_dask_local_cluster_executor_works_unchanged(tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is an optional extra (pip install .[dask])"
    )
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        path = tmp_path / "dask.jsonl"
        res = run_sweep(square, grid(x=[1, 2, 3]), executor=client.get_executor(), path=path)
        assert [r["y"] for r in res.results] == [1.0, 4.0, 9.0]
        again = run_sweep(square, grid(x=[1, 2, 3, 4]), executor=client.get_executor(), path=path)
        assert (again.n_resumed, again.n_computed) == (3, 1)
        assert again.results[3]["v"] == [0, 4, 8]


def test_result_file_mode_is_the_umask_default_or_kept(tmp_path):
    """Issue 18: the rewrite through `mkstemp` turned a 0644 file into 0600."""
    path = tmp_path / "s.jsonl"
    umask = os.umask(0o022)
    try:
        run_sweep(abs, [-1], executor=SerialExecutor(), path=path)
        assert os.stat(path).st_mode & 0o777 == 0o644
        os.chmod(path, 0o664)
        run_sweep(abs, [-2], executor=SerialExecutor(), path=path)
        assert os.stat(path).st_mode & 0o777 == 0o664
    finally:
        os.umask(umask)
    assert (tmp_path / "s.jsonl.lock").exists()  # the lock file beside it stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl", "s.jsonl.lock"]
