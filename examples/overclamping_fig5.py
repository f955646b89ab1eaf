"""Fig. 5 of the paper: overclamping vs standard clamping on the 8-point ring classification.

Trains the 4x4 periodic lattice of three-regime MOSFETs (random per-edge learning bias of order
2 V/s) on every linear split of 8 ring points, for 5 ring diameters and both clamping modes, then
writes the accuracy / hinge-loss table and the figure (output maps, accuracy and hinge loss vs
ring diameter).

    python examples/overclamping_fig5.py                 # full: 5 eps x 8 splits x 2 clampings
    python examples/overclamping_fig5.py --quick         # smoke test (2 eps, 1 split, short)
    python examples/overclamping_fig5.py --workers 2 --seeds 3 --results fig5.jsonl  # resumable

The figure of docs/figures was made with the last line (12800 steps of 100 us per run, 240 runs,
about 10 minutes on 2 workers). Runs whose circuit solve fails are listed and left out of the
means.

The figure goes to ``--out``, else ``$CLLN_OUT_DIR`` if set, else the current folder (the
committed figure: ``--out docs/figures``). With
``--results`` every finished run is saved at once (atomic JSON lines), so an interrupted run
resumes where it stopped. ``--dask ADDRESS`` runs on a Dask cluster instead of a local process
pool.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from clln_theory.experiments import FIG5_DEFAULTS, FIG5_EPS, overclamping_experiment
from clln_theory.plotting import plot_fig5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny smoke-test run")
    ap.add_argument("--n-steps", type=int, default=None, help="learning steps of 100 us per run")
    ap.add_argument("--seeds", type=int, default=1, help="number of hardware seeds")
    ap.add_argument("--splits", default=None, help="comma-separated splits (default: all 8)")
    ap.add_argument("--workers", type=int, default=None, help="process-pool size")
    ap.add_argument("--results", default=None, help="resumable result file (.jsonl)")
    ap.add_argument("--dask", default=None, help="Dask scheduler address (optional extra)")
    ap.add_argument("--out", default=None, help="output directory of the PNG")
    args = ap.parse_args(argv)

    out = Path(args.out or os.environ.get("CLLN_OUT_DIR") or ".")
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        kw = dict(eps=(FIG5_EPS[0], FIG5_EPS[-1]), splits=(0,), n_steps=args.n_steps or 320)
        n_grid, name = 9, "overclamping_fig5_quick.png"
    else:
        kw = dict(n_steps=args.n_steps or FIG5_DEFAULTS["n_steps"])
        if args.splits:
            kw["splits"] = tuple(int(x) for x in args.splits.split(","))
        n_grid, name = 31, "overclamping_fig5.png"

    clampings = ("standard", "overclamp")
    executor, client = None, None
    if args.dask:
        from dask.distributed import Client  # optional extra: pip install clln_theory[dask]

        client = Client(args.dask)
        executor = client.get_executor()
    t0 = time.perf_counter()
    res = overclamping_experiment(
        seeds=range(args.seeds),
        clampings=clampings,
        executor=executor,
        max_workers=args.workers,
        path=args.results,
        progress=True,
        **kw,
    )
    print(
        f"Fig. 5 (our simulation): {res.settings['device']} devices, "
        f"{res.settings['n_steps']} steps of 100 us per run, r = {res.settings['r']}, "
        f"{len(res.splits)} splits x {len(res.seeds)} seeds; "
        f"{res.compute_seconds:.0f} s compute, {time.perf_counter() - t0:.0f} s wall"
    )
    print(res.table())
    print(res.split_table())
    fig = plot_fig5(res, out / name, n_grid=n_grid)
    print(f"figure: {out / name}")
    del fig
    if client is not None:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
