"""Memory of `simulate_batch` on large networks (issue 18), measured in fresh subprocesses.

Before issue 18 the batched Newton solver assembled its Jacobians through a dense
``(4 n_edges) x n_interior²`` scatter matrix: 11 GiB for `periodic_lattice(24)`, 2.1 GB peak for
`periodic_lattice(16)`, where `simulate` runs the same network in a few MB. Now the scatter is
sparse, batches are stepped in chunks whose estimated arrays fit in ``BATCH_MEMORY_BYTES``, and a
network with more interior nodes than ``NEWTON_DENSE_MAX_INTERIOR`` runs each run with
`simulate`'s own (sparse) engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and ru_maxrss in KiB")

#: The address-space limit of the issue's check: 2 GiB (virtual memory, so it also covers the
#: interpreter, numpy, scipy and OpenBLAS's buffers).
ADDRESS_LIMIT = 2 * 2**30
#: Runs of the batch in the per-run comparison.
RUNS = 4
#: Floor of the per-run comparison, bytes: peak-RSS differences below a few MB are the noise of
#: the allocator (arenas, lazily imported modules), not the simulation's arrays.
RSS_FLOOR = 4 * 2**20

_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    from clln_theory.errors import CLLNError
    from clln_theory.model.network import periodic_lattice
    from clln_theory.model.tasks import DataPoint, Task
    from clln_theory.simulator import TrainingProtocol, simulate, simulate_batch

    which, L, runs, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    task = Task([DataPoint({"0,0": 0.4, "1,1": 0.0}, 0.05)], "2,2", name="t")
    prot = TrainingProtocol(A0=1377.41)

    def run(L, R):
        net = periodic_lattice(L)
        G0 = np.linspace(2.0, 4.0, net.n_gates)
        kw = dict(tau=2e-3, n_periods=1, B=np.zeros(net.n_gates), protocol=prot)
        if which == "simulate":
            return [simulate(net, [task], G0, **kw) for _ in range(R)]
        return simulate_batch(net, [task] * R, np.tile(G0, (R, 1)), **kw).trajectories

    run(3, 1)  # warm-up: lazily imported modules and first-call caches are not the run's
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        out = run(L, runs)
        status = "ran" if all(t is not None for t in out) else "stopped"
    except CLLNError as exc:
        status = f"refused: {type(exc).__name__}: {exc}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"status": status, "before": before, "peak": peak}))
    """
)


def _measure(which: str, L: int, runs: int, limit: int = 0) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, which, str(L), str(runs), str(limit)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]  # a raw MemoryError is a failure
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_batch_on_a_24x24_lattice_runs_under_a_2_gib_address_space():
    """The issue's check: runs, or refuses with a typed error before allocating (never a raw
    MemoryError, never the 11 GiB scatter matrix)."""
    res = _measure("batch", 24, 2, ADDRESS_LIMIT)
    assert res["status"] == "ran" or res["status"].startswith("refused"), res


def test_batch_memory_per_run_is_within_3x_of_simulate_on_a_16x16_lattice():
    sim = _measure("simulate", 16, 1)
    batch = _measure("batch", 16, RUNS)
    assert sim["status"] == batch["status"] == "ran", (sim, batch)
    sim_extra = sim["peak"] - sim["before"]
    batch_extra = batch["peak"] - batch["before"]
    assert batch_extra / RUNS <= 3 * max(sim_extra, RSS_FLOOR), (sim, batch)
