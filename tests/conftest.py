"""Shared test configuration.

Hypothesis runs derandomized by default (a fixed sequence of examples per test), so CI is
reproducible and a failure seen once is seen again. Set ``HYPOTHESIS_PROFILE=explore`` to draw
fresh random examples when hunting for new counterexamples.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
