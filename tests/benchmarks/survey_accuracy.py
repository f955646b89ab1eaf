"""Survey: periodic_orbit (float64) against 50-digit mpmath on the hypothesis families of
tests/test_cycles.py, with more examples than the test suite draws.

Run: ``python tests/benchmarks/survey_accuracy.py [--examples 40]`` (about a minute). Prints, per
family, the largest ratio of the absolute error of G0 to ``eps * Orbit.condition * |G0|`` (the
engine's accuracy claim: a small multiple), the largest relative error, and how many sampled
(pair, tau) cases have ``eps * condition <= 1e-11`` and of those how many meet 1e-10. Periods
span twelve decades, tau = 1e-9 .. 1e3 s; rates 1e-2 .. 1e4 1/s.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from clln_theory.testing import task_pairs  # noqa: E402
from clln_theory.theory.orbits import periodic_orbit  # noqa: E402

EPS = np.finfo(float).eps
TAUS = np.logspace(-9, 3, 7)
FAMILIES = {
    "n2-full": task_pairs(2),
    "n5-full": task_pairs(5),
    "n2-rank1": task_pairs(2, ranks=(1, 1)),
    "n4-rank-deficient": task_pairs(4, ranks=(3, 2)),
    "n3-shared-null": task_pairs(3, ranks=(1, 1), shared_null=1),
    "n2-nearly-parallel": task_pairs(2, ranks=(1, 1), angle_range=(1e-3, 1e-1)),
    "n3-nearly-parallel": task_pairs(3, ranks=(2, 2), angle_range=(1e-3, 1e-1)),
}


def survey(strategy, examples: int) -> tuple[float, float, int, int]:
    worst = {"ratio": 0.0, "rel": 0.0, "ok": 0, "met": 0}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(pair):
        a, b, B = pair
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = periodic_orbit(a, b, B=B, tau=TAUS)
            ref = periodic_orbit(a, b, B=B, tau=TAUS, dps=50)
        err = np.linalg.norm(got.G0 - ref.G0, axis=1)
        scale = np.linalg.norm(ref.G0, axis=1)
        bound = np.maximum(EPS * got.condition * scale, np.finfo(float).tiny)
        worst["ratio"] = max(worst["ratio"], float(np.max(err / bound)))
        rel = err / np.where(scale > 0, scale, 1.0)
        worst["rel"] = max(worst["rel"], float(np.max(rel)))
        ok = EPS * got.condition <= 1e-11
        worst["ok"] += int(ok.sum())
        worst["met"] += int((rel[ok] <= 1e-10).sum())

    run()
    return worst["ratio"], worst["rel"], worst["ok"], worst["met"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=40)
    args = ap.parse_args()
    print(f"tau = {TAUS[0]:.0e} .. {TAUS[-1]:.0e} s ({TAUS.size} periods), {args.examples} pairs")
    print(f"{'family':20s} {'max err/(eps k |G0|)':>21s} {'max rel err':>12s}  cases")
    total = 0
    for name, strategy in FAMILIES.items():
        ratio, rel, ok, met = survey(strategy, args.examples)
        total += args.examples * TAUS.size
        print(f"{name:20s} {ratio:21.3f} {rel:12.1e}  eps*k<=1e-11: {ok}, of which <=1e-10: {met}")
    print(f"{total} (pair, tau) cases in all")


if __name__ == "__main__":
    main()
