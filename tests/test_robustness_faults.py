"""Faults: a sweep's parent killed mid-run, a truncated result file, Ctrl-C; and no code path
that executes a user's string."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import sympy as sp

from clln_theory.errors import ArgumentError, DataFormatError
from clln_theory.sweeps import SerialExecutor, load_records, run_sweep

ROOT = Path(__file__).resolve().parents[1]

#: Seconds a pool worker may outlive its killed parent: the watchdog polls every 0.2 s
#: (`WATCHDOG_INTERVAL`); 5 s leaves room for a loaded 2-core machine.
ORPHAN_GRACE = 5.0

# The child: 16 items of 0.3 s on a pool of 2 workers; every call appends "pid item" to a
# side-effect file (O_APPEND lines are atomic), so the test can count calls per item.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from clln_theory.sweeps import exit_on_interrupt, run_sweep

    CALLS = sys.argv[2]

    def work(x):
        with open(CALLS, "a") as f:
            f.write(f"{os.getpid()} {x}\\n")
        time.sleep(0.3)
        return x * x

    if __name__ == "__main__":
        with exit_on_interrupt():
            run_sweep(work, list(range(16)), max_workers=2, path=sys.argv[1])
    """
)


def _start(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    script, path, calls = tmp_path / "child.py", tmp_path / "s.jsonl", tmp_path / "calls.txt"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path), str(calls)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, path, calls


def _wait_records(path: Path, n: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if path.exists() and len(load_records(path)) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no {n} records after {timeout} s")


def _calls(calls: Path) -> list[tuple[int, int]]:
    return [tuple(map(int, ln.split())) for ln in calls.read_text().splitlines()]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_sigkill_of_the_parent_leaves_no_worker_and_resume_loses_nothing(tmp_path):
    proc, path, calls = _start(tmp_path)
    _wait_records(path, 3, proc)
    workers = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    assert workers, "the pool has no worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    t0 = time.monotonic()
    while not all(_gone(w) for w in workers) and time.monotonic() - t0 < ORPHAN_GRACE:
        time.sleep(0.05)
    alive = [w for w in workers if not _gone(w)]
    for w in alive:  # clean up before failing
        os.kill(w, signal.SIGKILL)
    assert not alive, f"pool workers {alive} outlived their killed parent"
    n_calls = len(_calls(calls))
    time.sleep(0.5)  # a surviving worker would go on taking items
    assert len(_calls(calls)) == n_calls

    saved = {r["item"]: r["result"] for r in load_records(path)}
    assert len(saved) >= 3
    recomputed = []

    def count(x):
        recomputed.append(x)
        return x * x

    res = run_sweep(count, list(range(16)), executor=SerialExecutor(), path=path)
    assert res.results == tuple(x * x for x in range(16))  # nothing lost
    assert res.n_resumed == len(saved) and sorted(recomputed) == sorted(set(range(16)) - set(saved))
    assert {r["item"] for r in load_records(path)} == set(range(16))


def test_ctrl_c_exits_130_with_one_line_saying_how_to_resume(tmp_path):
    proc, path, _calls_file = _start(tmp_path)
    _wait_records(path, 2, proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 130, err
    assert len(lines) == 1 and "resume" in lines[0] and str(path) in lines[0], err
    n_saved = len(load_records(path))
    assert f"{n_saved} of 16 items are saved" in lines[0]


def test_truncated_last_line_keeps_every_valid_record_and_sets_it_aside(tmp_path):
    path = tmp_path / "s.jsonl"
    run_sweep(abs, [-1, -2, -3, -4], executor=SerialExecutor(), path=path)
    text = path.read_text()
    cut = text[: len(text) - 9]  # the common crash: the last record cut short
    path.write_text(cut)
    good = [json.loads(ln) for ln in cut.splitlines()[:-1]]
    with pytest.raises(DataFormatError, match="line 4"):
        load_records(path)  # the strict reader names the line
    calls = []

    def count(x):
        calls.append(x)
        return abs(x)

    with pytest.warns(UserWarning, match=r"1 unreadable line\(s\) \(4;"):
        res = run_sweep(count, [-1, -2, -3, -4, -5], executor=SerialExecutor(), path=path)
    lost = {r["item"] for r in good}
    assert res.n_resumed == len(good) == 3
    assert sorted(calls) == sorted({-1, -2, -3, -4, -5} - lost)  # never a saved item again
    assert res.results == (1, 2, 3, 4, 5)
    side = path.with_name(path.name + ".bad")
    assert side.read_text() == cut.splitlines()[-1] + "\n"
    assert len(load_records(path)) == 5  # the file is clean again


def test_load_records_refuses_a_directory_and_non_utf8(tmp_path):
    with pytest.raises(DataFormatError, match="not a regular file"):
        load_records(tmp_path)
    (tmp_path / "b.jsonl").write_bytes(b'{"key": "\xff"}\n')
    with pytest.raises(DataFormatError, match=r"b\.jsonl.*UTF-8"):
        load_records(tmp_path / "b.jsonl")
    with pytest.raises(ArgumentError, match="`path`"):
        load_records(None)


def test_grid_and_items_are_bounded():
    from clln_theory.sweeps import _MAX_ITEMS as MAX_ITEMS
    from clln_theory.sweeps import grid

    t0 = time.perf_counter()
    with pytest.raises(ArgumentError, match=f"more than {MAX_ITEMS}"):
        grid(tau=range(10**9))
    with pytest.raises(ArgumentError, match=f"larger than {MAX_ITEMS}"):
        grid(a=range(2000), b=range(2000))
    with pytest.raises(ArgumentError, match="axis 'tau'"):
        grid(tau=1.0)
    assert time.perf_counter() - t0 < 2.0  # refused before anything is allocated
    assert MAX_ITEMS >= 10**5


# --------------------------------------------------------------------------- no eval
def test_lambdify_refuses_strings_without_running_them(tmp_path):
    from clln_theory import DataPoint, Task, symbolic_model
    from clln_theory.model import star_network

    marker = tmp_path / "pwned"
    net = star_network()
    task = Task([DataPoint({"High": 0.4, "Low": 0.02, "Input": 0.3}, 0.2)], "Output")
    model = symbolic_model(net, task)
    payload = f"__import__('os').system('touch {marker}')"
    with pytest.raises(ArgumentError, match=r"`expr`.*strings are not parsed"):
        model.lambdify(payload)
    with pytest.raises(ArgumentError, match="`expr`"):
        model.lambdify(sp.Symbol)  # not an expression either
    assert not marker.exists()
    f = model.lambdify(model.C)  # a sympy expression still works
    assert f([3.0, 3.5], {"High": 0.4, "Low": 0.02, "Input": 0.3}, 0.2, 1.0).shape == ()
    with pytest.raises(ArgumentError, match="`label`"):
        model.solution_manifold(label=payload)


def test_no_module_parses_or_evaluates_strings():
    """Nothing in the package calls eval/exec/sympify/parse_expr (a user string would run)."""
    import re

    pattern = re.compile(r"\b(eval|exec|sympify|parse_expr|S)\s*\(")
    offenders = []
    for p in (ROOT / "clln_theory").rglob("*.py"):
        for n, line in enumerate(p.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if pattern.search(code.replace("sp.S(", "")) and "``" not in code:
                offenders.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
