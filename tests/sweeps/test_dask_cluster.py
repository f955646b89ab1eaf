"""A sweep over a Dask cluster whose scheduler and two workers are separate processes.

`dask scheduler` and two `dask worker` processes are started as subprocesses (the same commands a
user types on a cluster), connected through a scheduler file; `run_sweep` maps a function of the
package over a grid on the cluster's executor and keeps a resumable result file. Skipped where
dask.distributed is not installed (the `dask` extra; CI runs this in its distributed step).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clln_theory.sweeps import load_records, run_sweep

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is an optional extra (pip install .[dask])"
)

#: Seconds to wait for the scheduler file and for both workers to register.
START_TIMEOUT = 60.0


def span_of_period(tau: float) -> float:
    """A closed-form span (4) of a small fixed pair: real work of the package on a worker."""
    import numpy as np

    from clln_theory.theory import LinearTask, periodic_orbit

    a = LinearTask(np.array([[10.0, 2.0], [2.0, 1.0]]), np.array([3.0, 3.5]))
    b = LinearTask(np.array([[1.0, -2.0], [-2.0, 10.0]]), np.array([3.0, 3.5]))
    return float(periodic_orbit(a, b, B=np.array([1.0, 1.0]), tau=tau).span)


def _dask_command() -> list[str]:
    exe = shutil.which(
        "dask", path=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    )
    if exe is None:
        pytest.skip("the `dask` command is not installed")
    return [exe]


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with open(log, "wb") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def test_sweep_on_a_cluster_of_separate_processes(tmp_path):
    dask = _dask_command()
    sched_file = tmp_path / "scheduler.json"
    procs = [
        _start(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)],
            tmp_path / "scheduler.log",
        )
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.2)
        for k in range(2):
            procs.append(
                _start(
                    [*dask, "worker", "--scheduler-file", str(sched_file), "--nworkers", "1",
                     "--nthreads", "1", "--no-dashboard", "--name", f"w{k}"],
                    tmp_path / f"worker{k}.log",
                )
            )  # fmt: skip
        with distributed.Client(scheduler_file=str(sched_file), timeout=START_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
            workers = client.scheduler_info()["workers"]
            assert len(workers) == 2
            pids = (
                {w["pid"] for w in workers.values()}
                if all("pid" in w for w in workers.values())
                else set()
            )
            assert os.getpid() not in pids  # the work runs in other processes
            taus = [0.01, 0.1, 1.0, 10.0]
            path = tmp_path / "cluster.jsonl"
            res = run_sweep(span_of_period, taus, executor=client.get_executor(), path=path)
            assert res.results == tuple(span_of_period(t) for t in taus)  # bitwise, local
            assert res.n_computed == 4 and not res.failures
            again = run_sweep(
                span_of_period, [*taus, 100.0], executor=client.get_executor(), path=path
            )
            assert (again.n_resumed, again.n_computed) == (4, 1)
            assert len(load_records(path)) == 5
            json.loads(sched_file.read_text())  # the scheduler file parses
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
