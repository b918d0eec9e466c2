"""Every curve family passes the same contract: value, derivative, concavity, inverse marginal."""

import numpy as np
import pytest
from budgetopt.optimizer.model.curves import FAMILIES, CurveFamily, CurveSet, register_family

PARAMS = {"hill": [(100.0, 50.0, 0.6), (100.0, 50.0, 1.0), (100.0, 50.0, 2.5)],
          "exponential": [(100.0, 50.0, 1.0)], "logistic": [(100.0, 50.0, 1.0)],
          "log": [(100.0, 50.0, 1.0)], "linear": [(3.0, 1.0, 1.0)]}
CASES = [pytest.param(name, p, id=f"{name}-s{p[2]}") for name in FAMILIES for p in PARAMS[name]]
X = np.linspace(0.0, 400.0, 2001)


def curve(name, params):
    beta, k, s = params
    return CurveSet.from_lists([name] * X.size, np.full(X.size, beta), np.full(X.size, k),
                               np.full(X.size, s))


def test_every_family_has_test_parameters():
    assert set(PARAMS) == set(FAMILIES)


def test_duplicate_family_name_is_rejected():
    with pytest.raises(ValueError, match="Duplicate curve family 'hill'"):
        @register_family
        class AnotherHill(CurveFamily):
            name = "hill"


@pytest.mark.parametrize("name,params", CASES)
def test_zero_at_zero_and_increasing(name, params):
    values = curve(name, params).value(X)
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(values) > 0)


@pytest.mark.parametrize("name,params", CASES)
def test_marginal_matches_finite_differences(name, params):
    curves = curve(name, params)
    x = X + 0.1
    h = 1e-4
    numeric = (curves.value(x + h) - curves.value(x - h)) / (2 * h)
    np.testing.assert_allclose(curves.marginal(x), numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name,params", CASES)
def test_concavity_flag_and_inflection_match_the_second_difference(name, params):
    curves = curve(name, params)
    second = np.diff(curves.value(X), 2)
    inflection = curves.inflection()[0]
    beyond = X[1:-1] > inflection + 1.0
    assert np.all(second[beyond] <= 1e-9)
    if curves.is_concave()[0]:
        assert inflection == 0.0
    else:
        assert np.any(second[X[1:-1] < inflection - 1.0] > 0)


@pytest.mark.parametrize("name,params", [c for c in CASES if c.values[0] != "linear"])
def test_spend_at_marginal_inverts_the_marginal_on_the_concave_branch(name, params):
    curves = curve(name, params)
    start = curves.inflection()[0]
    x = np.linspace(start + 1.0, 390.0, X.size)
    lam = curves.marginal(x)
    recovered = curves.spend_at_marginal(lam, np.full(X.size, start), np.full(X.size, 400.0))
    np.testing.assert_allclose(recovered, x, rtol=1e-9)


def test_linear_spend_at_marginal_is_all_or_nothing():
    curves = CurveSet.from_lists(["linear", "linear"], [2.0, 5.0])
    x = curves.spend_at_marginal(3.0, np.array([1.0, 1.0]), np.array([10.0, 10.0]))
    assert list(x) == [1.0, 10.0]


def test_tangent_point_touches_the_s_curve():
    curves = CurveSet.from_lists(["hill"], [100.0], [50.0], [2.5])
    a = np.array([0.0])
    c = curves.tangent_point(a)
    chord_slope = (curves.value(c) - curves.value(a)) / (c - a)
    assert c[0] > curves.inflection()[0]
    assert chord_slope[0] == pytest.approx(curves.marginal(c)[0], rel=1e-9)
    # the chord lies on or above the curve everywhere on [a, c]
    grid = np.linspace(0, c[0], 500)
    one = CurveSet.from_lists(["hill"] * 500, [100.0] * 500, [50.0] * 500, [2.5] * 500)
    assert np.all(chord_slope[0] * grid >= one.value(grid) - 1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_tangent_points_from_inside_the_convex_foot_touch_the_curve(seed):
    """From a start a > 0 below the inflection (a branch-and-bound domain), by Newton."""
    rng = np.random.default_rng(seed)
    n = 400
    curves = CurveSet.from_lists(["hill"] * n, rng.uniform(50, 500, n), rng.uniform(10, 200, n),
                                 rng.uniform(1.05, 4.0, n))
    a = rng.uniform(0.001, 0.95, n) * curves.inflection()
    c = curves.tangent_point(a)
    chord = (curves.value(c) - curves.value(a)) / (c - a)
    assert np.all(c > curves.inflection())
    np.testing.assert_allclose(chord, curves.marginal(c), rtol=1e-9)
    for i in range(0, n, 40):  # the chord lies on or above the curve on [a, c]
        grid = np.linspace(a[i], c[i], 300)
        line = curves.value(a)[i] + chord[i] * (grid - a[i])
        assert np.all(line >= curves.channel_value(i, grid) - 1e-9 * curves.beta[i])


def test_tangent_point_of_a_concave_curve_is_the_start():
    curves = CurveSet.from_lists(["log", "hill"], [1.0, 1.0], [1.0, 1.0], [1.0, 0.7])
    np.testing.assert_array_equal(curves.tangent_point(np.array([2.0, 3.0])), [2.0, 3.0])


@pytest.mark.parametrize("name,params", CASES)
def test_scaled_is_the_curve_of_scaled_spend(name, params):
    curves = curve(name, params)
    scaled = curves.scaled(2.5, 3.0)
    np.testing.assert_allclose(scaled.value(X), 3.0 * curves.value(2.5 * X), rtol=1e-12)


def test_mixed_families_evaluate_channel_by_channel():
    curves = CurveSet.from_lists(["hill", "log", "linear"], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0],
                                 [2.0, 1.0, 1.0])
    np.testing.assert_allclose(curves.value(np.array([1.0, 1.0, 1.0])),
                               [0.5, 2.0 * np.log(2.0), 3.0])


@pytest.mark.parametrize("name,params", [c for c in CASES if c.values[0] != "linear"])
def test_warm_started_marginal_solve_matches_the_cold_one_from_any_start(name, params):
    """From a start anywhere in [lo, hi] (its ends included) or none, the answer is the cold
    solve's, also where the answer is an end (lam above or below every marginal there)."""
    curves = curve(name, params)
    rng = np.random.default_rng(0)
    lo = curves.tangent_point(np.zeros(X.size)) + rng.uniform(0, 20, X.size)
    hi = lo + rng.uniform(0, 300, X.size)
    top = float(curves.marginal(lo).max())
    lam = np.exp(rng.uniform(np.log(top) - 6, np.log(top) + 1, X.size))
    cold = curves.spend_at_marginal(lam, lo, hi)
    assert ((cold == lo) | (cold == hi)).any() and ((cold > lo) & (cold < hi)).any()
    for start in (lo + rng.uniform(0, 1, X.size) * (hi - lo), lo, hi, cold * (1 + 1e-3),
                  np.full(X.size, np.nan)):
        warm = curves.spend_at_marginal_from(lam, lo, hi, start)
        np.testing.assert_allclose(warm, cold, rtol=1e-12, atol=1e-12 * hi.max())
