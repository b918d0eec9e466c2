"""Independent reference solvers for tests: scalar, slow, simple."""

import numpy as np
from scipy.optimize import brentq

from optimizer.curves import FAMILY_BY_CODE


def channel_function(curves, i):
    family = FAMILY_BY_CODE[curves.family[i]]
    params = (curves.beta[i], curves.k[i], curves.s[i])
    return (lambda x: float(family.value(np.float64(x), *params)),
            lambda x: float(family.marginal(np.float64(x), *params)))


def concave_reference(problem):
    """KKT by nested scalar root finding: per channel x(lam) by brentq, lam by bisection."""
    n = len(problem.names)
    marginals = [channel_function(problem.curves, i)[1] for i in range(n)]

    def spend_at(lam):
        x = np.empty(n)
        for i, marginal in enumerate(marginals):
            lo, hi = problem.lower[i], problem.upper[i]
            if marginal(hi) >= lam:
                x[i] = hi
            elif marginal(lo) <= lam:
                x[i] = lo
            else:
                x[i] = brentq(lambda v: marginal(v) - lam, lo, hi, xtol=1e-14, rtol=1e-15)
        return x

    lo_lam, hi_lam = 1e-12, 1e12
    for _ in range(200):
        mid = np.sqrt(lo_lam * hi_lam)
        if spend_at(mid).sum() > problem.budget:
            lo_lam = mid
        else:
            hi_lam = mid
    x_more, x_less = spend_at(lo_lam), spend_at(hi_lam)
    gap = x_more.sum() - x_less.sum()
    weight = 0.0 if gap <= 0 else (problem.budget - x_less.sum()) / gap
    return x_less + weight * (x_more - x_less)


def grid_dynamic_programming(problem, points=2001):
    """Best allocation over a uniform budget grid (exact over the grid), by DP over channels.

    Honors lower/upper bounds and min_if_on (spend 0 or >= min_if_on)."""
    n = len(problem.names)
    grid = np.linspace(0.0, problem.budget, points)
    values = []
    for i in range(n):
        f, _ = channel_function(problem.curves, i)
        v = np.array([f(x) for x in grid])
        allowed = (grid >= problem.lower[i] - 1e-9) & (grid <= problem.upper[i] + 1e-9)
        if problem.min_if_on[i] > 0:
            allowed &= (grid >= problem.min_if_on[i] - 1e-9) | ((grid == 0) & (problem.lower[i] <= 0))
        values.append(np.where(allowed, v, -np.inf))
    best = values[0].copy()
    for v in values[1:]:
        # best_new[t] = max_j best[j] + v[t - j]
        new = np.full(points, -np.inf)
        for t in range(points):
            new[t] = np.max(best[: t + 1] + v[t::-1])
        best = new
    return best[-1]
