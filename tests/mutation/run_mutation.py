"""Mutation testing of the core of each room (issue 18, item 4): mutmut 3, one target at a time.

Not part of the test suite or CI (heavy: minutes per target). Run from the repository root::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python tests/mutation/run_mutation.py            # all targets
    OPENBLAS_NUM_THREADS=1 .venv/bin/python tests/mutation/run_mutation.py metrics     # one target
    OPENBLAS_NUM_THREADS=1 .venv/bin/python tests/mutation/run_mutation.py --list      # the targets

For each target the script copies ``clln_theory/``, ``tests/`` and ``pyproject.toml`` into a
scratch folder (``--work``, default ``/tmp/clln-mutation/<target>``), writes there a
``[tool.mutmut]`` section made of the repository's one (``pyproject.toml``, the shared settings)
plus the target's files (``only_mutate``) and its fast test selection, runs ``mutmut run
--max-children 1`` and reads mutmut's ``.meta`` files. Mutants listed in `EQUIVALENT` (each with
its one-line reason) are taken out of the denominator: score = killed / (mutants - equivalent),
with a timeout counted as killed (the mutant made the tests hang). It prints a Markdown table
per file and, with ``--report``, rewrites the "after" table of ``tests/mutation/REPORT.md``
between the markers. Survivors not listed as equivalent are printed with ``mutmut show``.

mutmut leaves decorated functions alone (`@validator` checkers, properties) and module-level
constants; the table counts what it mutates.

This file is a script, not a test module: it does nothing on import (pytest's
``--doctest-modules`` imports it), and its name does not start with ``test_``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
REPORT = Path(__file__).with_name("REPORT.md")
#: The command lines of the runs tabulated (read back from the work folder with --read).
COMMANDS: list[str] = []


@dataclass(frozen=True)
class Target:
    """One room's core: the files to mutate and the fast tests that exercise them."""

    files: tuple[str, ...]
    tests: tuple[str, ...]
    extra_pytest: tuple[str, ...] = field(default=())


#: The tests of the gate-box engine (faces, event-driven reference, simulator, the mutants').
_BOX_TESTS = (
    "tests/theory/test_box.py",
    "tests/theory/test_box_reference.py",
    "tests/theory/test_box_simulator.py",
    "tests/theory/test_box_mutants.py",
    "tests/theory/test_box_events_mutants.py",
    "tests/theory/test_box_orbit_mutants.py",
    "tests/theory/test_box_sequence_mutants.py",
)

TARGETS: dict[str, Target] = {
    "metrics": Target(
        files=("clln_theory/metrics.py", "clln_theory/_metrics.py"),
        tests=("tests/metrics/",),
    ),
    "clamping": Target(
        files=("clln_theory/electrical/_clamping.py", "clln_theory/electrical/clamping.py"),
        tests=("tests/electrical/test_rule.py", "tests/electrical/test_clamping_mutants.py"),
    ),
    # LinearTask's arithmetic and (D4)/(D5): `_tasks.py` builds and flows a task through the
    # kernels of `_spectral.py` (the spectrum, the rank threshold, phi_1, the flows, (D8)/(D9))
    "tasks": Target(
        files=("clln_theory/theory/_tasks.py", "clln_theory/theory/_spectral.py"),
        tests=(
            "tests/theory/test_linear.py",
            "tests/theory/test_lowrank.py",
            "tests/theory/test_tasks_mutants.py",
        ),
    ),
    # test_orbits.py without its two 50-digit mpmath sweeps (~40 s per surviving mutant on a
    # loaded 2-core machine; the float kernel is held to them in the normal suite)
    "orbit_float": Target(
        files=("clln_theory/theory/_orbit_float.py",),
        tests=("tests/theory/test_orbits.py", "tests/theory/test_orbit_float_mutants.py"),
        extra_pytest=("-k", "not mpmath and not rtol_guarantees"),
    ),
    "kirchhoff": Target(
        files=("clln_theory/electrical/_kirchhoff.py",),
        tests=("tests/electrical/test_kirchhoff.py", "tests/electrical/test_kirchhoff_mutants.py"),
    ),
    # The gate-box engine (issue 20), one target per module so that each runs alone. The
    # hypothesis sweep of test_box_reference.py (40 event-driven integrations, ~8 s per
    # surviving mutant) is left out as the mpmath sweeps above; its fixed pinning categories stay.
    **{
        name: Target(
            files=(f"clln_theory/theory/{module}.py",),
            tests=_BOX_TESTS,
            extra_pytest=("-k", "not event_driven_integration"),
        )
        for name, module in (
            ("box", "_box"),
            ("box_events", "_box_events"),
            ("box_build", "_box_build"),
            ("box_orbit", "_box_orbit"),
            ("box_sequence", "_box_sequence"),
            ("box_plateau", "_box_plateau"),
        )
    },
}


# Equivalent mutants: mutmut's name -> one line why no test can tell it from the original.
# A name here is left out of the denominator of the score (and reported with its reason).
def _keys(function: str, numbers: tuple[int, ...], why: str) -> dict[str, str]:
    """``{"clln_theory.theory.<function>__mutmut_<i>": why}`` for each number."""
    return {f"clln_theory.theory.{function}__mutmut_{i}": why for i in numbers}


def _kir(function: str, numbers: tuple[int, ...], why: str) -> dict[str, str]:
    """``{"clln_theory.electrical._kirchhoff.<function>__mutmut_<i>": why}`` for each number."""
    return {f"clln_theory.electrical._kirchhoff.{function}__mutmut_{i}": why for i in numbers}


_EINSUM = "einsum subscripts renamed consistently (upper case): the same contraction"
_LOOSER = (
    "a looser but still rigorous enclosure (or a shorter exclusion step): only the path of the "
    "search, which refines until the verdict is exact"
)
_INTP = "node indices are Python ints: the default integer dtype is intp (int64)"
_FINITE = "inputs are checked finite: `labels - O` and its square can overflow, never be NaN"
_SPAN_FINITE = "the difference is checked finite first: its norm can overflow, never be NaN"
_SYM = "S is symmetric: the upper and the lower Cholesky give the same pivots and solution"
_SCRATCH = "only whether LAPACK/BLAS may reuse a scratch buffer: same numbers"
_ASSERT = "`A and B or C` with A, B, C all true on a low-rank task: the assert still passes"
_NOT_TESTABLE = (
    "NOT equivalent, but untestable under mutmut: its trampolines add frames, so the "
    "stacklevel of the warning cannot be asserted in the mutated tree"
)
EQUIVALENT: dict[str, str] = {
    # metrics
    "clln_theory._metrics.x_task_error_of__mutmut_2": _FINITE,
    "clln_theory._metrics.x_task_error_of__mutmut_4": _FINITE,
    "clln_theory._metrics.x_cycle_span_of__mutmut_2": _SPAN_FINITE,
    "clln_theory._metrics.x_cycle_span_of__mutmut_4": _SPAN_FINITE,
    "clln_theory._metrics.x_cycle_span_of__mutmut_60": (
        "the divisor of a zero row (scale 0): 0 / 2 = 0 / 1 = 0, the row's norm is 0 either way"
    ),
    "clln_theory._metrics.x_cycle_span_of__mutmut_31": (
        "always rescaling: scale * |diff / scale| is |diff| to an ulp where no square overflows"
    ),
    # clamping
    "clln_theory.electrical._clamping.x_hinge__mutmut_8": "past_label of arrays is a bool array",
    "clln_theory.electrical._clamping.x_hinge__mutmut_10": "past_label of arrays is a bool array",
    **dict.fromkeys(
        (
            f"clln_theory.electrical._clamping.x_standard_amplitudes__mutmut_{i}"
            for i in (3, 5, 8, 10)
        ),
        "the arrays only feed the sign test of the hinge; the result is np.where(.., 0.0, eta): "
        "float whatever the input dtype",
    ),
    # LinearTask and (D4)/(D5)
    "clln_theory.theory._tasks.x_checked_task__mutmut_5": (
        "M is symmetrized into a new float array (0.5 M + 0.5 M.T) before it is stored"
    ),
    "clln_theory.theory._tasks.x_checked_task__mutmut_7": (
        "M is symmetrized into a new float array (0.5 M + 0.5 M.T) before it is stored"
    ),
    "clln_theory.theory._tasks.x_flow__mutmut_2": _ASSERT,
    "clln_theory.theory._tasks.x_flow__mutmut_3": _ASSERT,
    "clln_theory.theory._spectral.x_dense_spectrum__mutmut_2": "M is square: shape[1] = shape[0]",
    "clln_theory.theory._spectral.x_dense_spectrum__mutmut_13": "n >= 1 (an empty M is refused)",
    "clln_theory.theory._spectral.x_dense_spectrum__mutmut_17": "n >= 1 (an empty M is refused)",
    "clln_theory.theory._spectral.x_half_period_arrays__mutmut_18": (
        "einsum subscripts renamed consistently (upper case): the same contraction"
    ),
    "clln_theory.theory._spectral.x_half_period_arrays__mutmut_29": (
        "einsum subscripts renamed consistently (upper case): the same contraction"
    ),
    "clln_theory.theory._spectral.x_thin_eig__mutmut_8": (
        "r = n: QR + SVD of R and the thin SVD of F give the same M = U diag(lam) U^T"
    ),
    **dict.fromkeys(
        (f"clln_theory.theory._spectral.x_thin_eig__mutmut_{i}" for i in (16, 18, 19)),
        "r > n: the full and the thin SVD of F have the same U (n x n) and singular values",
    ),
    **dict.fromkeys(
        (f"clln_theory.theory._spectral.x_scaled_norm__mutmut_{i}" for i in (3, 5)),
        "float(max) and x / s are float for any real input",
    ),
    **_keys(
        "_spectral.x_knee_period",
        (6, 7, 8, 9),
        "the unit that scales the root's coefficients: any of them within float range gives "
        "the same root; where leaving the largest out would overflow, the others' squares "
        "already underflow in the original (ratio > 1e154)",
    ),
    **_keys(
        "_spectral.x_knee_period",
        (12, 14, 19, 21),
        "`initial` of the max of d0, d1: never used, they are non-empty",
    ),
    **_keys("_spectral.x_knee_period", (49,), 'float("NAN") is float("nan")'),
    **_keys("_spectral.x_knee_period", (65,), "at a1 = 0 both root formulas are exact and equal"),
    # the float orbit kernel
    **_keys("_orbit_float.x_per_period", (10, 14), _SYM),
    **_keys("_orbit_float.x_per_period", (15, 17), _SCRATCH),
    **_keys("_orbit_float.x_lu_fallback", (17, 19), _NOT_TESTABLE),
    **_keys(
        "_orbit_float.x_lu_fallback",
        (23, 27),
        "assume_a: LU or the solver scipy picks from the structure: the same x to round-off",
    ),
    **_keys("_orbit_float.x_lu_fallback", (24, 28, 31), "check_finite on a matrix of finite cond"),
    **_keys("_orbit_float.x_syrk_loop", (22, 24, 26, 28, 42, 49, 52, 57), _SCRATCH),
    **_keys("_orbit_float.x_syrk_loop", (77, 78, 80, 81), _SCRATCH + " (dpotrs reads L only)"),
    **_keys("_orbit_float.x_syrk_loop", (41, 48, 87, 92), "beta defaults to 0.0"),
    **_keys("_orbit_float.x_syrk_loop", (56, 98), "trans=2 ('C') is trans=1 ('T') for reals"),
    **_keys("_orbit_float.x_syrk_loop", (65,), "numpy reads reshape(-2) as reshape(-1)"),
    **_keys("_orbit_float.x_syrk_loop", (67,), "numpy reads order='f' as order='F'"),
    **_keys(
        "_orbit_float.x_solve_spd",
        (8,),
        "at m = LOOP_MIN_N the dposv and the dsyrk + dpotrf paths give the same z and pivots",
    ),
    **_keys(
        "_orbit_float.x_solve_spd",
        (26, 36, 40),
        "chunk sizes and overlaps of periods: each period is solved the same; memory only",
    ),
    **_keys("_orbit_float.x_scaled_gram", (26,), "einsum subscripts renamed consistently"),
    **_keys(
        "_orbit_float.x_factors",
        (24, 28),
        "inv left uninitialized where the rate is 0: there E = 0 multiplies it (h takes over)",
    ),
    **_keys("_orbit_float.x_factors", (35,), "astype(None) is float64"),
    **_keys(
        "_orbit_float.x_orbit_float", (122, 164, 171, 179, 187), "axis +1 is axis -1 of (T, n)"
    ),
    **_keys("_orbit_float.x_solve_spd", (105, 114), "axis +1 is axis -1 of (T, m)"),
    **_keys(
        "_orbit_float.x_solve_spd",
        (61, 67),
        "rebuild(i) keeps [0] of the slice: a longer slice starts at the same period",
    ),
    **_keys(
        "_orbit_float.x_solve_spd",
        (70, 72),
        "the stacked and the per-period Cholesky give the same z and pivots (cholesky(None) "
        "raises LinAlgError: every chunk goes per period)",
    ),
    **_keys("_orbit_float.x_syrk_loop", (74,), "clean=None is clean=0: dpotrs reads L only"),
    **_keys("_orbit_float.x_syrk_loop", (96,), "beta=1.0 without c: C starts at zero"),
    **_keys("_orbit_float.x_condition_estimate", (6,), "np.finfo(None) is float64's"),
    **_keys("_orbit_float.x_orbit_float", (75,), "m = 1: W is 1 x 1 orthogonal, W[0, 0] = +-1"),
    **_keys("_orbit_float.x_solve_2x2", (49,), "det W = +-1 (W orthogonal): * 1 = / 1"),
    **_keys("_orbit_float.x_orbit_n2", (181,), "only c[0] and c[1] of the zero vector are read"),
    # the gate-box engine: one task (_box.py)
    **_keys("_box.xǁBoxTaskǁresolve", (30, 31), "astype(None) is astype(float64)"),
    **_keys("_box.x__rows", (6,), "astype(None) is astype(float64)"),
    **_keys(
        "_box.xǁBoxTaskǁresolve",
        (57,),
        "+-1 cast to float and stored into the int8 side: the same +-1",
    ),
    **_keys(
        "_box.xǁBoxTaskǁ__post_init__",
        (22,),
        "tol_v -1e-300 for +1e-300: the same float unless M = 0 and b = 0, where q = 0 > "
        "-1e-312 pins as the tie rule does",
    ),
    **_keys(
        "_box.xǁBoxTaskǁblock",
        (48,),
        "V of the all-pinned block (no free gate) is never read: flow, sample, the plateau and "
        "the imposed map branch on free.size == 0 first",
    ),
    **_keys("_box.x_flow", (6, 8), "G0 is a checked float64 array: np.array(G0) keeps float64"),
    **_keys(
        "_box.x_flow",
        (39, 127),
        "the Zeno guard fires one round-off piece earlier with the same count in its message; "
        "t does not advance while the flow chatters, so nothing else differs",
    ),
    **_keys(
        "_box.x_flow",
        (40, 42, 114, 143, 145, 146),
        "t_tiny scaled or compared otherwise, or the end test skipped for an event within "
        "t_tiny of T: only pieces of a few ulps of T differ (event times are resolved to 4 "
        "ulps), which move no gate past tol_g",
    ),
    **_keys(
        "_box.x_flow",
        (139,),
        "t + (T - t) for T at the end: the end test and the last piece's t_end = T absorb the ulp",
    ),
    **_keys(
        "_box.x_flow",
        (180, 184, 185, 186),
        "the saltation row of a hit gate is redundant: the next piece rebuilds J from its free "
        "rows only (pinned rows 0), and the last piece returns before it",
    ),
    **_keys(
        "_box.x_sample",
        (7, 8, 23, 40, 41, 47),
        "clip bounds that never bind for times within the pieces' span (the documented domain):"
        " searchsorted picks the piece with t_start <= t < next start",
    ),
    **_keys(
        "_box.x_sample",
        (66,),
        "the divisor of the null columns, which are overwritten with dt on the next line",
    ),
    **_keys("_box.x_sample", (89,), "numpy reads reshape(.., -2) as reshape(.., -1)"),
    **_keys("_box.x_sides_at", (30,), "numpy reads reshape(.., -2) as reshape(.., -1)"),
    **_keys("_box.x_sides_at", (17,), "searchsorted's default side is 'left'"),
    **_keys(
        "_box.x_sides_at",
        (7, 8, 21),
        "clip bounds that never bind for times within the pieces' span: 0 <= index <= K - 1",
    ),
    # the gate-box engine: the event search (_box_events.py), the survivors checked so far
    **_keys("_box_events.x__value", (9,), "einsum subscripts renamed consistently: the same sum"),
    **_keys(
        "_box_events.x__exclusion",
        (9, 18),
        "einsum subscripts renamed consistently: the same sum",
    ),
    **_keys("_box_events.x_bracket_root", (8, 11, 12), "lam and E have the same length"),
    **_keys(
        "_box_events.x_bracket_root",
        (68,),
        "a - 2.0 marks 'no Newton step' as a - 1.0 does: at or below a, a bisection either way",
    ),
    **_keys(
        "_box_events.x_bracket_root",
        (81, 82),
        "the bracket test is implied by the step test: t is an end of the bracket and tn lies "
        "inside, so |tn - t| < b - a <= 4 ulps of b (of t to far below an ulp)",
    ),
    **_keys(
        "_box_events.x__search",
        (17, 18),
        "a step reaching b or past it leaves [a + d, b] reversed or empty, whose upper bound "
        "f0 + Ep.phi(b) + En.phi(a + d) <= f(b) <= tol (the step is rigorous) drops it",
    ),
    **_keys("_box_events.x_bracket_root", (31,), "the loop bound is never reached"),
    **_keys("_box_events.x_bracket_root", (54,), "f == 0 has returned on the line before"),
    **_keys("_box_events.x__search", (77, 85, 95, 103, 112, 120), _EINSUM),
    **_keys("_box_events.x__full_search", (34, 44, 57), _EINSUM),
    **_keys(
        "_box_events.x__exclusion",
        (49,),
        "d1 = 0 (then D2 = 0 here): -c / 0 is +inf for c < 0 (division warnings ignored), the "
        "inf that d1 <= 0 gives",
    ),
    **_keys(
        "_box_events.xǁ_Stateǁclassify",
        (34, 35),
        "a short crossing with f(a) >= 0 is also at_a: best = min(a, b) = a either way",
    ),
    **_keys(
        "_box_events.xǁ_Stateǁfinish",
        (8, 10, 11),
        "the batches are 5-tuples of arrays: zip's strictness is never exercised",
    ),
    **_keys(
        "_box_events.xǁ_Stateǁfinish",
        (13, 15, 17),
        "any sort kind sorts the starts; ties only reorder brackets of one start",
    ),
    **_keys(
        "_box_events.xǁ_Stateǁfinish",
        (18,),
        "a bracket starting at best has its root after best: the minimum is unchanged",
    ),
    **_keys(
        "_box_events.x_next_event",
        (7, 42, 106, 115),
        _LOOSER,
    ),
    **_keys("_box_events.x__search", (10, 68, 104), _LOOSER),
    **_keys("_box_events.x__full_search", (45, 47, 48), _LOOSER),
    **_keys(
        "_box_events.x__search",
        (12, 13, 14),
        "the threshold between an exclusion step and a bisection: only the path",
    ),
    **_keys(
        "_box_events.x_next_event",
        (16, 109),
        "a row whose upper bound is exactly its tolerance never exceeds it: the same verdict",
    ),
    **_keys("_box_events.x__search", (86,), "an upper bound exactly at tol: f cannot exceed tol"),
    **_keys(
        "_box_events.x__search",
        (49,),
        "an interval starting exactly at the bound or best cannot hold an earlier crossing",
    ),
    **_keys("_box_events.x_next_event", (145,), "as x__search 49: an interval from the bound"),
    **_keys("_box_events.x__full_search", (58,), "a = 0 there: b + a = b - a"),
    **_keys(
        "_box_events.x_next_event",
        (71, 78),
        "no sampled bound (bound = rem): only less pruning, the search is complete without it",
    ),
    **_keys(
        "_box_events.x_make_grid",
        (21,),
        "count is 1 only for lam_max < 1e-14 (the grid starts past 1e8 s): one more sample "
        "there only seeds the search",
    ),
    # the gate-box engine: building the results (_box_build.py)
    **_keys(
        "_box_build.x_box_cycle_orbits",
        (15, 17),
        "LinearTask.M is float64 already: np.asarray keeps it",
    ),
    **_keys("_box_build.x__span", (16,), "numpy reads reshape(.., -2) as reshape(.., -1)"),
    **_keys(
        "_box_build.x_box_orbit_from",
        (36, 37),
        "the second half's duration is never read: _pieces offsets segment k by edges[k], k < 2",
    ),
    **_keys(
        "_box_build.x_box_orbit_from",
        (40, 43, 44),
        "zip's strict: the orbits and the periods have the same length",
    ),
    **_keys(
        "_box_build.x_box_cyclic_from",
        (17, 20, 21),
        "zip's strict: the orbits and the schedules have the same length",
    ),
    # the gate-box engine: the periodic orbit (_box_orbit.py)
    **_keys(
        "_box_orbit.x__sequence",
        (3,),
        "the separator of the sequence key: every piece's sides have n bytes, so any separator "
        "gives a one-to-one key, which is only compared for equality",
    ),
    **_keys("_box_orbit.x_unconstrained_cycle", (2,), "every task has the same n"),
    **_keys("_box_orbit.x_unconstrained_cycle", (3,), "M is square: shape[1] = shape[0]"),
    **_keys("_box_orbit.x_unconstrained_cycle", (7, 10, 11), "tasks and hs have the same length"),
    **_keys(
        "_box_orbit.x_unconstrained_cycle",
        (15, 17),
        "a float64 zero side has the same pinned mask (the block's cache key)",
    ),
    **_keys("_box_orbit.x_unconstrained_cycle", (40,), "compute_uv=None is falsy: values only"),
    **_keys(
        "_box_orbit.x_unconstrained_cycle",
        (46, 47, 48, 55, 56),
        "the singularity threshold: I - A is exactly singular (rates below rate_tol are zeroed: "
        "sv ~ 1e-16 sv0) or regular (sv >= ~ rate_tol h), every variant splits that gap, and an "
        "orbit it lets through is still verified by the untouched test",
    ),
    **_keys("_box_orbit.x__start", (2, 3), "every task has the same box"),
    **_keys("_box_orbit.x__start", (21, 24, 25, 30, 33, 34), "w and tasks have the same length"),
    **_keys("_box_orbit.x__start", (35,), "every task has the same null_tol (the rate_tol)"),
    **_keys("_box_orbit.x__start", (40, 54), "jacobian=None is falsy, as False"),
    **_keys("_box_orbit.x__untouched", (3,), "every task has the same box (lo, hi, tol_g)"),
    **_keys("_box_orbit.x__untouched", (16,), "jacobian=None is falsy, as False"),
    **_keys("_box_orbit.x__rounds", (43,), "jacobian=None is falsy, as False"),
    **_keys(
        "_box_orbit.x__rounds",
        (74,),
        "hint = None: the next round takes cm.pieces, cm being the map just computed at Gs "
        "(no further evaluation)",
    ),
    **_keys(
        "_box_orbit.x_cycle_map",
        (22,),
        "J is None iff jacobian is False, and flow returns a Jacobian iff asked: the same test",
    ),
    **_keys(
        "_box_orbit.x_cycle_orbit",
        (34,),
        "_rounds given the start's map and no hint imposes that map's pieces: the same hint, "
        "with no further evaluation",
    ),
    **_keys(
        "_box_orbit.x_cycle_orbit",
        (85,),
        "prev_seq is only compared for equality with a tuple: '' and None both differ",
    ),
    **_keys(
        "_box_orbit.x_cycle_orbit",
        (218,),
        "one more backtracking pass: the loop breaks at k == _BACKTRACK either way",
    ),
    **_keys(
        "_box_orbit.x_cycle_sweep",
        (9,),
        "numpy reads the sort kind case-insensitively: 'STABLE' is 'stable'",
    ),
    **_keys(
        "_box_orbit.x_cycle_sweep",
        (14,),
        "the initial hint is never passed: it is passed only when the history is non-empty, "
        "i.e. after an orbit set it",
    ),
    # the gate-box engine: the imposed sequence (_box_sequence.py)
    **_keys(
        "_box_sequence.x__event_row",
        (8,),
        "inside `if st.event:` the event is +1 or -1: s >= 0 is s > 0",
    ),
    **_keys(
        "_box_sequence.x__segment",
        (15, 18),
        "rows of the gates pinned at the start are never read: the first piece takes J[F] of "
        "the free gates of that same side, later rows are rebuilt from zeros",
    ),
    **_keys(
        "_box_sequence.x__segment",
        (83,),
        "inside `if st.event:` the event is +1 or -1: event >= 0 is event > 0",
    ),
    **_keys(
        "_box_sequence.x__segment",
        (85, 86),
        "the hit gate is pinned in the next piece, whose Jacobian reads only the free rows "
        "J[F]; its row of Jn is never read (the last step is the segment's end, not a hit)",
    ),
    **_keys("_box_sequence.x_newton_step", (4,), "J is square: shape[1] = shape[0]"),
    **_keys(
        "_box_sequence.x_newton_step",
        (39,),
        "the placeholder under the mask only avoids 1/0: the outer where puts 0 there",
    ),
    **_keys(
        "_box_sequence.x_solve",
        (2, 3),
        "every caller builds all tasks of a cycle on one box: tasks[1].lo/hi = tasks[0].lo/hi",
    ),
    # the gate-box engine: the plateau (_box_plateau.py)
    **_keys("_box_plateau.x__kkt", (2,), "lo and hi are float64 arrays: astype(None) is float64"),
    **_keys(
        "_box_plateau.x__kkt",
        (9,),
        "the free entries are overwritten by the face's solution before any read (rhs reads "
        "the pinned ones)",
    ),
    **_keys(
        "_box_plateau.x__kkt",
        (48,),
        "side is 0 on the free gates: checking every gate (side[None]) adds only zeros",
    ),
    **_keys("_box_plateau.x_minimizer", (5,), "jacobian=None is falsy, as False"),
    **_keys("_box_plateau.x_settling", (5,), "jacobian=None is falsy, as False"),
    **_keys("_box_plateau.x_minimizer", (20,), "M is square: shape[1] = shape[0]"),
    **_keys(
        "_box_plateau.x_minimizer",
        (35, 39, 43, 44),
        "Gf's free entries (hi, lo or None instead of fl.G) are overwritten by the face's "
        "solution before any read; rhs reads the pinned entries only",
    ),
    # the Kirchhoff solve
    **_kir("xǁInteriorSolverǁ__init__", (2,), "L is square: shape[1] = shape[0]"),
    **_kir("xǁInteriorSolverǁ__init__", (5, 7), "flatnonzero of a 0/1 float mask is the same"),
    **_kir("xǁInteriorSolverǁ__init__", (8,), "None assigned into a bool array is False"),
    **_kir("xǁInteriorSolverǁ__init__", (13, 15), _INTP),
    **_kir(
        "xǁInteriorSolverǁ__init__",
        (22,),
        "`_lu` is read only when `_chol` is None and there are interior nodes: then splu set it",
    ),
    **_kir(
        "xǁInteriorSolverǁ__init__",
        (29, 32, 34),
        "cho_factor returns its triangle flag and cho_solve uses it: the same solution",
    ),
    **_kir("xǁInteriorSolverǁ__init__", (30, 33, 35), "check_finite on a finite Laplacian"),
    **_kir(
        "xǁInteriorSolverǁ__init__",
        (44, 46, 48),
        "a fill-reducing column ordering of SuperLU: the same solution to round-off",
    ),
    **_kir("xǁInteriorSolverǁsolve", (10, 13, 14), "check_finite on finite factors and currents"),
    **_kir(
        "xǁInteriorSolverǁsolve",
        (16, 17, 18, 19),
        "unreachable (`pragma: no cover`): __init__ factors every non-empty block",
    ),
    **_kir(
        "xǁInteriorSolverǁsolve",
        (22, 24),
        "SuperLU's solve casts the right-hand side to its factor's float64",
    ),
    **_kir("xǁInteriorSolverǁvoltages", (17,), "numpy reads reshape(n, -2) as reshape(n, -1)"),
    **_kir(
        "x_make_state",
        (17, 19, 21, 23, 25, 27, 29, 31, 33, 35),
        "the arrays are float64 already: readonly(x) = readonly(x, float)",
    ),
    **_kir("xǁKirchhoffSolverǁ__init__", (12, 14, 18, 20), _INTP),
}

# mutmut's exit codes (mutmut.stats.status_by_exit_code), folded into the table's columns
_KILLED = {1, 3}
_TIMEOUT = {-24, 24, 152, 255, 36}
_SURVIVED = {0}
_NO_TESTS = {5, 33}


#: A run of the survivors of an earlier one keeps the merged exit codes in this file.
MERGED = "merged_exit_codes.json"

#: The test files this work added (tests/<room>/test_<module>_mutants.py): `--baseline` leaves
#: them out, which reproduces the "before" column of REPORT.md.
NEW_TESTS = "_mutants.py"


def _pyproject_for(target: Target, baseline: bool = False) -> str:
    """The repository's pyproject.toml with the target's `[tool.mutmut]` section."""
    text = (ROOT / "pyproject.toml").read_text()
    base = tomllib.loads(text).get("tool", {}).get("mutmut", {})
    head, sep, _ = text.partition("[tool.mutmut]")
    settings = dict(base)
    settings["only_mutate"] = list(target.files)
    tests = [t for t in target.tests if (ROOT / t).exists()]  # a test file not yet written
    if baseline:
        tests = [t for t in tests if not t.endswith(NEW_TESTS)]
    settings["pytest_add_cli_args_test_selection"] = [*tests, *target.extra_pytest]
    lines = ["[tool.mutmut]"]
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return (head if sep else text + "\n") + "\n".join(lines) + "\n"


def _prepare(name: str, target: Target, work: Path, baseline: bool) -> Path:
    folder = work / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "benchmarks")
    shutil.copytree(ROOT / "clln_theory", folder / "clln_theory", ignore=ignore)
    shutil.copytree(ROOT / "tests", folder / "tests", ignore=ignore)
    (folder / "pyproject.toml").write_text(_pyproject_for(target, baseline))
    return folder


def _env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # mutmut puts its `mutants/` copy first on sys.path
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["HYPOTHESIS_PROFILE"] = "ci"
    return env


def _mutmut() -> str:
    exe = Path(sys.executable).with_name("mutmut")
    return str(exe) if exe.exists() else "mutmut"


def _results(folder: Path, target: Target) -> dict[str, dict[str, int | None]]:
    merged = folder / MERGED
    if merged.exists():  # a run of the survivors of an earlier one (--survivors-of)
        return json.loads(merged.read_text())
    out: dict[str, dict[str, int | None]] = {}
    for path in target.files:
        meta = folder / "mutants" / (path + ".meta")
        out[path] = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    return out


def _row(path: str, codes: dict[str, int | None]) -> dict[str, object]:
    killed = sum(c in _KILLED for c in codes.values())
    timeout = sum(c in _TIMEOUT for c in codes.values())
    survived = [k for k, c in codes.items() if c in _SURVIVED]
    no_tests = [k for k, c in codes.items() if c in _NO_TESTS]
    other = [k for k, c in codes.items() if c not in _KILLED | _TIMEOUT | _SURVIVED | _NO_TESTS]
    equivalent = [k for k in survived + no_tests if k in EQUIVALENT]
    live = [k for k in survived + no_tests + other if k not in EQUIVALENT]
    denominator = len(codes) - len(equivalent)
    score = (killed + timeout) / denominator if denominator else float("nan")
    return {
        "module": path,
        "mutants": len(codes),
        "killed": killed + timeout,
        "timeout": timeout,
        "survived": len(survived),
        "no_tests": len(no_tests),
        "equivalent": len(equivalent),
        "equivalent_keys": equivalent,
        "score": score,
        "live": live,
    }


def _table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| module | mutants | killed (timeouts) | survived | no tests | equivalent | score |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['module']}` | {r['mutants']} | {r['killed']} ({r['timeout']}) | "
            f"{r['survived']} | {r['no_tests']} | {r['equivalent']} | {r['score']:.1%} |"
        )
    return "\n".join(lines)


def run_target(
    name: str,
    work: Path,
    show: bool,
    baseline: bool = False,
    read_only: bool = False,
    survivors_of: Path | None = None,
) -> tuple[list[dict[str, object]], float]:
    """Run mutmut on one target; the table rows and the wall time in seconds.

    With ``survivors_of`` (a work folder of an earlier run of the same source) only the mutants
    that run did not kill are run again, and the earlier verdicts are kept for the others: the
    test selection only grows (a test file added), so a mutant an earlier test failed on is
    still killed (mutmut runs each mutant's tests with ``-x``)."""
    target = TARGETS[name]
    if not all((ROOT / f).exists() for f in target.files):
        print(f"## {name}: skipped, {', '.join(target.files)} not in this tree")
        return [], 0.0
    start = time.monotonic()
    if read_only:  # the results of an earlier run in `work`
        folder = work / name
        print(f"## {name}: results of {folder}", flush=True)
    else:
        folder = _prepare(name, target, work, baseline)
        cmd = [_mutmut(), "run", "--max-children", "1"]
        prior: dict[str, dict[str, int | None]] = {}
        if survivors_of is not None:
            prior = _results(survivors_of / name, target)
            again = [k for c in prior.values() for k, v in c.items() if v not in _KILLED | _TIMEOUT]
            cmd += again
        print(f"## {name}: {' '.join(cmd)}  (in {folder})", flush=True)
        proc = subprocess.run(cmd, cwd=folder, env=_env(folder), capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
            raise SystemExit(f"mutmut failed on {name} (exit {proc.returncode})")
        if prior:
            new = _results(folder, target)
            merged = {
                path: {k: (new[path].get(k) if k in again else v) for k, v in codes.items()}
                for path, codes in prior.items()
            }
            (folder / MERGED).write_text(json.dumps(merged))
    seconds = time.monotonic() - start
    stamp = folder / "run_seconds"  # the wall time and the command of the run, for --read
    called = folder / "run_command"
    if read_only:
        seconds = float(stamp.read_text()) if stamp.exists() else float("nan")
        COMMANDS.append(called.read_text().strip() if called.exists() else "(unknown)")
    else:
        stamp.write_text(f"{seconds:.1f}\n")
        COMMANDS.append("python tests/mutation/run_mutation.py " + " ".join(sys.argv[1:]))
        called.write_text(COMMANDS[-1] + "\n")
    rows = [_row(path, codes) for path, codes in _results(folder, target).items()]
    print(_table(rows))
    print(f"({seconds:.0f} s)")
    for r in rows:
        for key in r["live"]:  # type: ignore[attr-defined]
            print(f"    live: {key}", flush=True)
            if show:
                diff = subprocess.run(
                    [_mutmut(), "show", key],
                    cwd=folder,
                    env=_env(folder),
                    capture_output=True,
                    text=True,
                ).stdout
                print("\n".join("        " + line for line in diff.splitlines()[1:]))
    return rows, seconds


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _replace_block(text: str, name: str, body: str) -> str:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    pre, _, rest = text.partition(begin)
    _, _, post = rest.partition(end)
    return f"{pre}{begin}\n{body}\n{end}{post}"


def _block(text: str, name: str) -> str:
    """The body between the markers of ``name`` ("" if absent)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text:
        return ""
    return text.partition(begin)[2].partition(end)[0].strip("\n")


def _merged_body(old: str, rows: list[dict[str, object]], seconds: dict[str, float]) -> str:
    """The table of ``rows`` with the rows of the modules not run now kept from ``old`` (a
    block written before), and the commands and run times of both."""
    lines = old.splitlines()
    kept = {ln.split("`")[1]: ln for ln in lines if ln.startswith("| `")}
    table = _table(rows).splitlines()
    fresh = {ln.split("`")[1]: ln for ln in table[2:]}
    body = table[:2] + [fresh.pop(m, ln) for m, ln in kept.items()] + list(fresh.values())
    commands = [ln.rstrip() + "  " for ln in lines if ln.startswith("`python")]
    commands += [f"`{c}`  " for c in dict.fromkeys(COMMANDS)]
    times: dict[str, str] = {}
    for ln in lines:
        if ln.startswith("Run times:"):
            for item in ln.removeprefix("Run times:").strip(" .").split(", "):
                name, _, value = item.partition(" ")
                times[name] = value
    times.update({k: f"{v:.0f} s" for k, v in seconds.items()})
    machine = f"Machine: {_machine()}.  "
    return "\n".join(
        [
            *body,
            "",
            *dict.fromkeys(commands),
            machine,
            "Run times: " + ", ".join(f"{k} {v}" for k, v in times.items()) + ".",
        ]
    )


def _write_report(rows: list[dict[str, object]], seconds: dict[str, float], baseline: bool) -> None:
    """Rewrite the "before" (``--baseline``) or the "after" table of REPORT.md (the rows of the
    targets run now replace theirs, the others are kept) and, after, the lists of the
    equivalent and of the live mutants (entries of the modules run now replaced)."""
    text = REPORT.read_text() if REPORT.exists() else "# Mutation testing\n"
    name = "before" if baseline else "after"
    text = _replace_block(text, name, _merged_body(_block(text, name), rows, seconds))
    if not baseline:
        modules = {str(r["module"]).removesuffix(".py").replace("/", ".") for r in rows}

        def others(block: str) -> list[str]:
            keys = [ln for ln in _block(text, block).splitlines() if ln.startswith("- `")]
            return [ln for ln in keys if ln.split("`")[1].rpartition(".x")[0] not in modules]

        met = [k for r in rows for k in r["equivalent_keys"]]  # type: ignore[attr-defined]
        lines = others("equivalent") + [f"- `{k}`: {EQUIVALENT[k]}" for k in met]
        lines.sort(key=lambda ln: ln.split("`")[1])
        text = _replace_block(text, "equivalent", "\n".join(lines))
        live = [k for r in rows for k in r["live"]]  # type: ignore[attr-defined]
        lines = others("live") + [f"- `{k}`" for k in live]
        text = _replace_block(text, "live", "\n".join(lines) or "(none)")
    REPORT.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help=f"of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/clln-mutation"))
    parser.add_argument("--show", action="store_true", help="print the diff of live mutants")
    parser.add_argument("--report", action="store_true", help="rewrite REPORT.md's after table")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument(
        "--read", action="store_true", help="only tabulate the results of an earlier run in --work"
    )
    parser.add_argument(
        "--survivors-of",
        type=Path,
        default=None,
        help="a work folder of an earlier run: run only its survivors again, keep its kills",
    )
    parser.add_argument(
        "--baseline", action="store_true", help="without the *_mutants.py tests (the before column)"
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, t in TARGETS.items():
            print(f"{name}: {' '.join(t.files)}  <- {' '.join(t.tests)}")
        return 0
    names = args.targets or list(TARGETS)
    rows: list[dict[str, object]] = []
    seconds: dict[str, float] = {}
    for name in names:
        r, s = run_target(name, args.work, args.show, args.baseline, args.read, args.survivors_of)
        rows += r
        if r:
            seconds[name] = s
    print("\n# all targets\n" + _table(rows))
    if args.report:
        _write_report(rows, seconds, args.baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
