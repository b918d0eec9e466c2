"""The separable solver against independent references and as properties."""

from dataclasses import replace

import numpy as np
import pytest
from budgetopt.optimizer.constants import METHOD_KKT, OPTIMAL
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.solvers.envelope import Domains, Envelope, solve_relaxation
from budgetopt.optimizer.solvers.separable import SeparableSolver
from conftest import make_problem, random_problem
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from reference import concave_reference, grid_dynamic_programming

CONCAVE = ["hill", "exponential", "logistic", "log"]
solve = SeparableSolver().solve


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("families", [[f] for f in CONCAVE] + [CONCAVE + ["linear"]],
                         ids=lambda f: "+".join(f))
def test_concave_matches_the_reference_optimum(families, seed):
    problem = random_problem(np.random.default_rng(seed), 12, families)
    result = solve(problem)
    expected = concave_reference(problem)
    assert result.certificate.method == METHOD_KKT and result.certificate.status == OPTIMAL
    assert result.total_kpi >= problem.value(expected) * (1 - 1e-9)
    assert result.total_kpi == pytest.approx(problem.value(expected), rel=1e-6)
    assert result.spend.sum() == pytest.approx(problem.budget, rel=1e-9)
    assert np.all(result.spend >= problem.lower - 1e-9 * problem.budget)
    assert np.all(result.spend <= problem.upper + 1e-9 * problem.budget)


def kkt_violation(result):
    """Largest relative breach of the KKT conditions of the budget problem."""
    problem, x, lam = result.problem, result.spend, result.multiplier
    if lam == 0:  # every channel at its maximum: no budget condition to check
        return float(np.max(problem.upper - x) / problem.budget)
    tol = 1e-7 * problem.budget
    # At a lower bound the marginal just above it decides (a Hill curve with s < 1 has an
    # infinite slope at 0, and its optimum may lie below the smallest float above 0).
    marginal = problem.curves.marginal(np.where(x <= problem.lower + tol, x + tol, x))
    interior = (x > problem.lower + tol) & (x < problem.upper - tol)
    worst = 0.0
    if interior.any():
        worst = np.max(np.abs(marginal[interior] - lam)) / lam
    at_lower = x <= problem.lower + tol
    at_upper = x >= problem.upper - tol
    worst = max(worst, np.max((marginal[at_lower] - lam) / lam, initial=0.0))
    worst = max(worst, np.max((lam - marginal[at_upper]) / lam, initial=0.0))
    return worst


problems = st.builds(
    lambda seed, n, fam: random_problem(np.random.default_rng(seed), n, fam),
    st.integers(0, 10**6), st.integers(1, 30),
    st.sampled_from([CONCAVE, ["hill"], ["log", "exponential"], ["logistic"]]))


@settings(max_examples=60, deadline=None)
@given(problems)
def test_budget_bounds_and_kkt_hold(problem):
    result = solve(problem)
    assert result.spend.sum() == pytest.approx(problem.budget, rel=1e-9, abs=1e-9)
    assert np.all(result.spend >= problem.lower - 1e-9 * problem.budget)
    assert np.all(result.spend <= problem.upper + 1e-9 * problem.budget)
    assert kkt_violation(result) < 1e-6


@settings(max_examples=40, deadline=None)
@given(problems, st.integers(0, 10**6))
def test_never_worse_than_a_feasible_current_plan(problem, seed):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(len(problem.names)))
    room = problem.upper - problem.lower
    spare = problem.budget - problem.lower.sum()
    current = problem.lower + np.minimum(room, weights * spare)
    current[np.argmax(room - (current - problem.lower))] += problem.budget - current.sum()
    assume(np.all(current <= problem.upper + 1e-9))
    assert solve(problem).total_kpi >= problem.value(current) * (1 - 1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 20))
def test_kpi_is_non_decreasing_in_the_budget(seed, n):
    rng = np.random.default_rng(seed)
    base = random_problem(rng, n, CONCAVE, bounded=False)
    values = []
    for factor in (0.5, 0.8, 1.0, 1.3):
        p = make_problem(base.curves.family_names, base.curves.beta, base.curves.k, base.curves.s,
                         budget=base.budget * factor)
        values.append(solve(p).total_kpi)
    assert all(b >= a * (1 - 1e-12) for a, b in zip(values, values[1:]))


@settings(max_examples=30, deadline=None)
@given(problems, st.integers(0, 10**6))
def test_channel_order_is_irrelevant(problem, seed):
    order = np.random.default_rng(seed).permutation(len(problem.names))
    shuffled = make_problem([problem.curves.family_names[i] for i in order],
                            problem.curves.beta[order], problem.curves.k[order],
                            problem.curves.s[order], budget=problem.budget,
                            lower=problem.lower[order], upper=problem.upper[order])
    first, second = solve(problem), solve(shuffled)
    assert second.total_kpi == pytest.approx(first.total_kpi, rel=1e-9)
    np.testing.assert_allclose(second.spend, first.spend[order], rtol=1e-6,
                               atol=1e-7 * problem.budget)


@pytest.mark.parametrize("seed", range(10))
def test_s_curves_at_least_as_good_as_a_fine_grid(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    problem = random_problem(rng, n, ["hill", "hill", "exponential"], s_range=(1.2, 3.5),
                             bounded=False)
    result = solve(problem)
    grid_best = grid_dynamic_programming(problem)
    assert result.total_kpi >= grid_best * (1 - 5e-4)
    assert result.total_kpi <= result.certificate.bound * (1 + 1e-12)
    assert result.certificate.gap <= 1e-6
    assert result.spend.sum() == pytest.approx(problem.budget, rel=1e-9)


def test_s_curve_moves_budget_off_a_channel_stuck_at_zero():
    # Two identical S-curves and a small budget: a local method started at an even split stays
    # there; the global optimum puts the whole budget into one channel.
    problem = make_problem(["hill", "hill"], [100, 100], [50, 50], [3, 3], budget=60)
    result = solve(problem)
    assert sorted(result.spend) == pytest.approx([0, 60])
    assert result.total_kpi > 2 * problem.curves.channel_value(0, 30.0)


@pytest.mark.parametrize("seed", range(6))
def test_minimum_commitments_match_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 5))
    base = random_problem(rng, n, ["log", "hill", "exponential"], s_range=(0.7, 2.5),
                          bounded=False)
    commitments = np.where(rng.random(n) < 0.7, rng.uniform(0.2, 0.5, n) * base.budget, 0.0)
    problem = make_problem(base.curves.family_names, base.curves.beta, base.curves.k,
                           base.curves.s, budget=base.budget, min_if_on=commitments)
    result = solve(problem)
    x = result.spend
    assert np.all((x <= 1e-9) | (x >= commitments - 1e-9 * problem.budget))
    assert result.total_kpi >= grid_dynamic_programming(problem) * (1 - 5e-4)


def test_infeasible_commitments_are_explained():
    # each channel spends 0 or 6..10 (7..10): totals 0, 6..10, 13..20, so 11 is out of reach
    problem = make_problem(["log", "log"], [1, 1], [1, 1], budget=11, min_if_on=[6, 7],
                           upper=[10, 10])
    with pytest.raises(InfeasibleError, match="cannot add up to the budget"):
        solve(problem)


@pytest.mark.slow
def test_a_million_channels_is_exact_and_spends_the_budget():
    rng = np.random.default_rng(0)
    problem = random_problem(rng, 1_000_000, CONCAVE, bounded=False)
    result = solve(problem)
    assert result.certificate.status == OPTIMAL
    assert result.spend.sum() == pytest.approx(problem.budget, rel=1e-9)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("families", [CONCAVE, ["hill"], ["logistic"], ["linear", "log"]],
                         ids=lambda f: "+".join(f))
def test_no_floating_point_warnings(families):
    for seed in range(100):
        rng = np.random.default_rng(seed)
        problem = random_problem(rng, int(rng.integers(1, 40)), families, s_range=(0.5, 2.5))
        if seed % 2:  # a price on spend: the budget is a ceiling
            problem = replace(problem, price=float(rng.uniform(0.1, 3.0)))
        assert solve(problem).certificate.status == OPTIMAL


@pytest.mark.parametrize("seed", range(3))
def test_a_childs_spend_from_its_parents_equals_a_full_pass(seed):
    """The spend at a multiplier of an envelope that differs from its parent in one channel,
    from the parent's spend there with that channel recomputed, is the full pass's (to the
    last bits, which Newton's path from another start may change); and the
    child's relaxation started that way is the one started cold."""
    problem = random_problem(np.random.default_rng(seed), 40, ("hill",), s_range=(1.5, 3.0))
    parent = Envelope(problem.curves, Domains(problem.lower.copy(), problem.upper.copy(),
                                              np.zeros(40, bool)))
    relaxation = solve_relaxation(parent, problem.budget)
    i = int(np.argmax(parent.c - parent.a))
    middle = 0.5 * (parent.domains.lo[i] + parent.domains.hi[i])
    for child in (parent.with_channel(i, parent.domains.lo[i], middle, False),
                  parent.with_channel(i, middle, parent.domains.hi[i], False)):
        quick = child.respend(relaxation.lam, relaxation.at_lam, i)
        np.testing.assert_allclose(quick, child.spend(relaxation.lam), rtol=1e-12)
        warm = solve_relaxation(child, problem.budget, near=relaxation.lam, start=quick,
                                exact=True)
        cold = solve_relaxation(child, problem.budget)
        assert warm.bound == pytest.approx(cold.bound, rel=1e-9)
        np.testing.assert_allclose(warm.spend.sum(), problem.budget, rtol=1e-9)


def test_a_first_multiplier_that_puts_every_channel_at_a_bound_is_not_the_answer():
    """A fitted model (generated history 15 of the trust benchmark) whose first multiplier
    puts every channel at an end of its domain: the search must still evaluate the other end
    of its range (an unevaluated end once overflowed to inf <= inf and stopped it there, 6 %
    below the optimum), and the answer is the grid's optimum, certified."""
    problem = make_problem(
        ["hill"] * 5, [2777905.53, 3502061.71, 1160498.56, 3013549.38, 6382174.90],
        [901192.93, 272297.55, 350928.73, 192030.75, 902348.26], [5.0, 1.3997, 1.0188, 0.8682,
                                                                   2.3446],
        budget=2_145_000.0, lower=[390000, 162500, 195000, 130000, 195000],
        upper=[1170000, 487500, 585000, 390000, 585000])
    result = SeparableSolver().solve(problem)
    reference = grid_dynamic_programming(problem, points=4291)  # a grid step of 500
    assert result.certificate.status == OPTIMAL
    assert problem.value(result.spend) >= reference * (1 - 1e-9)
    assert result.spend.sum() == pytest.approx(problem.budget)
