"""The piecewise-linear bounds of the LP/MILP engine hold: every cut of every segment lies on
or above its curve across the segment, however the segments were split and refined."""

import numpy as np
import pytest
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.solvers.lp_engine import CurveTerms, PiecewiseModel, envelope_cuts


def model_of(families, k, s, hi):
    n = len(families)
    curves = CurveSet.from_lists(families, np.full(n, 100.0), np.asarray(k, float),
                                 np.asarray(s, float))
    terms = CurveTerms(curves=curves, lo=np.zeros(n), hi=np.asarray(hi, float),
                       off=np.zeros(n, bool))
    return curves, PiecewiseModel(terms)


def assert_cuts_bound_the_curve(curves, pieces):
    for i, segments in enumerate(pieces.segments):
        for segment in segments:
            if segment.zero:
                continue
            grid = np.linspace(segment.a, segment.b, 2001)
            curve = curves.channel_value(i, grid)
            slopes, intercepts = envelope_cuts(curves, i, segment)
            for slope, intercept in zip(slopes, intercepts):
                below = curve - (slope * grid + intercept)
                assert below.max() <= 1e-9 * max(1.0, curve.max()), (segment, slope)


@pytest.mark.parametrize("seed", range(6))
def test_split_s_curves_keep_valid_cuts(seed):
    """Answers on the convex foot split a segment there: the left piece lies wholly on the
    foot (the tangent from its start touches beyond its end), where only its chord holds."""
    rng = np.random.default_rng(seed)
    curves, pieces = model_of(["hill", "hill", "exponential"], [40.0, 60.0, 30.0],
                              [rng.uniform(1.5, 4.0), rng.uniform(1.5, 4.0), 1.0],
                              [200.0, 300.0, 150.0])
    for _ in range(8):
        answers = [rng.uniform(0, segments[-1].b) for segments in pieces.segments]
        pieces.choice = {i: int(np.searchsorted([s.b for s in segments], x))
                         for i, (segments, x) in enumerate(zip(pieces.segments, answers))
                         if len(segments) > 1}
        pieces.refine(np.array(answers), 1e-9)
        assert_cuts_bound_the_curve(curves, pieces)
    assert any(segment.chord_only for segments in pieces.segments for segment in segments)


def test_a_segment_on_the_foot_gets_no_tangent():
    """[0, 10] of a Hill curve whose inflection is near 35: the envelope is the chord alone,
    and an answer at the segment's end adds no tangent there (it would lie under the curve)."""
    curves, pieces = model_of(["hill"], [40.0], [3.0], [10.0])
    (segment,) = pieces.segments[0]
    assert segment.chord_only and segment.tangents == []
    assert pieces.refine(np.array([10.0]), 1e-9) == 0
    assert_cuts_bound_the_curve(curves, pieces)
