"""The progress line of long work: one line on standard error, redrawn in place.

Engine of every progress report of the package (sweeps, simulator runs, limit cycles, the
simulator's sweeps over periods). A line opens with `line` as a context manager; it stays silent
for its first ``delay`` seconds (default 2 s: short work prints nothing) and is written only
when enabled: ``enabled=None`` (the default of every public ``progress=`` keyword) means "only
when standard error is a terminal", ``False`` never, ``True`` always (on a file or a pipe one
plain line every 10 s instead of a redrawn one). Inside `quiet` (the command line's
``--quiet``) no line is shown at all.

Lines nest: a line opened while another is open becomes its detail (``simulate 3/12 tau
... | limit cycle: 840 periods``), so one line on the terminal reports the whole stack. Work
counted in periods calls `advance` (the simulator's runner does, after every half period); it
adds to the innermost open line.

What a line looks like on a terminal (carriage return, no newline until it closes)::

    simulate periods [##########....................] 4/12 tau  33% 6.1 s elapsed, ~12.2 s
    left | limit cycle: 1,204 periods, 1.9 s, residual 3.2e-07 V

(one line on the terminal, wrapped here).

This module imports nothing of the package: every room may use it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from multiprocessing import parent_process
from typing import TextIO, TypeVar

__all__ = ["DELAY", "ProgressLine", "advance", "line", "quiet", "tracked"]

#: Seconds before a line first appears: work shorter than this prints nothing (the issue's
#: "longer than ~2 s").
DELAY = 2.0
#: Seconds between two redraws on a terminal (a redraw costs ~10 µs; 5 Hz reads smoothly).
_TTY_INTERVAL = 0.2
#: Seconds between two plain lines on a file or pipe (``enabled=True`` there).
_FILE_INTERVAL = 10.0

_T = TypeVar("_T")
_STACK: ContextVar[tuple[ProgressLine, ...]] = ContextVar("clln_progress_stack", default=())
_QUIET: ContextVar[bool] = ContextVar("clln_progress_quiet", default=False)


class ProgressLine:
    """One progress line: ``desc``, a count ``done`` of ``total`` ``unit`` (total None: a count
    without an end, e.g. the periods of a cycle search), elapsed time and an ETA, and a detail.

    Parameters
    ----------
    total : float or None
        Units of work in all (None: unknown).
    done : float
        Units already done (a resumed sweep).
    desc : str
        Label at the start of the line.
    unit : str
        What is counted (``"periods"``, ``"tau"``, ``"items"``).
    enabled : bool or None
        None: only on a terminal; True: always; False: never.
    delay : float
        Seconds of silence before the first draw.
    stream : file-like, optional
        Where to write (default: standard error at the time of the call).
    width : int
        Characters of the bar (with a known total).
    """

    def __init__(
        self,
        total: float | None,
        done: float = 0,
        *,
        desc: str,
        unit: str = "",
        enabled: bool | None = None,
        delay: float = DELAY,
        stream: TextIO | None = None,
        width: int = 30,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.start_done, self.done = total, done, done
        self.desc, self.unit, self.width, self.delay = desc, unit, width, delay
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        # auto: a terminal, in the main process (workers of a process pool share the terminal)
        on = enabled is True or (enabled is None and self.tty and parent_process() is None)
        self.enabled = on and not _QUIET.get()
        self.t0 = time.monotonic()
        self.last = -math.inf
        self.shown = False
        self.note = ""
        self.parent: ProgressLine | None = None

    def text(self, now: float) -> str:
        """The line's text at time ``now`` (of `time.monotonic`)."""
        elapsed = now - self.t0
        done = _count(self.done)
        unit = f" {self.unit}" if self.unit else ""
        if self.total is None:
            out = f"{self.desc}: {done}{unit}, {elapsed:.1f} s elapsed"
        else:
            frac = min(1.0, self.done / self.total) if self.total else 1.0
            n = round(frac * self.width)
            fresh, left = self.done - self.start_done, self.total - self.done
            eta = f", ~{elapsed / fresh * left:.1f} s left" if fresh > 0 and left > 0 else ""
            bar = "#" * n + "." * (self.width - n)
            out = (
                f"{self.desc} [{bar}] {done}/{_count(self.total)}{unit} "
                f"{100 * frac:3.0f}% {elapsed:.1f} s elapsed{eta}"
            )
        return out + (f" | {self.note}" if self.note else "")

    def update(self, done: float | None = None, *, note: str | None = None, final: bool = False):
        """Set the count (and the detail) and redraw if it is time to.

        Parameters
        ----------
        done : float, optional
            Units done so far (unchanged if None).
        note : str, optional
            Detail after the line (unchanged if None).
        final : bool
            Draw now and end the line (if it was ever drawn).
        """
        if done is not None:
            self.done = done
        if note is not None:
            self.note = note
        if not self.enabled:
            return
        now = time.monotonic()
        if self.parent is not None:  # nested: report as the parent's detail, at its pace
            if final or now - self.last >= _TTY_INTERVAL:
                self.last = now
                self.parent.update(note=self.text(now).replace(" elapsed", ""))
            return
        if not self.shown and now - self.t0 < self.delay:
            return
        interval = _TTY_INTERVAL if self.tty else _FILE_INTERVAL
        if not final and now - self.last < interval:
            return
        self.last = now
        self.shown = True
        try:
            if self.tty:
                self.stream.write("\r\x1b[K" + self.text(now) + ("\n" if final else ""))
            else:
                self.stream.write(self.text(now) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream never stops the work
            self.enabled = False

    def close(self) -> None:
        """End the line: a final draw with a newline if it was ever shown."""
        if self.parent is not None:
            if self.enabled:
                self.parent.update(note="")
        elif self.shown:
            self.update(final=True)


def _count(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) else f"{x:,.1f}"


@contextmanager
def line(
    total: float | None,
    *,
    desc: str,
    unit: str = "",
    enabled: bool | None = None,
    done: float = 0,
    delay: float | None = None,
) -> Iterator[ProgressLine]:
    """Open a progress line for the duration of a ``with`` block (see the module's docstring).

    Inside another open line the new one is its detail, whatever ``enabled`` says (the outer
    line decides whether anything is shown); ``enabled=False`` keeps it out of the stack.
    """
    delay = DELAY if delay is None else delay  # read now: a test may set DELAY = 0
    bar = ProgressLine(total, done, desc=desc, unit=unit, enabled=enabled, delay=delay)
    stack = _STACK.get()
    if enabled is False:
        yield bar
        return
    if stack:
        bar.parent = stack[-1]
        bar.enabled = stack[-1].enabled  # the outermost line decides
    token = _STACK.set((*stack, bar))
    try:
        yield bar
    finally:
        try:
            _STACK.reset(token)
        except ValueError:  # closed from another context (a generator collected late)
            _STACK.set(stack)
        bar.close()


def tracked(
    items: Iterable[_T], *, total: int, desc: str, unit: str = "", enabled: bool | None = None
) -> Iterator[_T]:
    """``items``, counting each one done on a progress line open while they are consumed."""
    with line(total, desc=desc, unit=unit, enabled=enabled) as bar:
        for k, item in enumerate(items):
            yield item
            bar.update(k + 1)


def advance(units: float = 1.0, note: str | None = None) -> None:
    """Add ``units`` to the innermost open line (nothing if none is open)."""
    stack = _STACK.get()
    if stack:
        bar = stack[-1]
        bar.update(bar.done + units, note=note)


@contextmanager
def quiet() -> Iterator[None]:
    """No progress line inside this block (the command line's ``--quiet``)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)
