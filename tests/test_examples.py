"""Every script in examples/ runs (on small sizes) and exits 0.

Scripts that accept ``--quick`` are run with it. Figures are written to a temporary directory via
the ``CLLN_OUT_DIR`` environment variable where a script honours it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Generous: the slowest example on the shared 2-core machine takes a few seconds in --quick mode.
EXAMPLE_TIMEOUT_S = 240


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    args = [sys.executable, str(script)]
    if "--quick" in script.read_text():
        args.append("--quick")
    env = dict(os.environ, CLLN_OUT_DIR=str(tmp_path), MPLBACKEND="Agg")
    proc = subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=EXAMPLE_TIMEOUT_S
    )
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    assert proc.stdout.strip(), f"{script.name} printed nothing"
