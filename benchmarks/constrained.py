"""Benchmark of the rule-aware engine: groups, ramp limits and minimum commitments.

Instances (seeded): n channels of the four concave families with current spend budget / n,
ramp limits of ±30 % around it (max_change), and g groups of every g-th channel with a share
between half and twice their fair share; or n channels, half of them with a minimum commitment
(min_if_on) of 0.5–1.5 × budget / n, a third of them S-shaped. Time and proven gap per instance.
"""

from __future__ import annotations

import numpy as np
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.problem.allocation import AllocationProblem, linear_rules
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.settings import SolverSettings
from budgetopt.optimizer.solvers import solve
from common import timed

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
    print("rule-aware engine (HiGHS via PuLP), gap tolerance 1e-6\n")
    header = f"{'instance':<20}{'n':>6}{'seed':>6}{'seconds':>10}{'proven gap':>12}  method"
    print(header)
    print("-" * (len(header) + 40))
    for label, n, settings in CASES:
        for seed in range(seeds):
            result, seconds = timed(solve, instance(n, seed=seed, **settings),
                                    SolverSettings(gap_tolerance=1e-6, time_limit=60))
            print(f"{label:<20}{n:>6}{seed:>6}{seconds:>10.2f}{result.certificate.gap:>12.1e}  "
                  f"{result.certificate.method}")


if __name__ == "__main__":
    run()
