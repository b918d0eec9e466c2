"""Independent reference solvers for tests: scalar, slow, simple."""

import numpy as np
from budgetopt.optimizer.model.curves import FAMILY_BY_CODE
from scipy.optimize import brentq


def channel_function(curves, i):
    family = FAMILY_BY_CODE[curves.family[i]]
    params = tuple(curves.channel_parameters(i).values())
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
            off = (grid == 0) & (problem.lower[i] <= 0)
            allowed &= (grid >= problem.min_if_on[i] - 1e-9) | off
        values.append(np.where(allowed, v, -np.inf))
    best = values[0].copy()
    for v in values[1:]:
        # best_new[t] = max_j best[j] + v[t - j]
        new = np.full(points, -np.inf)
        for t in range(points):
            new[t] = np.max(best[: t + 1] + v[t::-1])
        best = new
    return best[-1]


def tangent_lp_reference(problem, *, kind="kpi", target=None, tangents=400):
    """Certified bounds from scipy's MILP on dense tangents: (upper bound, spend at it).

    Variables are spend x and response bounds y; y_i <= tangent of f_i at many points, so the
    optimum is an upper bound for max objectives (a lower bound on spend for ``target_kpi``).
    ``min_if_on`` uses binaries. Rules are the problem's linear rules.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = len(problem.names)
    curves = problem.curves
    rows, lows, highs = [], [], []

    def add(row, low, high):
        rows.append(row)
        lows.append(low)
        highs.append(high)

    size = 3 * n  # x, y, z
    for i in range(n):
        hi = problem.upper[i]
        top = max(hi, 1e-9)
        points = np.unique(np.concatenate([np.geomspace(top * 1e-5, top, tangents),
                                           np.linspace(0, hi, tangents)[1:]]))
        values = curves.channel_value(i, points)
        slopes = curves.channel_marginal(i, points)
        for t, v, s in zip(points, values, slopes):
            if not np.isfinite(s):
                continue
            row = np.zeros(size)
            row[n + i], row[i] = 1.0, -s
            add(row, -np.inf, v - s * t)
        committed = problem.min_if_on[i] > 0
        row = np.zeros(size)
        floor = max(problem.lower[i], problem.min_if_on[i])
        row[i], row[2 * n + i] = 1.0, -floor if committed else 0
        if committed:
            add(row, 0.0, np.inf)
            row = np.zeros(size)
            row[i], row[2 * n + i] = 1.0, -hi
            add(row, -np.inf, 0.0)
    total = np.zeros(size)
    total[:n] = 1.0
    response = np.zeros(size)
    response[n:2 * n] = 1.0
    if kind == "kpi":
        add(total, problem.budget, problem.budget)
    else:
        add(total, -np.inf, problem.budget)
    if kind == "target_kpi":
        add(response, target, np.inf)
    if kind == "target_roi":
        add(response - target * total, 0.0, np.inf)
    for rule in problem.rules:
        row = np.zeros(size)
        np.add.at(row, rule.index, rule.coef)
        add(row, rule.lower, rule.upper)
    lower = np.concatenate([np.where(problem.min_if_on > 0, 0.0, problem.lower),
                            np.full(n, -np.inf), np.zeros(n)])
    upper = np.concatenate([problem.upper, np.full(n, np.inf), np.ones(n)])
    price = {"profit": problem.price, "target_mroi": problem.price}.get(kind, 0.0)
    if kind == "target_kpi":
        cost = total.copy()
    else:
        cost = -(response - price * total)
    integrality = np.concatenate([np.zeros(2 * n), (problem.min_if_on > 0).astype(float)])
    result = milp(cost, constraints=LinearConstraint(np.array(rows), lows, highs),
                  bounds=Bounds(lower, upper), integrality=integrality,
                  options={"mip_rel_gap": 1e-9})
    assert result.success, result.message
    x = result.x[:n]
    bound = -result.fun if kind != "target_kpi" else result.fun
    return bound, x


def rules_hold(problem, spend, rel=1e-6):
    """Every bound, commitment and rule of the problem holds at ``spend`` (relative tolerance)."""
    scale = max(problem.budget, 1.0)
    tol = rel * scale
    ok = np.all(spend >= problem.lower - tol) and np.all(spend <= problem.upper + tol)
    ok &= np.all((spend <= tol) | (spend >= problem.min_if_on - tol))
    for rule in problem.rules:
        activity = rule.activity(spend)
        ok &= rule.lower - tol <= activity <= rule.upper + tol
    return bool(ok)
