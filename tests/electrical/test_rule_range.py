"""The learning rate of valid but extreme numbers is a typed error, never a ZeroDivisionError
or an inf (issue 18)."""

from __future__ import annotations

import pytest

from clln_theory.electrical import learning_rate_A0, learning_rate_gamma
from clln_theory.errors import NumericalRangeError


@pytest.mark.parametrize(
    ("R0", "C0"), [(1e-300, 1e-300), (1e300, 1e300), (1e-200, 1e-120), (1e200, 1e200)]
)
def test_learning_rate_out_of_range_is_typed(R0, C0):
    with pytest.raises(NumericalRangeError, match="A0"):
        learning_rate_A0(R0, C0)
    with pytest.raises(NumericalRangeError, match="gamma"):
        learning_rate_gamma(R0, C0, 8.5e-4)


def test_learning_rate_bits_unchanged():
    assert learning_rate_A0(100.0, 22e-6) == 1.0 / (0.33 * 100.0 * 22e-6)
    assert learning_rate_gamma(100.0, 22e-6, 8.5e-4, r=2.0) == 2.0 / (0.33 * 100.0 * 22e-6) / 8.5e-4
