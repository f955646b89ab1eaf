"""The clamping rule: the cases the mutation run (tests/mutation) found untested.

The hinge at a zero label and at an output exactly on its label, the defaults of the two faces
(standard clamping, eta 1, regression), the per-point shapes, and exact inputs read as floats.
"""

import numpy as np
import pytest

from clln_theory.electrical._clamping import hinge, nudge_points, past_label, standard_amplitudes
from clln_theory.electrical.clamping import nudge, point_nudge


def test_past_label_is_strict_and_zero_at_a_zero_label():
    # (O_F - L) L > 0: an output on its label, or any output of a zero label, is not past it
    assert past_label(0.3, 0.3) is False
    assert past_label(-0.3, -0.3) is False
    assert past_label(0.1, 0.0) is False
    assert past_label(-0.1, 0.0) is False
    np.testing.assert_array_equal(
        past_label(np.array([0.3, 0.1, 0.5, -0.5]), np.array([0.3, 0.0, 0.3, -0.3])),
        [False, False, True, True],
    )


def test_hinge_and_amplitudes_have_one_entry_per_point():
    O = np.array([0.5, 0.1, -0.1])
    L = np.array([0.3, 0.3, -0.3])
    for classification in (False, True):
        mask = hinge(O, L, classification)
        assert mask.dtype == bool and mask.shape == (3,)
    np.testing.assert_array_equal(hinge(O, L, True), [True, False, False])
    np.testing.assert_array_equal(standard_amplitudes(O, L, 0.25, False), [0.25, 0.25, 0.25])
    np.testing.assert_array_equal(standard_amplitudes(O, L, 0.25, True), [0.0, 0.25, 0.25])
    # the amplitude is the nudge of (1): O_C - O_F = eta_p delta
    O_C, _, active = nudge_points(O, L, 0.25, "standard", None, True)
    np.testing.assert_allclose(O_C - O, standard_amplitudes(O, L, 0.25, True) * (L - O))
    assert active.shape == (3,)
    _, _, active = nudge_points(O, L, 0.25, "standard", None, False)
    assert active.shape == (3,) and active.all()


def test_nudge_defaults_are_standard_eta_one_regression():
    O, L = [0.5, 0.1], [0.3, 0.3]  # the first is past its label: nudged anyway (regression)
    O_C, w, on = nudge(O, L)
    np.testing.assert_allclose(O_C, L)  # eta = 1: clamped onto the labels
    np.testing.assert_array_equal(w, [1.0, 1.0])
    np.testing.assert_array_equal(on, [True, True])
    f = point_nudge(eta=0.5)
    assert f(0.5, 0.3) == pytest.approx((-0.1, 1.0))
    assert f(0.1, 0.3) == pytest.approx((0.1, 1.0))


def test_exact_inputs_are_read_as_floats():
    # integers (not object arrays, which the face refuses) must come out as float64
    O = [0, 1]
    L = [2, 2]
    for clamping, L0 in (("standard", None), ("overclamp", 0.4)):
        O_C, w, _ = nudge(O, L, eta=0.5, clamping=clamping, L0=L0)
        assert O_C.dtype == np.float64 and w.dtype == np.float64
        ref_C, ref_w, _ = nudge([0.0, 1.0], [2.0, 2.0], eta=0.5, clamping=clamping, L0=L0)
        np.testing.assert_allclose(O_C, ref_C, rtol=1e-15)
        np.testing.assert_allclose(w, ref_w, rtol=1e-15)
