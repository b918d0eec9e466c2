"""Benchmark of rules across channels: groups, ramp limits and minimum commitments.

Instances (seeded): n channels of the four concave families with current spend budget / n,
ramp limits of ±30 % around it (max_change), and g groups of every g-th channel with a share
between half and twice their fair share; or n channels, half of them with a minimum commitment
(min_if_on) of 0.5–1.5 × budget / n, a third of them S-shaped. Time and proven gap per instance.

Then group caps against the peers' method: n concave channels in 10 disjoint groups, every
other group capped at 70 % of what it gets without caps, solved by budgetopt (the group
decomposition), by the general LP engine forced on the same problem, and by scipy SLSQP with
analytic gradients and the caps as linear inequality rows (PyMC-Marketing's optimiser),
started from the even split. Ratios are SLSQP's time over budgetopt's.
"""

from __future__ import annotations

import numpy as np
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.problem.allocation import AllocationProblem, linear_rules
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.settings import SolverSettings
from budgetopt.optimizer.solvers import solve
from budgetopt.optimizer.solvers.constrained import ConstrainedSolver
from common import timed
from scipy.optimize import minimize

CASES = [
    ("groups+ramps", 1000, {"groups": 10, "ramp": 0.3, "commit": 0.0}),
    ("groups+ramps", 200, {"groups": 10, "ramp": 0.3, "commit": 0.0}),
    ("commitments", 50, {"groups": 0, "ramp": 0.0, "commit": 0.5}),
    ("commitments+groups", 50, {"groups": 2, "ramp": 0.0, "commit": 0.5}),
]


def instance(n: int, groups: int, ramp: float, commit: float, seed: int) -> AllocationProblem:
    rng = np.random.default_rng(seed)
    families = [("hill", "exponential", "logistic", "log")[i % 4] for i in range(n)]
    s = np.where(rng.random(n) < (0.33 if commit else 0.0), rng.uniform(1.5, 3.0, n),
                 rng.uniform(0.5, 1.0, n))
    curves = CurveSet.from_lists(families, rng.uniform(50, 500, n), rng.uniform(10, 200, n), s)
    budget = 0.8 * curves.k.sum()
    current = np.full(n, budget / n)
    lower, upper = np.zeros(n), np.full(n, budget)
    if ramp:
        lower, upper = current * (1 - ramp), current * (1 + ramp)
    names = [f"c{i}" for i in range(n)]
    rules = {"groups": [{"name": f"g{j}", "channels": names[j::groups],
                         "min_share": 0.5 / groups, "max_share": 2.0 / groups}
                        for j in range(groups)]}
    commitments = np.where(rng.random(n) < commit, rng.uniform(0.5, 1.5, n) * budget / n, 0.0)
    return AllocationProblem(tuple(names), curves, budget, lower, upper, commitments, current,
                             rules=linear_rules(constraints_from_dict(rules, "benchmark"), names,
                                                exact_budget=budget))


def run(seeds: int = 3):
    print("rule-aware engine (HiGHS), gap tolerance 1e-6\n")
    header = f"{'instance':<20}{'n':>6}{'seed':>6}{'seconds':>10}{'proven gap':>12}  method"
    print(header)
    print("-" * (len(header) + 40))
    for label, n, settings in CASES:
        for seed in range(seeds):
            result, seconds = timed(solve, instance(n, seed=seed, **settings),
                                    SolverSettings(gap_tolerance=1e-6, time_limit=60))
            print(f"{label:<20}{n:>6}{seed:>6}{seconds:>10.2f}{result.certificate.gap:>12.1e}  "
                  f"{result.certificate.method}")
    print()
    run_against_slsqp(seeds=seeds)


def capped_groups(n: int, seed: int, groups: int = 10) -> AllocationProblem:
    """n concave channels in disjoint groups; every other group capped below its free share."""
    free = instance(n, 0, 0.0, 0.0, seed)
    spend = solve(free).spend
    names = list(free.names)
    rules = {"groups": [{"name": f"g{j}", "channels": names[j::groups],
                         **({"max": float(0.7 * spend[j::groups].sum())} if j % 2 == 0
                            else {})} for j in range(groups)]}
    rules["groups"] = [g for g in rules["groups"] if "max" in g]
    return AllocationProblem(free.names, free.curves, free.budget, free.lower, free.upper,
                             free.min_if_on, free.current,
                             rules=linear_rules(constraints_from_dict(rules, "benchmark"), names,
                                                exact_budget=free.budget))


def solve_slsqp(problem: AllocationProblem) -> float:
    """SLSQP with analytic gradients from the even split; the KPI, or NaN if a rule breaks."""
    n = len(problem.names)
    unit = problem.budget / n
    scale = problem.curves.value(np.full(n, unit)).sum()
    rows = np.zeros((len(problem.rules), n))
    for r, rule in enumerate(problem.rules):
        rows[r, rule.index] = rule.coef
    caps = np.array([rule.upper for rule in problem.rules]) / unit
    constraints = [{"type": "eq", "fun": lambda z: z.sum() - n, "jac": lambda z: np.ones(n)},
                   {"type": "ineq", "fun": lambda z: caps - rows @ z, "jac": lambda z: -rows}]
    # a floor of 1e-6 x the even split: Hill curves with s < 1 have an infinite marginal at 0,
    # where SLSQP's subproblem breaks down ("inequality constraints incompatible")
    lower = np.maximum(problem.lower / unit, SLSQP_FLOOR)
    start = np.clip(np.ones(n), lower, problem.upper / unit)
    result = minimize(lambda z: -problem.curves.value(z * unit).sum() / scale, start,
                      jac=lambda z: -problem.curves.marginal(z * unit) * unit / scale,
                      method="SLSQP", bounds=list(zip(lower, problem.upper / unit)),
                      constraints=constraints, options={"ftol": 1e-9, "maxiter": 1000})
    x = np.clip(result.x * unit, problem.lower, problem.upper)
    if not problem.is_feasible(x, tolerance=1e-6):
        return np.nan
    return problem.value(x)


SLSQP_FLOOR = 1e-6
SLSQP_GROUP_MAX_N = 300  # 1,000 channels take SLSQP minutes


def run_against_slsqp(sizes=(300, 1000), seeds: int = 3):
    print("group caps (10 disjoint groups, 5 capped): budgetopt vs the LP engine vs SLSQP\n")
    header = (f"{'n':>6}{'seed':>6}{'budgetopt s':>13}{'gap':>10}{'LP engine s':>13}{'gap':>10}"
              f"{'SLSQP s':>10}{'gap':>10}{'SLSQP/budgetopt':>17}")
    print(header)
    print("-" * len(header))
    for n in sizes:
        for seed in range(seeds):
            problem = capped_groups(n, seed)
            ours, ours_s = timed(solve, problem, SolverSettings(gap_tolerance=1e-6))
            engine, engine_s = timed(ConstrainedSolver(gap_tolerance=1e-6).solve, problem)
            peer, peer_s = timed(solve_slsqp, problem) if n <= SLSQP_GROUP_MAX_N else (None, None)
            values = [ours.total_kpi, engine.total_kpi] + ([peer] if peer is not None else [])
            best = np.nanmax(values)
            gap = lambda value: "fail" if np.isnan(value) else f"{(best - value) / best:.1e}"
            peer_cells = (f"{peer_s:>10.2f}{gap(peer):>10}{peer_s / ours_s:>16,.0f}x"
                          if peer is not None else f"{'-':>10}{'-':>10}{'-':>17}")
            print(f"{n:>6}{seed:>6}{ours_s:>13.3f}{gap(ours.total_kpi):>10}{engine_s:>13.2f}"
                  f"{gap(engine.total_kpi):>10}{peer_cells}")


if __name__ == "__main__":
    run()
