"""Parameter sweeps on any `concurrent.futures.Executor`, resumable and written atomically.

A *sweep* maps one picklable function over a list of parameter *items* (a τ grid, an ensemble of
seeds, the ε × split × protocol table of Fig. 5 ...). `run_sweep` submits every item to an
executor, collects the results in item order, and — when given a ``path`` — keeps a result file
with one record per finished item. The file is rewritten through a temporary file and
`os.replace`, so at every instant it holds either the previous or the next complete set of
records, never a half-written one; a sweep that is interrupted (Ctrl-C, an exception, a killed
job) loses nothing already computed, and running the same call again computes only the missing
items. Several processes may run sweeps on one result file at once: each save takes an advisory
lock (``<file>.lock`` beside it), re-reads the file and adds its records, so no record is lost.

Executors
---------
By default a `concurrent.futures.ProcessPoolExecutor` is created for the call and shut down after
it. Any other executor works unchanged, as long as ``executor.submit(func, item)`` returns a
`concurrent.futures.Future`:

- `SerialExecutor` (this module) runs items in the calling process, for debugging and for
  functions that cannot be pickled;
- a `concurrent.futures.ThreadPoolExecutor`, for functions that release the GIL;
- a Dask cluster, where one machine is not enough (optional extra ``clln_theory[dask]``)::

      from dask.distributed import Client
      client = Client("scheduler-address:8786")    # or Client() for a local cluster
      result = run_sweep(func, items, executor=client.get_executor(), path="sweep.jsonl")

  ``client.get_executor()`` returns a `concurrent.futures.Executor` whose futures are ordinary
  `concurrent.futures.Future` objects, so nothing else changes. ``func`` must be importable on
  the workers (a module-level function of an installed package, or a `functools.partial` of
  one).

Result file
-----------
``*.jsonl`` (default): JSON lines, one record per finished item; ``*.json``: one JSON document
``{"records": [...]}``. A record is ``{"key": str, "item": ..., "result": ...}``, or
``{"key": str, "item": ..., "error": "TypeName: message"}`` for an item that raised under
``on_error="record"`` (such items are retried when the sweep is resumed). Records of keys that
the current call does not ask for are kept untouched, so several sweeps may share one file.
Results must be JSON-serializable after a light conversion (numpy arrays become lists, numpy
scalars become Python numbers, dataclasses become dicts, tuples become lists); with a ``path``,
`run_sweep` returns results in this stored form whether they were computed now or resumed, so the
two cases look the same to the caller.

Progress
--------
On long runs a one-line progress bar is written to standard error (plain text, no dependency):
``tau sweep [##########..........] 12/24  50% 3.1 s elapsed, ~3.1 s left``. It appears only after
``progress_delay`` seconds, so short sweeps stay silent; on a terminal it redraws one line with
``\\r``, otherwise it prints a line at most every 10 s.

Examples
--------
>>> from clln_theory.sweeps import SerialExecutor, grid, run_sweep
>>> items = grid(tau=[0.1, 1.0], seed=[0, 1])
>>> items[1]
{'tau': 0.1, 'seed': 1}
>>> res = run_sweep(abs, [-1.5, 2.0, -3.0], executor=SerialExecutor())
>>> res.results
(1.5, 2.0, 3.0)
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._checks import check_record, choice, count, instance, number, quote
from .._files import atomic_open, locked, make_folder
from .._progress import DELAY, line
from .._repr import short_repr
from .._tables import data_frame
from ..errors import ArgumentError, DataFormatError, Failure
from ._resilience import (
    SweepInterrupted,
    exit_on_interrupt,
    is_json_document,
    read_records,
    resume_hint,
    set_aside,
    watch_parent,
)

__all__ = [
    "SerialExecutor",
    "SweepInterrupted",
    "SweepResult",
    "exit_on_interrupt",
    "grid",
    "load_records",
    "run_sweep",
]

#: Largest number of items `grid` builds (and `run_sweep` accepts): every item is held in
#: memory with its key and submitted at once, so 10**6 items (~1 GB of futures) is the bound.
_MAX_ITEMS = 1_000_000


# --------------------------------------------------------------------------- executors
class SerialExecutor(cf.Executor):
    """A `concurrent.futures.Executor` that runs each call at once, in the calling process.

    Useful for debugging a sweep, for functions that cannot be pickled, and for tiny sweeps
    where starting worker processes costs more than the work.

    Examples
    --------
    >>> ex = SerialExecutor()
    >>> ex.submit(pow, 2, 10).result()
    1024
    """

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Run ``fn(*args, **kwargs)`` now; its result or exception is in the returned future.

        Parameters
        ----------
        fn : callable
            The function.
        *args, **kwargs
            Its arguments.

        Returns
        -------
        concurrent.futures.Future
            Already done.

        Raises
        ------
        concurrent.futures.BrokenExecutor
            After `shutdown` (a ``RuntimeError``, as the Executor contract asks).
        """
        if self._shutdown:  # the Executor contract: a RuntimeError (here its typed subclass)
            raise cf.BrokenExecutor("Cannot submit to a SerialExecutor after shutdown().")
        fut: cf.Future = cf.Future()
        fut.set_running_or_notify_cancel()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as a pool does
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse further submissions (nothing is pending: every call already ran).

        Parameters
        ----------
        wait : bool
            Wait for pending calls. Honoured either way: `submit` runs each call before it
            returns, so no call is ever running or queued when ``shutdown`` is called.
        cancel_futures : bool
            Cancel the queued calls. Honoured either way: nothing is ever queued.

        Raises
        ------
        ArgumentError
            ``wait`` or ``cancel_futures`` not a bool.
        """
        instance(wait, "wait", bool)
        instance(cancel_futures, "cancel_futures", bool)
        self._shutdown = True


# --------------------------------------------------------------------------- items, records
def grid(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    """Cartesian product of named parameter axes, as a list of dicts (last axis fastest).

    Parameters
    ----------
    **axes : iterable
        One iterable of values per parameter name, e.g. ``tau=taus, seed=range(8)``.

    Returns
    -------
    list of dict
        ``len = prod(len(axis))``; numpy scalars are converted to Python numbers so the items
        are JSON-serializable keys.

    Raises
    ------
    ArgumentError
        If an axis is empty or not a list of values, or the grid has more than 10**6
        items.

    Examples
    --------
    >>> grid(eps=[0.1, 0.2], protocol=["standard", "overclamp"])  # doctest: +NORMALIZE_WHITESPACE
    [{'eps': 0.1, 'protocol': 'standard'}, {'eps': 0.1, 'protocol': 'overclamp'},
     {'eps': 0.2, 'protocol': 'standard'}, {'eps': 0.2, 'protocol': 'overclamp'}]
    """
    names = list(axes)
    values = []
    total = 1
    for n in names:
        ax = axes[n]
        if isinstance(ax, str | bytes | Mapping) or not isinstance(ax, Iterable):
            raise ArgumentError(
                f"Sweep axis {n!r} must be a list or array of values, but is {quote(ax)}."
            )
        size = len(ax) if isinstance(ax, Sized) else None
        if size is not None and size > _MAX_ITEMS:
            raise ArgumentError(f"Sweep axis {n!r} has {size} values, more than {_MAX_ITEMS}.")
        v = [_jsonable(x) for x in itertools.islice(ax, _MAX_ITEMS + 1)]
        if not v:
            raise ArgumentError(f"Sweep axis {n!r} is empty; give at least one value.")
        total *= len(v)
        if total > _MAX_ITEMS:
            raise ArgumentError(
                f"Sweep axis {n!r} makes the grid larger than {_MAX_ITEMS} items "
                f"(axes {', '.join(names)}); split the sweep."
            )
        values.append(v)
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def _jsonable(x: Any) -> Any:
    """Convert numpy values, tuples and dataclasses to plain JSON types (recursively)."""
    if isinstance(x, np.generic):  # first: np.float64 is also a float
        return x.item()
    if x is None or isinstance(x, bool | str | int | float):
        return x
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, Mapping):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str | int | float | bool) and not isinstance(k, np.generic):
                raise ArgumentError(f"Mapping key {k!r} cannot be stored in JSON; use str keys.")
            out[str(_jsonable(k))] = _jsonable(v)
        return out
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    raise ArgumentError(
        f"A value of type {type(x).__name__} cannot be stored in a JSON result file; return "
        "numbers, strings, lists, dicts, numpy arrays or dataclasses of these."
    )


def _default_key(item: Any) -> str:
    try:
        return json.dumps(_jsonable(item), sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise ArgumentError(
            f"Cannot derive a sweep key from item {item!r} ({exc}); pass `key=` (a function "
            "item -> str) or use JSON-like items (numbers, strings, lists, dicts)."
        ) from None


def load_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Records of a sweep result file, in file order (empty if the file does not exist).

    Parameters
    ----------
    path : path-like
        A ``*.jsonl`` (JSON lines) or ``*.json`` (``{"records": [...]}``) file written by
        `run_sweep`.

    Returns
    -------
    list of dict
        Each with ``"key"``, ``"item"`` and ``"result"`` (or ``"error"``).

    Raises
    ------
    DataFormatError
        If the file is not a sweep result file (the message names the file and line).
    """
    records, bad = read_records(path)
    if bad:
        n, line, why = bad[0]
        raise DataFormatError(f"Sweep file {Path(path)}, line {n}, {why}: {quote(line)}.")
    return records


def _write_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Replace ``path`` by all ``records`` atomically (`clln_theory._files.atomic_open`)."""
    with atomic_open(path) as f:
        if is_json_document(path):
            json.dump({"records": list(records)}, f, indent=1)
            f.write("\n")
        else:
            for r in records:
                f.write(json.dumps(r, separators=(",", ":")))
                f.write("\n")


# --------------------------------------------------------------------------- the sweep
@dataclass(frozen=True, slots=True)
class SweepResult:
    """Outcome of `run_sweep`, in item order.

    Attributes
    ----------
    items : tuple
        The items, as given.
    keys : tuple of str
        The key of each item (its record key in the result file).
    results : tuple
        ``func(item)`` for each item (``None`` for an item that raised under
        ``on_error="record"``). With a result file: the stored JSON form.
    failures : tuple of Failure
        One per item that raised (``on_error="record"``), in item order: ``what`` is
        ``"item"``, ``why`` the message, ``where`` ``"item i (key k)"``, ``kind`` the error's
        class name.
    failed : tuple of int
        The indices of those items, aligned with ``failures``.
    path : Path or None
        The result file.
    n_resumed, n_computed : int
        Items read back from the file, and items computed by this call.
    seconds : float
        Wall time of the call, s.
    """

    __repr__ = short_repr

    items: tuple[Any, ...]
    keys: tuple[str, ...]
    results: tuple[Any, ...]
    failures: tuple[Failure, ...] = ()
    failed: tuple[int, ...] = ()
    path: Path | None = None
    n_resumed: int = 0
    n_computed: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        check_record(self, items="tuple", keys="tuple", results="tuple", failures="tuple",
                     failed="tuple", path=(Path, type(None)), n_resumed="count",
                     n_computed="count", seconds="real")  # fmt: skip

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ok(self) -> bool:
        """True when every item has a result."""
        return not self.failures

    def to_dataframe(self) -> Any:
        """One row per item as a `pandas.DataFrame`: ``key``, the item's fields (an item that is
        a dict, as from `grid`; else one column ``item``), the result's fields (a dict or a
        dataclass; else one column ``result``) and ``error`` (the failure's message, "" for an
        item with a result). pandas is an optional extra (``clln_theory[pandas]``).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingDependencyError
            pandas is not installed (names the extra).
        """
        why = dict(zip(self.failed, (f.why for f in self.failures), strict=True))
        rows = []
        for i, (item, result) in enumerate(zip(self.items, self.results, strict=True)):
            row: dict[str, Any] = {"key": self.keys[i]}
            row.update(item if isinstance(item, Mapping) else {"item": item})
            if dataclasses.is_dataclass(result) and not isinstance(result, type):
                result = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
            if i not in why:  # a failed item has no result (None), only its error
                row.update(result if isinstance(result, Mapping) else {"result": result})
            rows.append(row)
        names = [*dict.fromkeys(k for r in rows for k in r), "error"]
        for i, row in enumerate(rows):
            row["error"] = why.get(i, "")
        return data_frame({k: [r.get(k) for r in rows] for k in names})


def run_sweep(
    func: Callable[[Any], Any],
    items: Sequence[Any] | Iterable[Any],
    *,
    executor: cf.Executor | None = None,
    max_workers: int | None = None,
    path: str | os.PathLike[str] | None = None,
    key: Callable[[Any], str] | None = None,
    resume: bool = True,
    on_error: Literal["raise", "record"] = "raise",
    progress: bool | None = None,
    progress_delay: float = DELAY,
    desc: str = "sweep",
    save_interval: float = 0.0,
) -> SweepResult:
    """Map ``func`` over ``items`` on an executor; optionally keep a resumable result file.

    Long function: most of its lines are this docstring (every option); the body is ~45 lines.

    Parameters
    ----------
    func : callable item -> result
        Picklable for a process pool or a Dask cluster (a module-level function, or a
        `functools.partial` of one).
    items : sequence
        Parameter items, e.g. from `grid`. Their keys must be distinct.
    executor : concurrent.futures.Executor, optional
        Where to run. Default: a `ProcessPoolExecutor` with ``max_workers`` workers, created for
        this call and shut down after it. A Dask ``client.get_executor()`` works unchanged.
        The caller keeps ownership of an executor it passes (it is not shut down).
    max_workers : int, optional
        Workers of the default process pool (default: ``min(os.cpu_count(), items to do)``);
        refused together with ``executor``.
    path : path-like, optional
        Result file (``*.jsonl`` JSON lines, or ``*.json``). Records are saved after every
        finished item: under the file's lock, the file is re-read, this call's new records are
        added (last), and the whole is written to a temporary file in the same folder, fsynced
        and renamed over it (the file keeps its mode). See "Concurrent writers" below.
    key : callable item -> str, optional
        Record key of an item. Default: canonical JSON of the item.
    resume : bool
        Reuse results already in ``path`` (default). False recomputes every item (records of
        other keys in the file are still kept).
    on_error : {"raise", "record"}
        ``"raise"``: on the first failing item, cancel pending items, save what finished, and
        re-raise the item's exception (with a note naming the item). ``"record"``: store the
        error, go on, and report it in `SweepResult.failures`; resumed sweeps retry such items.
    progress : bool, optional
        Progress bar on standard error. None (default): only on a terminal; True: always;
        False: never. Either way it appears only after ``progress_delay`` seconds.
    progress_delay : float
        Seconds before the bar first appears (default 2 s, as every progress line of the
        package: short sweeps stay silent).
    desc : str
        Label of the progress bar.
    save_interval : float
        Minimum seconds between two rewrites of the result file (default 0: after every item).
        Pending records are always saved when the sweep ends, fails or is interrupted. A value
        > 0 needs ``path``.

    Returns
    -------
    SweepResult
        Results in item order, with the keys, errors and counts.

    Raises
    ------
    ArgumentError
        If two items have the same key, ``on_error`` is unknown, ``func`` is not callable, an
        item or a result cannot be stored in the JSON result file, ``max_workers`` is given with
        ``executor``, or ``save_interval`` > 0 without ``path``.
    FileWriteError
        If the result file cannot be written (a full disk, ENOSPC; a read-only file system,
        EROFS; no permission), naming the file; it keeps its previous content. Also if another
        process holds its lock for more than 60 s (the message names the holder's pid).
    DataFormatError
        If ``path`` exists and is not a sweep result file (unreadable *lines* of a JSON-lines
        file, such as a last line cut short by a crash, are set aside in ``<path>.bad`` with a
        warning instead, and every valid record is kept).
    SweepInterrupted
        On Ctrl-C (a `KeyboardInterrupt`), after saving every finished item; its message is one
        line saying how to resume. Wrap a script in `exit_on_interrupt` to exit with status 130
        and that line instead of a traceback.

    Notes
    -----
    **Concurrent writers.** Two processes (or two calls) running `run_sweep` on the same result
    file both keep their records: each save holds an advisory lock (`fcntl.flock` on
    ``<path>.lock``, created beside the file and left there), re-reads the file, adds its own new
    records (a record of the same key is replaced: last finished wins) and replaces the file
    atomically. A writer waits for the lock (a holder keeps it for one rewrite) and gives up with
    `FileWriteError` after 60 s. The processes do not share work: an item both ask for is
    computed by both. Where the file system has no locks (some network file systems) or on
    Windows, saves are not serialised.

    Every item is submitted at once; results are collected with
    `concurrent.futures.as_completed`. With a result file the cost of saving is
    O(records) per finished item, negligible next to any simulation; raise ``save_interval``
    for sweeps of very many very short items.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from clln_theory.sweeps import SerialExecutor, run_sweep
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> r1 = run_sweep(float, ["1", "2"], executor=SerialExecutor(), path=d / "s.jsonl")
    >>> r2 = run_sweep(float, ["1", "2", "3"], executor=SerialExecutor(), path=d / "s.jsonl")
    >>> r2.results, r2.n_resumed, r2.n_computed
    ((1.0, 2.0, 3.0), 2, 1)
    """
    t_start = time.monotonic()
    choice(on_error, "on_error", ("raise", "record"))
    if not callable(func):
        raise ArgumentError(f"Argument `func` must be callable, but is {type(func).__name__}.")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ArgumentError(
            "Argument `executor` must be a concurrent.futures.Executor (an object with a submit "
            f"method), but is {type(executor).__name__}."
        )
    if max_workers is not None:
        count(max_workers, "max_workers", maximum=1024)
        if executor is not None:
            raise ArgumentError(
                "Argument `max_workers` sizes the default process pool, so it is not used with "
                "`executor`; give one of them."
            )
    number(save_interval, "save_interval", low=0.0, unit="s")
    if save_interval > 0 and path is None:
        raise ArgumentError(
            "Argument `save_interval` spaces the rewrites of the result file, so it is not used "
            "without `path`; give `path` or leave `save_interval` out."
        )
    number(progress_delay, "progress_delay", low=0.0, unit="s")
    if not isinstance(items, Iterable) or isinstance(items, str | bytes | Mapping):
        raise ArgumentError(f"Argument `items` must be a sequence of items, but is {quote(items)}.")
    items_t = tuple(itertools.islice(items, _MAX_ITEMS + 1))
    if len(items_t) > _MAX_ITEMS:
        raise ArgumentError(f"Argument `items` has more than {_MAX_ITEMS} items.")
    keys = _item_keys(items_t, key or _default_key)
    store = _Store(Path(path) if path is not None else None, save_interval)
    results, todo = store.resumed(keys, resume)
    n_resumed = len(items_t) - len(todo)
    bar_line = line(
        len(items_t), done=n_resumed, desc=desc, unit="items", enabled=progress,
        delay=progress_delay,
    )  # fmt: skip
    with bar_line as bar:
        run = _Run(func, items_t, keys, results, store, bar, on_error=on_error, done=n_resumed)
        own_pool = executor is None and bool(todo)
        ex = _process_pool(max_workers, len(todo)) if own_pool else executor
        clean_exit = False
        try:
            run.submit_and_collect(ex, todo)
            clean_exit = True
        except KeyboardInterrupt as exc:
            if isinstance(exc, SweepInterrupted):  # a nested sweep already said how to resume
                raise
            run.salvage()
            store.save(force=True)
            done = store.n_saved(keys) if store.path is not None else run.n_done
            raise SweepInterrupted(resume_hint(store.path, done, len(items_t))) from exc
        finally:
            if not clean_exit:
                run.salvage()
            try:
                store.save(force=True)
            finally:
                if own_pool and ex is not None:
                    ex.shutdown(wait=clean_exit, cancel_futures=True)
    return SweepResult(
        items=items_t,
        keys=keys,
        results=tuple(results),
        failures=tuple(run.failures[i] for i in sorted(run.failures)),
        failed=tuple(sorted(run.failures)),
        path=store.path,
        n_resumed=n_resumed,
        n_computed=len(todo),
        seconds=time.monotonic() - t_start,
    )


def _process_pool(max_workers: int | None, n_todo: int) -> cf.Executor:
    """The default executor: a process pool of ``max_workers`` (default: CPUs, at most n_todo).

    Each worker runs `watch_parent`, so it ends when the sweep's process dies (even by
    SIGKILL, which runs no clean-up): no orphan keeps computing items nobody will save.
    """
    workers = max_workers or min(os.cpu_count() or 1, n_todo)
    return cf.ProcessPoolExecutor(
        max_workers=max(1, workers), initializer=watch_parent, initargs=(os.getpid(),)
    )


def _item_keys(items: tuple, key: Callable[[Any], str]) -> tuple[str, ...]:
    """The record key of every item; refuses two items with the same key."""
    keys = tuple(str(key(it)) for it in items)
    seen: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k in seen:
            raise ArgumentError(
                f"Items {seen[k]} and {i} have the same sweep key {k!r}; make the items distinct "
                "or pass a `key` function that tells them apart."
            )
        seen[k] = i
    return keys


class _Store:
    """The records of a result file (every key, also those not asked for now); without a path it
    stores nothing. Each save takes the file's lock, re-reads it, adds this run's new records
    and replaces it atomically, so concurrent sweeps on one file keep each other's records."""

    def __init__(self, path: Path | None, save_interval: float) -> None:
        self.path, self.interval = path, save_interval
        self.records: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, dict[str, Any]] = {}  # records of this run not yet saved
        self.dirty = False
        if path is not None:
            records, bad = read_records(path)
            self.dirty = bool(bad)  # a truncated last line: set aside and rewritten at a save
            for r in records:
                self.records[str(r["key"])] = r
        self.last_save = -math.inf

    def resumed(self, keys: tuple[str, ...], resume: bool) -> tuple[list[Any], list[int]]:
        """Results already stored (None elsewhere) and the indices of the items still to do."""
        results: list[Any] = [None] * len(keys)
        todo: list[int] = []
        for i, k in enumerate(keys):
            r = self.records.get(k)
            if resume and r is not None and "result" in r:
                results[i] = r["result"]
            else:
                todo.append(i)
        return results, todo

    def n_saved(self, keys: tuple[str, ...]) -> int:
        """How many of ``keys`` have a record in the file (as of the last save)."""
        return sum(1 for k in keys if k in self.records)

    def put(self, key: str, item: Any, payload: dict[str, Any]) -> None:
        """Store one record (at the end: file order is completion order) and maybe save."""
        if self.path is None:
            return
        self.pending.pop(key, None)
        self.pending[key] = {"key": key, "item": _safe_item(item), **payload}
        self.dirty = True
        self.save()

    def save(self, force: bool = False) -> None:
        """Merge into the file if records changed and ``save_interval`` has passed (or
        ``force``): under the lock, re-read the file, put this run's records last, replace."""
        if self.path is None or not self.dirty:
            return
        now = time.monotonic()
        if not (force or now - self.last_save >= self.interval):
            return
        make_folder(self.path.parent, self.path)
        with locked(self.path):
            records, bad = read_records(self.path)
            if bad:  # a line cut short (by a crash of an older version, or an editor)
                set_aside(self.path, bad)
            merged = {str(r["key"]): r for r in records}
            for k, r in self.pending.items():
                merged.pop(k, None)
                merged[k] = r
            _write_records(self.path, merged.values())
        self.records, self.pending = merged, {}
        self.dirty, self.last_save = False, now


class _Run:
    """Submits the items to do and harvests their futures into results, failures and records."""

    def __init__(self, func, items, keys, results, store, bar, *, on_error: str, done: int):
        self.func, self.items, self.keys, self.results = func, items, keys, results
        self.store, self.bar, self.on_error, self.n_done = store, bar, on_error, done
        self.failures: dict[int, Failure] = {}
        self.futures: dict[cf.Future, int] = {}
        self.harvested: set[int] = set()

    def submit_and_collect(self, ex: cf.Executor | None, todo: list[int]) -> None:
        for i in todo:
            self.futures[ex.submit(self.func, self.items[i])] = i  # type: ignore[union-attr]
        for fut in cf.as_completed(self.futures):
            self.harvest(fut)

    def harvest(self, fut: cf.Future) -> None:
        i = self.futures[fut]
        self.harvested.add(i)
        exc = fut.exception()
        if exc is not None:
            msg = f"{type(exc).__name__}: {exc}"
            if self.on_error == "raise":
                if hasattr(exc, "add_note"):
                    exc.add_note(f"(raised by sweep item {i}, key {self.keys[i]})")
                raise exc
            self.failures[i] = Failure(
                what="item", why=str(exc), where=f"item {i} (key {self.keys[i]})",
                kind=type(exc).__name__,
            )  # fmt: skip
            self.store.put(self.keys[i], self.items[i], {"error": msg})
        else:
            res = fut.result()
            if self.store.path is not None:
                res = _jsonable(res)
            self.results[i] = res
            self.store.put(self.keys[i], self.items[i], {"result": res})
        self.n_done += 1
        self.bar.update(self.n_done)

    def salvage(self) -> None:
        """After a failure or an interruption: cancel what is pending, keep what finished."""
        for f in self.futures:
            f.cancel()
        for f, i in self.futures.items():
            if i not in self.harvested and f.done() and not f.cancelled():
                if f.exception() is None:
                    try:
                        self.harvest(f)
                    except Exception:  # a result that cannot be stored; skip it
                        pass


def _safe_item(item: Any) -> Any:
    try:
        return _jsonable(item)
    except TypeError:
        return repr(item)
