"""Fig. 5 sweep: many runs at once (`run_fig5_batch`) against one run at a time (`run_fig5_case`).

The Fig. 5 study is 240 independent runs (2 clampings x 5 ring diameters x 3 seeds x 8 splits) of
12,800 learning steps on the 32-edge lattice of three-regime MOSFETs. In this process, BLAS
pinned to one thread, CPU time (``time.process_time``: the machine is shared):

1. old: `run_fig5_case` on a subset of ``--runs`` cases (default 8: both clampings, mixed
   diameters, seeds and splits), one at a time; median CPU time per case;
2. new: `run_fig5_batch` on the same cases as one batch per clamping, and on a batch of
   ``--batch`` cases of one clamping (default 120: a whole clamping of the study); CPU time per
   case;
3. the records of the subset: old vs new accuracy (must be equal) and largest gate difference;
4. the extrapolation to the full study: old = median per case x 240, new = (time of the
   120-case batch) x 2 (the study is exactly two such batches).

``--full`` also runs the whole new study (`overclamping_experiment`, two batches, one thread)
and prints its table. Run: ``OPENBLAS_NUM_THREADS=1 python tests/benchmarks/bench_fig5.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from clln_theory.electrical.clamping import CLAMPINGS
from clln_theory.experiments.fig5 import FIG5_EPS, N_RING
from clln_theory.experiments.fig5_runs import (
    overclamping_experiment,
    run_fig5_batch,
    run_fig5_case,
)

N_STUDY = 2 * len(FIG5_EPS) * 3 * N_RING  # 240


def cpu(f, *args):
    t0 = time.process_time()
    out = f(*args)
    return time.process_time() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12_800, help="learning steps per run")
    ap.add_argument("--runs", type=int, default=8, help="cases run one at a time (old way)")
    ap.add_argument("--batch", type=int, default=120, help="cases of the large batch")
    ap.add_argument("--full", action="store_true", help="also run the whole new study")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    subset = [
        dict(clamping=CLAMPINGS[i % 2], eps=float(FIG5_EPS[i % len(FIG5_EPS)]),
             seed=int(i % 3), split=int(rng.integers(N_RING)), n_steps=args.steps)
        for i in range(args.runs)
    ]  # fmt: skip
    print(f"Fig. 5 runs of {args.steps} steps; CPU seconds, BLAS one thread")
    old_t, old = [], []
    for it in subset:
        t, rec = cpu(run_fig5_case, it)
        old_t.append(t)
        old.append(rec)
    per_old = statistics.median(old_t)
    print(f"old, one run at a time: {len(subset)} cases, median {per_old:.2f} s per case")
    new = [None] * len(subset)
    t_sub = 0.0
    for mode in CLAMPINGS:
        idx = [i for i, it in enumerate(subset) if it["clamping"] == mode]
        t, recs = cpu(run_fig5_batch, [subset[i] for i in idx])
        t_sub += t
        for i, r in zip(idx, recs):
            new[i] = r
    print(f"new, the same cases batched per clamping: {t_sub / len(subset):.3f} s per case "
          f"({per_old * len(subset) / t_sub:.1f}x)")  # fmt: skip
    same = all(a["accuracy"] == b["accuracy"] for a, b in zip(old, new))
    dG = max(float(np.max(np.abs(np.subtract(a["G"], b["G"])))) for a, b in zip(old, new))
    dh = max(abs(a["hinge"] - b["hinge"]) for a, b in zip(old, new))
    print(f"subset records: accuracies equal: {same}; max |G_old - G_new| = {dG:.2e} V; "
          f"max |hinge_old - hinge_new| = {dh:.2e} V")  # fmt: skip
    big = [
        dict(clamping="overclamp", eps=float(e), seed=s, split=k, n_steps=args.steps)
        for e in FIG5_EPS for s in range(3) for k in range(N_RING)
    ][: args.batch]  # fmt: skip
    t_big, _ = cpu(run_fig5_batch, big)
    print(f"new, one batch of {len(big)} cases: {t_big:.1f} s, {t_big / len(big):.3f} s per case")
    old_full = per_old * N_STUDY
    new_full = t_big * N_STUDY / len(big)
    print(f"extrapolated full study ({N_STUDY} runs): old {old_full / 60:.1f} CPU-min, new "
          f"{new_full / 60:.2f} CPU-min, ratio {old_full / new_full:.1f}x")  # fmt: skip
    if args.full:
        with ThreadPoolExecutor(max_workers=1) as ex:
            t_full, res = cpu(
                lambda: overclamping_experiment(
                    seeds=(0, 1, 2), n_steps=args.steps, executor=ex, progress=False
                )
            )
        print(f"full new study: {t_full / 60:.2f} CPU-min (ratio to the extrapolated old "
              f"{old_full / t_full:.1f}x)")  # fmt: skip
        print(res.table())


if __name__ == "__main__":
    main()
