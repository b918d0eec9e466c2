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


def reference_rules(model, budget, rules, *, exact_budget=True, periods=1):
    """Bounds and linear rows straight from a constraints table (a dict as in the TOML file),
    written here again so that a reference never takes the project's own rule rows.

    Returns (lower, upper, min_if_on, rows) with rows a list of (coefficients, low, high) over
    the spend vector. A geo model's rules are read as the contract says (see
    :func:`reference_geo_rules`).
    """
    if model.cells is not None:
        return reference_geo_rules(model, budget, rules, exact_budget=exact_budget,
                                   periods=periods)
    names = list(model.names)
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    lower, upper, min_if_on = np.zeros(n), np.full(n, float(budget)), np.zeros(n)
    for name, table in rules.get("channels", {}).items():
        i = index[name]
        current = model.current_spend[i] * periods
        if "min" in table:
            lower[i] = table["min"]
        if "max" in table:
            upper[i] = min(upper[i], table["max"])
        if "max_change" in table:
            lower[i] = max(lower[i], current * (1 - table["max_change"]))
            upper[i] = min(upper[i], current * (1 + table["max_change"]))
        if "fixed" in table:
            lower[i] = upper[i] = table["fixed"]
        min_if_on[i] = table.get("min_if_on", 0.0)
    # a commitment lets a channel be off only when nothing else keeps it on
    kept_on = (min_if_on > 0) & (lower > 0)
    lower = np.where(kept_on, np.maximum(lower, min_if_on), lower)
    min_if_on = np.where(kept_on, 0.0, min_if_on)
    groups = {g["name"]: g["channels"] for g in rules.get("groups", [])}
    rows = []

    def members(side):
        row = np.zeros(n)
        for name in groups.get(side, [side]):
            row[index[name]] += 1.0
        return row

    for group in rules.get("groups", []):
        row = members(group["name"])
        if "min" in group or "max" in group:
            rows.append((row, group.get("min", -np.inf), group.get("max", np.inf)))
        for key, side in (("min_share", "low"), ("max_share", "high")):
            if key not in group:
                continue
            share = group[key]
            if exact_budget:
                bound = share * budget
                rows.append((row, bound, np.inf) if side == "low" else (row, -np.inf, bound))
            else:
                dense = row - share
                rows.append((dense, 0.0, np.inf) if side == "low" else (dense, -np.inf, 0.0))
    for ratio in rules.get("ratios", []):
        for key in ("min", "max"):
            if key in ratio:
                row = members(ratio["numerator"]) - ratio[key] * members(ratio["denominator"])
                rows.append((row, 0.0, np.inf) if key == "min" else (row, -np.inf, 0.0))
    return lower, upper, min_if_on, rows


def _bounds(table, current, low=0.0, high=np.inf):
    """min, max, max_change (of ``current``) and fixed of one rules table."""
    low, high = table.get("min", low), min(high, table.get("max", np.inf))
    if "max_change" in table:
        low = max(low, current * (1 - table["max_change"]))
        high = min(high, current * (1 + table["max_change"]))
    if "fixed" in table:
        low = high = table["fixed"]
    return low, high


def reference_geo_rules(model, budget, rules, *, exact_budget=True, periods=1):
    """:func:`reference_rules` of a geo model: ``cells.G.C`` bound one entry, ``channels.C``
    the channel's total over the geos, ``geos.G`` the geo's total (shares of the budget), and
    a group's ``geos`` keeps only those geos' cells."""
    geo, channel = np.array(model.cells.geo), np.array(model.cells.channel)
    n = len(geo)
    current = model.current_spend * periods
    lower, upper, min_if_on = np.zeros(n), np.full(n, float(budget)), np.zeros(n)
    for g, tables in rules.get("cells", {}).items():
        for c, table in tables.items():
            i = int(np.flatnonzero((geo == g) & (channel == c))[0])
            lower[i], upper[i] = _bounds(table, current[i], high=float(budget))
            min_if_on[i] = table.get("min_if_on", 0.0)
    kept_on = (min_if_on > 0) & (lower > 0)
    lower = np.where(kept_on, np.maximum(lower, min_if_on), lower)
    min_if_on = np.where(kept_on, 0.0, min_if_on)
    rows = []
    for c, table in rules.get("channels", {}).items():
        member = channel == c
        rows.append((member.astype(float), *_bounds(table, current[member].sum(), low=-np.inf)))
    for g, table in rules.get("geos", {}).items():
        member = (geo == g).astype(float)
        rows.append((member, *_bounds(table, current[member > 0].sum(), low=-np.inf)))
        for key in ("min_share", "max_share"):
            if key in table:
                bound = table[key] * budget
                rows.append((member, bound, np.inf) if key == "min_share"
                            else (member, -np.inf, bound))
    for group in rules.get("groups", []):
        member = np.isin(channel, group["channels"])
        if "geos" in group:
            member &= np.isin(geo, group["geos"])
        rows.append((member.astype(float), group.get("min", -np.inf),
                     group.get("max", np.inf)))
    assert exact_budget, "the geo reference reads shares of an exact budget only"
    return lower, upper, min_if_on, rows


def tangent_lp_reference(model, budget, rules, *, kind="kpi", target=None, kpi_value=1.0,
                         periods=1, tangents=400):
    """Certified bounds from scipy's MILP on dense tangents: (upper bound, spend at it).

    Variables are spend x and response bounds y; y_i <= tangent of f_i at many points, so the
    optimum is an upper bound for max objectives (a lower bound on spend for ``target_kpi``).
    ``min_if_on`` uses binaries. Bounds and rules come from ``rules`` by
    :func:`reference_rules`, not from the project's problem.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = len(model.names)
    curves = model.horizon_curves(periods)
    lower, upper, min_if_on, rule_rows = reference_rules(
        model, budget, rules, exact_budget=kind == "kpi", periods=periods)
    rows, lows, highs = [], [], []

    def add(row, low, high):
        rows.append(row)
        lows.append(low)
        highs.append(high)

    size = 3 * n  # x, y, z
    for i in range(n):
        hi = upper[i]
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
        if min_if_on[i] > 0:
            row = np.zeros(size)
            row[i], row[2 * n + i] = 1.0, -max(lower[i], min_if_on[i])
            add(row, 0.0, np.inf)
            row = np.zeros(size)
            row[i], row[2 * n + i] = 1.0, -hi
            add(row, -np.inf, 0.0)
    total = np.zeros(size)
    total[:n] = 1.0
    response = np.zeros(size)
    response[n:2 * n] = 1.0
    if kind == "kpi":
        add(total, budget, budget)
    else:
        add(total, -np.inf, budget)
    if kind == "target_kpi":
        add(response, target, np.inf)
    if kind == "target_roi":
        add(response - target * total, 0.0, np.inf)
    for coef, low, high in rule_rows:
        row = np.zeros(size)
        row[:n] = coef
        add(row, low, high)
    bounds = Bounds(np.concatenate([np.where(min_if_on > 0, 0.0, lower), np.full(n, -np.inf),
                                    np.zeros(n)]),
                    np.concatenate([upper, np.full(n, np.inf), np.ones(n)]))
    price = {"profit": 1.0 / kpi_value, "target_mroi": target}.get(kind, 0.0)
    cost = total.copy() if kind == "target_kpi" else -(response - price * total)
    integrality = np.concatenate([np.zeros(2 * n), (min_if_on > 0).astype(float)])
    result = milp(cost, constraints=LinearConstraint(np.array(rows), lows, highs),
                  bounds=bounds, integrality=integrality, options={"mip_rel_gap": 1e-9})
    assert result.success, result.message
    bound = -result.fun if kind != "target_kpi" else result.fun
    return bound, result.x[:n]


def rules_hold(model, budget, rules, spend, *, exact_budget=True, rel=1e-6):
    """Every bound, commitment and rule of the constraints table holds at ``spend``."""
    lower, upper, min_if_on, rows = reference_rules(model, budget, rules,
                                                    exact_budget=exact_budget)
    tol = rel * max(budget, 1.0)
    ok = np.all(spend >= np.where(min_if_on > 0, 0.0, lower) - tol)
    ok &= np.all(spend <= upper + tol)
    ok &= np.all((spend <= tol) | (spend >= np.maximum(min_if_on, lower) - tol))
    for coef, low, high in rows:
        ok &= low - tol <= coef @ spend <= high + tol
    return bool(ok)
