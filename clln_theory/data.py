"""Loaders for the experimental data published with the paper, in its original layout.

The paper's supporting repository (Zenodo doi:10.5281/zenodo.15692010) stores the small-network
measurements under ``imperfect-learning-physical-systems/small network/`` (the folder name has a
space)::

    MSE-DG2-Data/measured-DG2-expN.csv       rows "tau [s], D^2 [V^2]"  (cycle span (4), squared)
    MSE-DG2-Data/measured-MSE-expN.csv       rows "tau [s], Ebar [V^2]" (combined error (A4))
    experimental_bowties/bowtie-expN-<tau>s.csv   two rows: G₋ then G₊ [V] over one period
    DriftTests/expNDriftTest_K.mat           arrays GMINUS, GPLUS, time (1 x n); one task alone

The package ships the published files of experiments 1 and 2 (MIT License: the upstream
``LICENSE.txt`` is inside the folder, the citation in ``clln_theory/datasets/README.md``) under
``clln_theory/datasets/imperfect-learning-physical-systems/``: they are the default data source,
so a clone or an installed wheel works with nothing beside it (`packaged_data_dir`). The
environment variable ``CLLN_DATA_DIR``, or a ``data_dir``/``--data-dir`` argument, selects
another copy of the same layout (e.g. the full upstream download, which also holds Fig. 3's
measurements).

Every loader raises :class:`~clln_theory.errors.DataFormatError` naming the file (and the row,
where there is one) when a file is missing or malformed, and refuses a file larger than
`MAX_FILE_BYTES` (32 MiB; the published files are a few kB) before reading it. CSV files are read
as a stream (memory about the size of the numbers, not a multiple of the file); a row longer than
`MAX_ROW_CHARS` characters, or a cell longer than the csv module's field limit, is refused naming
the row.
"""

from __future__ import annotations

import csv
import math
import os
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, TextIO, overload

import numpy as np

from ._checks import construction, positive, quote, readonly
from ._repr import short_repr
from .errors import ArgumentError, DataFormatError, NumericalRangeError

__all__ = [
    "DATA_DIR_ENV",
    "DATA_FOLDER",
    "MAX_FILE_BYTES",
    "MAX_ROW_CHARS",
    "SMALL_NETWORK",
    "CycleSamples",
    "DriftTest",
    "MeasuredCurve",
    "data_source",
    "default_data_dir",
    "find_cycle_files",
    "load_curve",
    "load_cycle",
    "load_drift_test",
    "package_version",
    "packaged_data_dir",
    "require_data_dir",
    "resolve",
]

SMALL_NETWORK = "small network"
"""Sub-folder of the published data holding the small-network experiments (with the space)."""

DATA_FOLDER = "imperfect-learning-physical-systems"
"""Name of the unpacked folder of the published data (it contains ``small network/``)."""

DATA_DIR_ENV = "CLLN_DATA_DIR"
"""Environment variable naming the data folder (takes precedence in `default_data_dir`)."""

MAX_FILE_BYTES = 32 * 2**20
"""Largest data file a loader reads, bytes (32 MiB): the published files are a few kB, so a
larger file is a wrong file, refused before any of it is read."""

MAX_ROW_CHARS = 2**20
"""Longest row of a CSV data file, characters (1 MiB, some 50 000 samples of a gate): the csv
module holds a row's cells at once, so this bounds the memory of one row."""


def packaged_data_dir() -> Path:
    """The copy of the published data shipped inside the package (experiments 1 and 2).

    Returns
    -------
    Path
        ``clln_theory/datasets/imperfect-learning-physical-systems`` of the installed package
        (it contains ``small network/`` and the upstream ``LICENSE.txt``).

    Examples
    --------
    >>> (packaged_data_dir() / SMALL_NETWORK / "MSE-DG2-Data").is_dir()
    True
    """
    return Path(str(resources.files("clln_theory") / "datasets" / DATA_FOLDER))


def default_data_dir() -> Path | None:
    """The data folder used when none is given: ``$CLLN_DATA_DIR``, else the packaged copy.

    Returns
    -------
    Path or None
        The folder that contains ``small network/``; None when ``CLLN_DATA_DIR`` names a folder
        that does not exist (the packaged copy is then not used, so a typo is not hidden).
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        return path.resolve() if path.is_dir() else None
    return packaged_data_dir()


def package_version() -> str:
    """The installed version of clln_theory (package metadata), for reports and ``--version``.

    Returns
    -------
    str
        E.g. ``"0.1.0"``; ``"unknown (not installed)"`` when run from a source tree that was never
        installed.
    """
    from importlib import metadata

    try:
        return metadata.version("clln_theory")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _path_arg(value: object, name: str) -> Path:
    """``value`` (a str or path) as a Path; ArgumentError naming ``name`` otherwise (inline, not
    a validator: the faces that call these helpers have checked their arguments once already)."""
    if not isinstance(value, str | os.PathLike):
        raise ArgumentError(f"Argument `{name}` must be a path, but is {quote(value)}.")
    try:
        return Path(value)
    except TypeError:  # an os.PathLike whose __fspath__ returns neither str nor bytes
        raise ArgumentError(f"Argument `{name}` must be a path, but is {quote(value)}.") from None


def data_source(data_dir: str | Path | None = None) -> str:
    """A one-line description of where data are read from, for reports (JSON, CSV).

    Parameters
    ----------
    data_dir : str or Path, optional
        The folder given by the user; None for the default (`default_data_dir`).

    Returns
    -------
    str
        ``"packaged: <folder>"``, ``"$CLLN_DATA_DIR: <folder>"`` or ``"--data-dir: <folder>"``.
    """
    if data_dir is not None:
        return f"--data-dir: {_path_arg(data_dir, 'data_dir').expanduser()}"
    if os.environ.get(DATA_DIR_ENV):
        return f"${DATA_DIR_ENV}: {os.environ[DATA_DIR_ENV]}"
    return f"packaged: {packaged_data_dir()} (doi:10.5281/zenodo.15692010, MIT License)"


def require_data_dir(data_dir: str | Path | None = None) -> Path:
    """``data_dir`` as a checked :class:`~pathlib.Path`, or the default one.

    Parameters
    ----------
    data_dir : str or Path, optional
        The folder that contains ``small network/``; default `default_data_dir`.

    Returns
    -------
    Path

    Raises
    ------
    DataFormatError
        If ``data_dir`` is given and is not a folder, or if it is ``None`` and
        ``CLLN_DATA_DIR`` names a folder that does not exist.
    """
    if data_dir is None:
        found = default_data_dir()
        if found is None:
            raise DataFormatError(
                f"${DATA_DIR_ENV} names '{os.environ.get(DATA_DIR_ENV)}', which is not a folder; "
                f"unset it to use the packaged data, or pass --data-dir pointing at an unpacked "
                f"'{DATA_FOLDER}' folder (doi:10.5281/zenodo.15692010)."
            )
        return found
    path = _path_arg(data_dir, "data_dir").expanduser()
    if not path.is_dir():
        raise DataFormatError(
            f"Data folder '{path}' does not exist; pass the folder that contains "
            f"'{SMALL_NETWORK}/' (the unpacked 'imperfect-learning-physical-systems')."
        )
    return path


@overload
def resolve(
    data_dir: str | Path | None,
    relative: str | Path,
    *,
    also: str | Path | None = None,
    missing_ok: Literal[False] = False,
) -> Path: ...
@overload
def resolve(
    data_dir: str | Path | None,
    relative: str | Path,
    *,
    also: str | Path | None = None,
    missing_ok: bool,
) -> Path | None: ...
def resolve(
    data_dir: str | Path | None,
    relative: str | Path,
    *,
    also: str | Path | None = None,
    missing_ok: bool = False,
) -> Path | None:
    """Path of a data file given relative to ``data_dir`` (or ``also``), checked to exist and to
    stay inside that folder.

    Parameters
    ----------
    data_dir : str or Path, optional
        The data folder (default `default_data_dir`).
    relative : str or Path
        The file, relative to ``data_dir``; absolute paths and paths that leave the folder
        (``..``, a symbolic link pointing outside) are refused.
    also : str or Path, optional
        A second folder tried when the file is not in ``data_dir`` (a TOML file's own folder).
    missing_ok : bool
        Return None when the file is in neither folder (default False: raise). Every other
        problem (a path that leaves its folder, a symbolic link out of it) still raises.

    Returns
    -------
    Path or None
        None only with ``missing_ok`` and a missing file.

    Raises
    ------
    DataFormatError
        If the folder or the file does not exist, or the path leaves its folder (``..``, an
        absolute path, or a symbolic link to a file outside it, said as such).
    """
    if not isinstance(missing_ok, bool):  # inline: `reproduce` resolves every file it reads
        raise ArgumentError(
            f"Argument `missing_ok` must be a bool, but is {type(missing_ok).__name__}."
        )
    rel = _path_arg(relative, "relative")
    if rel.is_absolute() or ".." in rel.parts:
        raise DataFormatError(
            f"Data path {ascii(str(relative))[:80]} must be relative to the data folder and "
            "must not contain '..'."
        )
    roots = [require_data_dir(data_dir)] + ([_path_arg(also, "also")] if also is not None else [])
    for root in roots:
        path = root / rel
        if path.is_file() or path.is_symlink():
            _inside(path, root)
            return path
    if missing_ok:
        return None
    raise DataFormatError(
        f"Data file '{roots[0] / rel}' does not exist"
        + (f" (nor in '{roots[1]}')." if len(roots) > 1 else ".")
    )


def _inside(path: Path, root: Path) -> None:
    """Refuse a data file that is a symbolic link out of ``root``, or a broken one."""
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise DataFormatError(
            f"Data file '{path}' is a symbolic link to '{real}', outside its folder '{root}'; "
            "copy the file into the folder instead of linking it."
        )
    if not real.is_file():
        raise DataFormatError(
            f"Data file '{path}' is a symbolic link to '{real}', which does not exist."
        )


def _field_array(record: object, name: str) -> np.ndarray:
    """Field ``name`` of ``record`` as a read-only finite float array: ArgumentError (not a real
    array) or NumericalRangeError (NaN or inf) naming the field and the record otherwise."""
    value = getattr(record, name)
    where = f"Field `{name}` of {type(record).__name__}"
    try:
        kind = np.asarray(value).dtype.kind
    except (TypeError, ValueError):  # ragged nesting
        kind = "O"
    if kind not in "fiu":
        raise ArgumentError(f"{where} must be a finite real array, but is {quote(value)}.")
    out = readonly(value, float)
    if not np.all(np.isfinite(out)):
        raise NumericalRangeError(f"{where} must be finite, but contains NaN or inf.")
    return out


def _field_text(record: object, name: str) -> None:
    value = getattr(record, name)
    if not isinstance(value, str):
        raise ArgumentError(
            f"Field `{name}` of {type(record).__name__} must be a string, but is {quote(value)}."
        )


@dataclass(frozen=True, slots=True)
class MeasuredCurve:
    """A measured quantity against the period.

    Attributes
    ----------
    tau : (n,) ndarray
        Periods, s.
    value : (n,) ndarray
        The quantity, in its unit (V² for ``D2`` and ``Ebar``).
    quantity : str
        Its name, for reports (``"D2"``, ``"Ebar"``).
    source : str
        The file it was read from.
    """

    __repr__ = short_repr

    tau: np.ndarray
    value: np.ndarray
    quantity: str = ""
    source: str = ""

    @construction
    def __post_init__(self):
        _field_text(self, "quantity")
        _field_text(self, "source")
        tau, value = _field_array(self, "tau"), _field_array(self, "value")
        if tau.ndim != 1 or tau.shape != value.shape:
            raise DataFormatError(
                f"Curve '{self.source}' needs 1-D tau and value of equal length, "
                f"but has shapes {tau.shape} and {value.shape}."
            )
        object.__setattr__(self, "tau", tau)
        object.__setattr__(self, "value", value)


@dataclass(frozen=True, slots=True)
class CycleSamples:
    """Gate samples of one measured limit cycle.

    Attributes
    ----------
    tau : float
        Period, s.
    G : (n_samples, n_gates) ndarray
        Gates over one period in time order, V.
    source : str
        The file it was read from.
    """

    __repr__ = short_repr

    tau: float
    G: np.ndarray
    source: str = ""

    @construction
    def __post_init__(self):
        _field_text(self, "source")
        tau = self.tau
        real = isinstance(tau, int | float | np.integer | np.floating)
        if not real or isinstance(tau, bool | np.bool_) or not 0 < tau < math.inf:
            raise ArgumentError(
                f"Field `tau` of CycleSamples must be a period > 0 s, but is {quote(tau)}."
            )
        G = _field_array(self, "G")
        if G.ndim != 2:
            raise DataFormatError(f"Cycle '{self.source}' must be 2-D, but has shape {G.shape}.")
        object.__setattr__(self, "G", G)


@dataclass(frozen=True, slots=True)
class DriftTest:
    """A single task trained alone (a drift test).

    Attributes
    ----------
    times : (n,) ndarray
        Sample times, s.
    G : (n, 2) ndarray
        Gates (G₋, G₊), V.
    source : str
        The file it was read from.
    meta : dict
        Anything else worth keeping (empty for the published files).
    """

    __repr__ = short_repr

    times: np.ndarray
    G: np.ndarray
    source: str = ""
    meta: dict = field(default_factory=dict)

    @construction
    def __post_init__(self):
        _field_text(self, "source")
        if not isinstance(self.meta, dict):
            raise ArgumentError(
                f"Field `meta` of DriftTest must be a dict, but is {quote(self.meta)}."
            )
        times, G = _field_array(self, "times"), _field_array(self, "G")
        if times.ndim != 1 or G.shape != (times.size, 2):
            raise DataFormatError(
                f"Drift test '{self.source}' needs times (n,) and G (n, 2), "
                f"but has shapes {times.shape} and {G.shape}."
            )
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "G", G)


def _data_file(path: object) -> Path:
    """``path`` as an existing regular file of at most `MAX_FILE_BYTES`."""
    if not isinstance(path, str | os.PathLike):  # inline, as `resolve`'s check
        raise ArgumentError(f"Argument `path` must be a path, but is {quote(path)}.")
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"Data file '{p}' does not exist.")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataFormatError(
            f"Data file '{p}' has {size} bytes, more than the limit of {MAX_FILE_BYTES} bytes "
            "(MAX_FILE_BYTES, 32 MiB) for a data file; the published files are a few kB."
        )
    return p


def _lines(f: TextIO, path: Path) -> Iterator[str]:
    """The lines of an open text file, each at most `MAX_ROW_CHARS` characters."""
    n = 0
    while line := f.readline(MAX_ROW_CHARS + 1):
        n += 1
        if len(line) > MAX_ROW_CHARS:
            raise DataFormatError(
                f"Row {n} of '{path}' is longer than {MAX_ROW_CHARS} characters (MAX_ROW_CHARS)."
            )
        yield line


def _read_rows(path: Path, check: Callable[[int, list[float], int], str | None]) -> np.ndarray:
    """Numeric rows of a headerless CSV as an (n, width) array, read as a stream; a first
    non-numeric row is taken as a header. ``check(i, row, width of row 1)`` returns the message
    of a row that does not fit (``i`` counts numeric rows from 1), or None."""
    values: array[float] = array("d")
    width = n = 0
    reader = None
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(_lines(f, path))
            for lineno, raw in enumerate(reader, start=1):
                row = _numbers(raw, lineno, path)
                if row is None:
                    continue
                width = width or len(row)
                why = check(n + 1, row, width)
                if why is not None:
                    raise DataFormatError(why)
                values.extend(row)
                n += 1
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except csv.Error as exc:
        row_no = reader.line_num if reader is not None else 1
        raise DataFormatError(f"Row {row_no} of '{path}' is not valid CSV: {exc}.") from None
    except OSError as exc:
        raise DataFormatError(f"Cannot read data file '{path}': {exc.strerror}.") from None
    if not n:
        raise DataFormatError(f"Data file '{path}' has no numeric rows.")
    return np.frombuffer(values, dtype=float).reshape(n, width)


def _numbers(raw: list[str], lineno: int, path: Path) -> list[float] | None:
    """The numbers of a CSV row; None for a blank row or a header (a non-numeric row 1)."""
    cells = [c.strip() for c in raw]
    if not cells or all(c == "" for c in cells):
        return None
    try:
        values = [float(c) for c in cells]
    except ValueError:
        if lineno == 1:  # a header row
            return None
        bad = next(c for c in cells if not _is_float(c))
        raise DataFormatError(
            f"Row {lineno} of '{path}' is not numeric: cell {bad[:20]!a}"
            + ("..." if len(bad) > 20 else "")
            + "."
        ) from None
    if not all(math.isfinite(v) for v in values):
        raise DataFormatError(f"Row {lineno} of '{path}' has a non-finite value.")
    return values


def _not_utf8(path: Path) -> DataFormatError:
    """The error for a file that is not UTF-8, naming the row and byte of the first bad byte."""
    data = path.read_bytes()  # at most MAX_FILE_BYTES: the size was checked before
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        return DataFormatError(
            f"Row {row} of '{path}' is not UTF-8 text (at byte {exc.start}); "
            "save the file as UTF-8 or ASCII CSV."
        )
    return DataFormatError(f"Data file '{path}' is not UTF-8 text.")  # pragma: no cover


def _is_float(c: str) -> bool:
    try:
        float(c)
    except ValueError:
        return False
    return True


def load_curve(path: str | Path, *, quantity: str = "") -> MeasuredCurve:
    """Read a measured ``tau, value`` curve (e.g. ``measured-DG2-exp1.csv``).

    Parameters
    ----------
    path : str or Path
        A CSV file with two columns per row: period τ in s, then the value.
    quantity : str
        Name of the value for reports (e.g. ``"D2"``).

    Returns
    -------
    MeasuredCurve

    Raises
    ------
    DataFormatError
        If the file is missing, larger than `MAX_FILE_BYTES`, not CSV text (a row longer than
        `MAX_ROW_CHARS`, a cell over the csv module's field limit), a row does not have
        exactly two numbers, or a τ is not positive.
    ArgumentError
        If ``path`` is not a path (None, a number).
    """
    path = _data_file(path)

    def check(i: int, row: list[float], width: int) -> str | None:
        if len(row) != 2:
            return f"Row {i} of '{path}' must hold two numbers (tau, value), but holds {len(row)}."
        if row[0] <= 0:
            return f"Row {i} of '{path}' has a period tau={row[0]} <= 0."
        return None

    arr = _read_rows(path, check)
    return MeasuredCurve(arr[:, 0], arr[:, 1], quantity=quantity, source=str(path))


_TAU_IN_NAME = re.compile(r"-(?P<tau>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)s\.csv$")


def load_cycle(path: str | Path, *, tau: float | None = None) -> CycleSamples:
    """Read a measured limit cycle (``bowtie-expN-<tau>s.csv``): one row per gate.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    tau : float, optional
        The period, s; default: read from the file name (``...-0.2s.csv``).

    Returns
    -------
    CycleSamples
        ``G`` of shape (n_samples, n_gates), gates in file-row order (G₋ then G₊ for the paper).

    Raises
    ------
    DataFormatError
        If the file is missing, larger than `MAX_FILE_BYTES`, not CSV text, its rows differ in
        length, or no period is given or found, or the period (given or in the name) is not a
        finite number > 0.
    ArgumentError
        A ``tau`` that is given and is not a finite number > 0; a ``path`` that is not a path.
    """
    if tau is not None:
        tau = positive(tau, "tau", unit="s")
    path = _data_file(path)

    def check(i: int, row: list[float], n: int) -> str | None:
        if len(row) != n:
            return (
                f"Row {i} of '{path}' has {len(row)} samples but row 1 has {n}; "
                "each row must hold the same samples of one gate."
            )
        return None

    rows = _read_rows(path, check)
    if tau is None:
        m = _TAU_IN_NAME.search(path.name)
        if m is None:
            raise DataFormatError(
                f"Cannot read the period from the file name '{path.name}' "
                "(expected '...-<tau>s.csv'); give tau explicitly."
            )
        tau = float(m.group("tau"))
        if not (math.isfinite(tau) and tau > 0):
            raise DataFormatError(
                f"The period read from the file name '{path.name}' is {tau:g} s; it must be > 0 "
                "(give tau explicitly)."
            )
    return CycleSamples(float(tau), rows.T, source=str(path))


def find_cycle_files(folder: str | Path, experiment: str) -> dict[float, Path]:
    """Measured limit-cycle files of one experiment in ``folder``, keyed by period τ (s).

    Parameters
    ----------
    folder : str or Path
        The folder of the files (``experimental_bowties``).
    experiment : str
        The tag in the file name, e.g. ``"exp1"`` for ``bowtie-exp1-0.2s.csv``.

    Returns
    -------
    dict of float to Path
        Sorted by period.

    Raises
    ------
    DataFormatError
        If the folder does not exist.
    """
    folder = _path_arg(folder, "folder")
    if not folder.is_dir():
        raise DataFormatError(f"Limit-cycle folder '{folder}' does not exist.")
    out = {}
    for p in sorted(folder.glob(f"bowtie-{experiment}-*s.csv")):
        m = _TAU_IN_NAME.search(p.name)
        if m is not None:
            out[float(m.group("tau"))] = p
    return dict(sorted(out.items()))


def load_drift_test(
    path: str | Path, *, keys: tuple[str, str, str] = ("time", "GMINUS", "GPLUS")
) -> DriftTest:
    """Read a MATLAB drift test (``expNDriftTest_K.mat``) with scipy.io.

    The arrays are flattened (the files store them as 1 x n). All samples are returned; the
    paper's first two samples are not part of the run, which
    `clln_theory.inference.drift_velocity` skips.

    Parameters
    ----------
    path : str or Path
        The ``.mat`` file.
    keys : (str, str, str)
        Names of the time array and the two gate arrays, in gate order (G₋, G₊).

    Returns
    -------
    DriftTest

    Raises
    ------
    DataFormatError
        If the file is missing, larger than `MAX_FILE_BYTES` or unreadable, an array is absent,
        or lengths differ.
    ArgumentError
        If ``path`` is not a path, or ``keys`` is not three variable names.
    """
    from scipy.io import loadmat  # scipy.io is slow to import; only drift tests need it

    if (
        not isinstance(keys, tuple | list)
        or len(keys) != 3
        or not all(isinstance(k, str) and k for k in keys)
    ):
        raise ArgumentError(
            f"Argument `keys` must be three variable names (time, G-, G+), but is {quote(keys)}."
        )
    path = _data_file(path)
    try:
        mat = loadmat(str(path))
    except Exception as exc:  # scipy raises several types for a corrupt file
        raise DataFormatError(f"Cannot read MATLAB file '{path}': {exc}.") from exc
    arrays = []
    for key in keys:
        if key not in mat:
            present = sorted(k for k in mat if not k.startswith("__"))
            raise DataFormatError(f"MATLAB file '{path}' has no array '{key}'; it has {present}.")
        raw = np.asarray(mat[key])
        if raw.dtype.kind not in "iuf":  # char, struct, cell (object) or complex arrays
            kind = {"U": "char", "S": "char", "V": "struct", "O": "cell", "c": "complex"}
            raise DataFormatError(
                f"Variable '{key}' of MATLAB file '{path}' must be a real numeric array, "
                f"but is a {kind.get(raw.dtype.kind, str(raw.dtype))} array."
            )
        if raw.size == 0:
            raise DataFormatError(f"Variable '{key}' of MATLAB file '{path}' is empty.")
        if raw.ndim > 2 or min(raw.shape) != 1:
            raise DataFormatError(
                f"Variable '{key}' of MATLAB file '{path}' must be a vector (1 x n or n x 1), "
                f"but has shape {raw.shape}."
            )
        arrays.append(raw.astype(float).ravel())
    times, g1, g2 = arrays
    if not (times.size == g1.size == g2.size):
        raise DataFormatError(
            f"Arrays {keys} of '{path}' differ in length: {times.size}, {g1.size}, {g2.size}."
        )
    bad = ~(np.isfinite(times) & np.isfinite(g1) & np.isfinite(g2))
    if bad.any():
        raise DataFormatError(f"Sample {int(np.argmax(bad))} of '{path}' is not finite.")
    return DriftTest(times, np.column_stack([g1, g2]), source=str(path))
