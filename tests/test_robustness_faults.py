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
    import os, signal, sys, time
    from clln_theory.sweeps import exit_on_interrupt, run_sweep

    CALLS = sys.argv[2]

    def work(x):
        with open(CALLS, "a") as f:
            f.write(f"{os.getpid()} {x}\\n")
        time.sleep(0.3)
        return x * x

    if __name__ == "__main__":
        # a background job of a non-interactive shell (a CI runner) starts with SIGINT ignored,
        # and Python keeps an inherited SIG_IGN: restore its handler, as a terminal has it
        signal.signal(signal.SIGINT, signal.default_int_handler)
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


# --------------------------------------------------------------------------- files (issue 18)
def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}


# Each writer waits for a start file, then runs its 20 items one by one (saving after each), so
# the two processes' saves interleave on the shared file.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    from clln_theory.sweeps import SerialExecutor, run_sweep

    path, go, first = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def work(x):
        time.sleep(0.01)
        return x * x

    while not os.path.exists(go):
        time.sleep(0.005)
    run_sweep(work, list(range(first, first + 20)), executor=SerialExecutor(), path=path)
    """
)


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
@pytest.mark.parametrize("same_items", [False, True], ids=["disjoint", "same"])
def test_two_concurrent_sweeps_on_one_file_lose_no_record(tmp_path, suffix, same_items):
    """Issue 18: two processes on one result file ended with 20 of 40 records (last writer
    wins) and mode 0600; with the lock and the re-read merge, both keep every record."""
    script, path, go = tmp_path / "writer.py", tmp_path / f"s{suffix}", tmp_path / "go"
    script.write_text(WRITER)
    run_sweep(abs, [-1000], executor=SerialExecutor(), path=path)  # an older record, kept too
    os.chmod(path, 0o644)
    firsts = (0, 0) if same_items else (0, 20)
    procs = [
        subprocess.Popen([sys.executable, str(script), str(path), str(go), str(f)], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for f in firsts
    ]  # fmt: skip
    time.sleep(1.0)  # both imported and waiting
    go.touch()
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    records = load_records(path)
    want = {-1000} | set(range(20)) | (set() if same_items else set(range(20, 40)))
    assert sorted(r["item"] for r in records) == sorted(want)  # each key once, none lost
    assert all(r["result"] == abs(r["item"]) ** (1 if r["item"] < 0 else 2) for r in records)
    assert os.stat(path).st_mode & 0o777 == 0o644  # the mode is kept
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_writer_that_keeps_the_lock_is_named_after_the_timeout(tmp_path):
    from clln_theory._files import locked
    from clln_theory.errors import FileWriteError

    path = tmp_path / "s.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from clln_theory._files import locked
            with locked(Path({str(path)!r})):
                print("held", flush=True)
                time.sleep(30)
            """)],
        env=_env(), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(FileWriteError, match=rf"s\.jsonl.*process {holder.pid} "),
            locked(path, timeout=0.2),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with locked(path, timeout=5.0):  # released when its holder died
        pass


# The child writes one small record, then a ~30 MB one that the parent kills mid-write.
BIG_WRITER = textwrap.dedent(
    """
    import sys
    from clln_theory.sweeps import SerialExecutor, run_sweep

    path = sys.argv[1]
    if sys.argv[2] == "old":
        run_sweep(str, ["small"], executor=SerialExecutor(), path=path)
    run_sweep(lambda x: [0.123456789] * 2_000_000, ["big"], executor=SerialExecutor(), path=path)
    """
)


@pytest.mark.parametrize("before", ["old", "none"])
def test_sigkill_mid_write_leaves_the_old_file_or_none(tmp_path, before):
    script, path = tmp_path / "big.py", tmp_path / "s.json"
    script.write_text(BIG_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(path), before], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    old = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        temps = [p for p in tmp_path.iterdir() if p.name.startswith(".s.json.")]
        if temps and temps[0].stat().st_size > 2_000_000:  # well inside the big write
            if before == "old":
                old = path.read_bytes()
            proc.send_signal(signal.SIGKILL)
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    else:
        raise AssertionError("the child never started the big write")
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    if before == "old":
        assert path.read_bytes() == old  # the complete old file, byte for byte
        assert [r["item"] for r in load_records(path)] == ["small"]
    else:
        assert not path.exists()  # no partial file
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the killed one's temp
    run_sweep(str, ["next"], executor=SerialExecutor(), path=path)  # the next write cleans up
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    want = ["small", "next"] if before == "old" else ["next"]
    assert [r["item"] for r in load_records(path)] == want


# Runs as root of a private user and mount namespace, on a 64 kB tmpfs at argv[1]; prints one
# JSON line per case. Each case writes an old file, then fails to replace it.
FULL_DISK = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from pathlib import Path
    from clln_theory.errors import FileWriteError
    from clln_theory.sweeps import SerialExecutor, run_sweep

    disk = Path(sys.argv[1])

    def case(name, path, write):
        try:
            write()
        except FileWriteError as exc:
            out = {"case": name, "type": type(exc).__name__, "errno": exc.errno,
                   "message": str(exc), "filename": exc.filename,
                   "oserror": isinstance(exc, OSError)}
        else:
            out = {"case": name, "type": None}
        out["files"] = sorted(os.listdir(disk))
        out["old"] = path.read_text() if path.exists() else None
        print(json.dumps(out), flush=True)

    big = "x" * 200_000
    s = disk / "sweep.jsonl"
    run_sweep(str, ["old"], executor=SerialExecutor(), path=s)
    case("sweep-jsonl", s, lambda: run_sweep(lambda x: big, ["new"], executor=SerialExecutor(),
                                             path=s))
    j = disk / "sweep.json"
    run_sweep(str, ["old"], executor=SerialExecutor(), path=j)
    case("sweep-json", j, lambda: run_sweep(lambda x: big, ["new"], executor=SerialExecutor(),
                                            path=j))
    from clln_theory.experiments import reproduce
    rep = reproduce("exp1", grid_points=0)
    r = disk / "report.json"
    r.write_text("old report\\n")
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler.write_bytes(b"0" * max(free - 4096, 0))
    case("to_json", r, lambda: rep.to_json(r))
    c = disk / "report.csv"
    case("to_csv", c, lambda: rep.to_csv(c))
    from clln_theory.plotting import plot_reproduction
    png = disk / "fig.png"
    case("figure", png, lambda: plot_reproduction(rep, png))
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    case("read-only", r, lambda: rep.to_json(r))
    """
)


def test_a_full_disk_keeps_the_old_file_and_names_it(tmp_path):
    """Issue 18: a disk that filled during a JSON write left a truncated file, and run_sweep
    reported ENOSPC without naming the file. Here a 64 kB tmpfs in a private mount namespace."""
    import errno
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) here")
    disk, script = tmp_path / "disk", tmp_path / "full.py"
    disk.mkdir()
    script.write_text(FULL_DISK)
    cmd = 'mount -t tmpfs -o size=64k tmpfs "$1" || exit 77; exec "$2" "$3" "$1"'
    argv = ["unshare", "-rm", "sh", "-c", cmd, "sh", str(disk), sys.executable, str(script)]
    r = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=300)
    if r.returncode == 77 or r.stderr.startswith("unshare:"):  # no namespace or no tmpfs mount
        pytest.skip(f"no private mount namespace with a tmpfs here ({r.stderr.strip()[:200]})")
    assert r.returncode == 0, r.stderr
    cases = {c["case"]: c for c in map(json.loads, r.stdout.splitlines())}
    assert set(cases) == {"sweep-jsonl", "sweep-json", "to_json", "to_csv", "figure", "read-only"}
    for name, c in cases.items():
        assert c["type"] == "FileWriteError" and c["oserror"], c
        want = errno.EROFS if name == "read-only" else errno.ENOSPC
        assert c["errno"] == want, c
        assert c["filename"].startswith(str(disk)) and c["filename"] in c["message"], c
        assert ("EROFS" if name == "read-only" else "ENOSPC") in c["message"], c
        assert not [f for f in c["files"] if f.endswith(".tmp")], c  # no temporary left
    assert [json.loads(ln)["item"] for ln in cases["sweep-jsonl"]["old"].splitlines()] == ["old"]
    assert [r["item"] for r in json.loads(cases["sweep-json"]["old"])["records"]] == ["old"]
    assert cases["to_json"]["old"] == cases["read-only"]["old"] == "old report\n"
    assert cases["to_csv"]["old"] is None and cases["figure"]["old"] is None  # nothing half
