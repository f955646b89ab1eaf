"""Fault handling of `clln_theory.sweeps`: reading a damaged result file, pool workers that
end with their parent, Ctrl-C with a one-line resume hint."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from .._checks import quote
from .._files import atomic_write
from ..errors import ArgumentError, DataFormatError

__all__ = [
    "SweepInterrupted",
    "alive",
    "exit_on_interrupt",
    "is_json_document",
    "read_records",
    "resume_hint",
    "set_aside",
    "watch_parent",
]

#: Seconds between two checks, in a pool worker, that the process that started it is alive.
WATCHDOG_INTERVAL = 0.2


def is_json_document(path: Path) -> bool:
    """True for a ``*.json`` result file (one document), False for JSON lines."""
    return path.suffix.lower() == ".json"


def read_records(
    path: str | os.PathLike[str],
) -> tuple[list[dict[str, Any]], list[tuple[int, str, str]]]:
    """Valid records of a result file, and its bad lines as (line number, text, reason)."""
    if not isinstance(path, str | os.PathLike):
        raise ArgumentError(f"Argument `path` must be a path, but is {quote(path)}.")
    p = Path(path)
    if not p.exists():
        return [], []
    if not p.is_file():
        raise DataFormatError(f"Sweep file {p} is not a regular file (a directory?).")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"Sweep file {p} is not UTF-8 text (byte {exc.start}); it is not a sweep result file."
        ) from None
    except OSError as exc:
        raise DataFormatError(f"Sweep file {p} cannot be read ({exc.strerror}).") from None
    if is_json_document(p):
        try:
            doc = json.loads(text) if text.strip() else {"records": []}
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"Sweep file {p} is not valid JSON ({exc}).") from None
        records = doc.get("records") if isinstance(doc, dict) else None
        if not isinstance(records, list):
            raise DataFormatError(f"Sweep file {p} must hold {{'records': [...]}}, but does not.")
        for n, r in enumerate(records, 1):
            if not is_record(r):
                raise DataFormatError(
                    f"Sweep file {p}, record {n}, must be a dict with 'key' and 'result' or "
                    f"'error', but is {quote(r)}."
                )
        return records, []
    records, bad = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((n, line, f"is not valid JSON ({exc.msg})"))
            continue
        if is_record(r):
            records.append(r)
        else:
            bad.append((n, line, "must be a dict with 'key' and 'result' or 'error'"))
    return records, bad


def is_record(r: Any) -> bool:
    return isinstance(r, dict) and "key" in r and ("result" in r or "error" in r)


def set_aside(path: Path, bad: list[tuple[int, str, str]]) -> Path:
    """Append the bad lines of ``path`` to ``<path>.bad`` (rewritten atomically) and warn;
    returns the side file."""
    side = path.with_name(path.name + ".bad")
    try:
        kept = side.read_bytes().decode("utf-8", "replace") if side.is_file() else ""
    except OSError:
        kept = ""
    atomic_write(side, kept + "".join(line + "\n" for _, line, _ in bad))
    lines = ", ".join(str(n) for n, _, _ in bad[:5]) + (", ..." if len(bad) > 5 else "")
    warnings.warn(
        f"Sweep file {path}: {len(bad)} unreadable line(s) ({lines}; e.g. a write cut short by "
        f"a crash) set aside in {side}; every valid record is kept and the missing items are "
        "computed again.",
        UserWarning,
        stacklevel=4,
    )
    return side


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during `run_sweep`, after every finished item was saved; ``str()`` says how to
    resume. A `KeyboardInterrupt`, so ``except KeyboardInterrupt`` keeps working."""


def resume_hint(path: Path | None, done: int, total: int) -> str:
    if path is None:
        return (
            f"Sweep interrupted after {done} of {total} items; nothing was saved (pass "
            "path=... to run_sweep to make a sweep resumable)."
        )
    return (
        f"Sweep interrupted: {done} of {total} items are saved in {path}; run the same command "
        "again to resume (saved items are not recomputed)."
    )


@contextlib.contextmanager
def exit_on_interrupt(stream: TextIO | None = None) -> Iterator[None]:
    """Turn Ctrl-C into exit status 130 and one line on standard error (no traceback).

    For scripts that run sweeps: the line is `SweepInterrupted`'s hint saying how to resume.

    Parameters
    ----------
    stream : text stream, optional
        Where to write the line (default: standard error).

    Yields
    ------
    None

    Raises
    ------
    SystemExit
        With code 130 (128 + SIGINT, the shell's convention) on a `KeyboardInterrupt`.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> try:
    ...     with exit_on_interrupt(out):
    ...         raise SweepInterrupted("Sweep interrupted: 3 of 9 items are saved in s.jsonl.")
    ... except SystemExit as e:
    ...     print(e.code, out.getvalue().strip())
    130 Sweep interrupted: 3 of 9 items are saved in s.jsonl.
    """
    try:
        yield
    except KeyboardInterrupt as exc:
        msg = str(exc) if isinstance(exc, SweepInterrupted) else "Interrupted."
        print(msg, file=stream if stream is not None else sys.stderr, flush=True)
        raise SystemExit(130) from None


def alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie (a killed parent not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):  # no /proc (macOS, Windows): kill(pid, 0) is the answer
        return True


def watch_parent(parent: int) -> None:
    """Pool-worker initializer: a daemon thread exits this worker when ``parent`` is gone.

    Portable: it polls (every `WATCHDOG_INTERVAL` s) both the worker's own parent process id
    (it changes when the parent dies and the worker is re-parented) and the existence of the
    sweep's process ``parent`` (which differs from the direct parent under a fork server).
    """
    ppid = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_INTERVAL)
            if os.getppid() != ppid or not alive(parent):
                os._exit(1)  # no clean-up: the parent that would read the results is gone

    threading.Thread(target=watch, name="clln-sweep-watchdog", daemon=True).start()
