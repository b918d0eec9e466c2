"""Benchmark of the per-period planner: 20 channels x 13 weeks with pacing and flighting.

Seeded instances: the four concave families (and, in the second set, the first eight
channels S-shaped Hill curves, shape 1.5-3: issue 14's target), geometric adstock with decay
up to 0.7, carry-in, a seasonal peak in weeks 6-8, two pacing rules, flighting on every
third channel and a step-change limit on two channels (two of the S-shaped ones).
"""

from __future__ import annotations

import numpy as np
from budgetopt.optimizer.allocate import plan_budget
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.constraints import constraints_from_dict
from budgetopt.optimizer.settings import SolverSettings
from common import timed

CHANNELS, WEEKS = 20, 13
TIME_LIMIT = 30  # seconds; a plan stopped there reports the gap it proved


S_CHANNELS = 8


def instance(seed: int, s_curves: int):
    """Seed ``seed``'s instance; its first ``s_curves`` channels are S-shaped Hill curves."""
    rng = np.random.default_rng(seed)
    families = [("hill", "exponential", "logistic", "log")[i % 4] for i in range(CHANNELS)]
    s = rng.uniform(0.5, 1.0, CHANNELS)
    s[np.array([f != "hill" for f in families])] = 1.0
    shaped = np.arange(CHANNELS) < s_curves
    families = [("hill" if shaped[i] else f) for i, f in enumerate(families)]
    s[shaped] = rng.uniform(1.5, 3.0, s_curves)
    curves = CurveSet.from_lists(families, rng.uniform(5e4, 5e5, CHANNELS),
                                 rng.uniform(1e4, 1e5, CHANNELS), s)
    names = tuple(f"c{i}" for i in range(CHANNELS))
    model = MediaModel(names, curves, rng.uniform(0, 0.7, CHANNELS), np.zeros(CHANNELS, bool),
                       rng.uniform(5e3, 5e4, CHANNELS), rng.uniform(0, 1e4, CHANNELS))
    rules = {"pacing": [{"periods": [1, 4], "min_share": 0.25, "max_share": 0.4},
                        {"periods": [10, 13], "max_share": 0.3}],
             "channels": {**{names[i]: {"active_periods": [[1, 6], [9, 13]]}
                             for i in range(0, CHANNELS, 3)},
                          names[1]: {"max_step_change": 0.5}, names[2]: {"max_step_change": 0.5}}}
    multipliers = np.ones((CHANNELS, WEEKS))
    multipliers[:, 5:8] = 1.4
    return model, constraints_from_dict(rules, "benchmark"), multipliers


def run(seeds: int = 3):
    print(f"per-period planner, {CHANNELS} channels x {WEEKS} weeks, pacing + flighting\n")
    header = f"{'curves':<22}{'gap target':>11}{'seed':>6}{'seconds':>10}{'proven gap':>12}" \
             f"{'vs flat':>9}"
    print(header)
    print("-" * len(header))
    for s_curves, label in ((0, "concave"), (S_CHANNELS, f"{S_CHANNELS} S-curves")):
        for gap in (1e-4, 1e-6):
            for seed in range(seeds):
                model, rules, multipliers = instance(seed, s_curves)
                budget = float(model.current_spend.sum() * WEEKS)
                result, seconds = timed(
                    lambda: plan_budget(model, budget, WEEKS, constraints=rules,
                                        multipliers=multipliers,
                                        settings=SolverSettings(gap_tolerance=gap,
                                                                time_limit=TIME_LIMIT)))
                lift = result.total_kpi / result.flat_total_kpi - 1
                print(f"{label:<22}{gap:>11.0e}{seed:>6}{seconds:>10.2f}{result.certificate.gap:>12.1e}"
                      f"{lift:>+9.2%}")


if __name__ == "__main__":
    run()
