"""The one engine that writes files: atomically, keeping the mode, with typed errors.

Every file the package writes (reports in JSON and CSV, figures, sweep result files and their
side files) goes through `atomic_open` or `atomic_write`:

1. the content goes to a temporary file ``.<name>.<pid>.<random>.tmp`` in the target's folder
   (created with mode 0666 less the umask, as ``open`` creates a file);
2. it is flushed and fsynced; it takes the mode of the file it replaces, if there is one;
3. it is renamed over the target with `os.replace` (atomic on POSIX), and the folder is fsynced.

At every instant the target holds its old content or its new one, never a part: a full disk
(ENOSPC), a read-only file system (EROFS), a killed process or a crash leave the old file
intact. Any `OSError` becomes `~clln_theory.errors.FileWriteError` naming the file. A target that
is a symbolic link is written through: the file it points to is replaced, the link stays. A
temporary file left behind by a killed process (its pid is in the name) is removed by the next
write to the same target.

`locked` serialises the writers of one file across processes (an advisory `fcntl.flock` on
``<name>.lock`` beside it); `safe_text` and `safe_tree` make provenance text harmless in a CSV
opened by a spreadsheet.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, overload

from .errors import FileWriteError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no advisory locks: writers are not serialised
    fcntl = None  # type: ignore[assignment]

__all__ = ["atomic_open", "atomic_write", "locked", "make_folder", "safe_text", "safe_tree"]

#: Seconds a writer waits for the lock of a file before it gives up: a holder keeps the lock for
#: one rewrite of the file (milliseconds to seconds), so a minute means a hung holder.
LOCK_TIMEOUT = 60.0

#: Longest part of the target's name kept in a temporary file's name (the rest of 255 bytes is
#: left for the dot, the pid, the random part and the suffix).
_NAME_KEEP = 180

_REASONS = {
    errno.ENOSPC: "the disk is full (ENOSPC)",
    errno.EDQUOT: "the disk quota is exceeded (EDQUOT)",
    errno.EROFS: "the file system is read-only (EROFS)",
    errno.EACCES: "permission denied (EACCES)",
    errno.EPERM: "permission denied (EPERM)",
}

_cleaned: set[str] = set()


def _error(target: Path, exc: OSError, existed: bool) -> FileWriteError:
    """The typed error for ``exc`` raised while writing ``target``."""
    if isinstance(exc, FileWriteError):
        return exc
    why = _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc) or type(exc).__name__)
    kept = "its previous content is unchanged" if existed else "nothing was written"
    return FileWriteError(
        exc.errno, f"Cannot write '{target}': {why}; {kept}.", str(target)
    )  # fmt: skip


def _target(path: str | os.PathLike[str]) -> Path:
    """The file to replace: ``path``, or the file a symbolic link ``path`` points to."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def _temp_prefix(target: Path) -> str:
    return f".{target.name[:_NAME_KEEP]}."


def _remove_stale(target: Path) -> None:
    """Remove temporary files of ``target`` left by processes that no longer run (once)."""
    key = str(target)
    if key in _cleaned:
        return
    _cleaned.add(key)
    prefix = _temp_prefix(target)
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for e in entries:
        if not (e.name.startswith(prefix) and e.name.endswith(".tmp")):
            continue
        pid = e.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(e.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM): it runs
        return True
    return True


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new temporary file beside ``target``: its descriptor and path (mode 0666 - umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f"{_temp_prefix(target)}{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(target))


def _sync_folder(folder: Path) -> None:
    """fsync the folder so the rename survives a power cut (where the system supports it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@overload
def atomic_open(
    path: str | os.PathLike[str], *, binary: Literal[False] = ..., encoding: str = ...
) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_open(
    path: str | os.PathLike[str], *, binary: Literal[True], encoding: str = ...
) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def atomic_open(
    path: str | os.PathLike[str], *, binary: bool = False, encoding: str = "utf-8"
) -> contextlib.AbstractContextManager[IO[Any]]:
    """A file object whose content replaces ``path`` atomically when the block ends without an
    exception (an exception, or a kill, leaves ``path`` as it was)."""
    return _atomic_open(path, binary=binary, encoding=encoding)


@contextlib.contextmanager
def _atomic_open(path: str | os.PathLike[str], *, binary: bool, encoding: str) -> Iterator[IO]:
    target = _target(path)
    existed = target.exists()
    _remove_stale(target)
    try:
        fd, tmp = _create_temp(target)
    except OSError as exc:
        raise _error(target, exc, existed) from None
    done = False
    try:
        f = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline="")
        with f:
            yield f
            f.flush()
            if existed:
                with contextlib.suppress(FileNotFoundError):
                    os.fchmod(f.fileno(), stat.S_IMODE(os.stat(target).st_mode))
            os.fsync(f.fileno())
        os.replace(tmp, target)
        done = True
        _sync_folder(target.parent)
    except OSError as exc:
        raise _error(target, exc, existed) from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *, encoding: str = "utf-8"):
    """Replace ``path`` by ``data`` (text in ``encoding``, or bytes) atomically."""
    if isinstance(data, bytes):
        with atomic_open(path, binary=True) as fb:
            fb.write(data)
    else:
        with atomic_open(path, encoding=encoding) as ft:
            ft.write(data)


def make_folder(folder: Path, target: Path) -> None:
    """Create ``folder`` (and its parents) for ``target``; an `OSError` names ``target``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _error(target, exc, False) from None


@contextlib.contextmanager
def locked(path: Path, *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the advisory lock of ``path`` (``fcntl.flock`` on ``<path>.lock``) for the block.

    Waits up to ``timeout`` seconds for another holder, then raises `FileWriteError` naming the
    file and the holder's pid (which the holder writes into the lock file). The lock file stays
    (removing it would let two writers lock two different files). Where the file system has no
    locks (ENOLCK, EOPNOTSUPP) or on Windows, the block runs unlocked.
    """
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise _error(path, exc, path.exists()) from None
    try:
        if fcntl is not None and _acquire(fd, path, timeout):
            with contextlib.suppress(OSError):  # the holder's pid, for a waiting writer's error
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, path: Path, timeout: float) -> bool:
    """Take the exclusive lock on ``fd``; False where locks are not supported."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                return False
            raise _error(path, exc, path.exists()) from None
        if time.monotonic() > deadline:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise FileWriteError(
                errno.EWOULDBLOCK,
                f"Cannot write '{path}': process {holder} has held its lock "
                f"('{path.name}.lock') for more than {timeout:g} s; its content is unchanged.",
                str(path),
            )
        time.sleep(pause)
        pause = min(2 * pause, 0.05)


# --------------------------------------------------------------------------- provenance text
#: Control characters (newlines, tabs, escapes, C1 codes) and the Unicode line separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: A spreadsheet cell that would start with = + - @ (a formula): at the start of the text or
#: after a cell separator (comma, semicolon), spaces allowed between.
_FORMULA = re.compile(r"(^|[,;])(\s*)(?=[=+\-@])")


def safe_text(text: str) -> str:
    """``text`` on one line and never read as a formula: control characters become their
    escapes (``\\n``), and a ``'`` goes before an = + - @ that would start a spreadsheet cell
    (at the start, or after a comma or semicolon)."""
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return _FORMULA.sub(lambda m: f"{m.group(1)}{m.group(2)}'", text)


def safe_tree(value: Any) -> Any:
    """`safe_text` applied to every string (keys too) of nested dicts and lists."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_tree(k): safe_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_tree(v) for v in value]
    return value
