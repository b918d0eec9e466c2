"""A long plan over many channels (the crash of issue 14): every level's tangents stay within
what HiGHS accepts, so the solve returns a certified plan instead of failing."""

import numpy as np
import pytest
from budgetopt.optimizer.allocate import plan_budget
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.settings import SolverSettings


@pytest.mark.slow
def test_a_fifty_channel_year_long_plan_solves():
    rng = np.random.default_rng(0)
    channels, weeks = 50, 52
    families = [("exponential", "logistic", "log", "hill")[i % 4] for i in range(channels)]
    curves = CurveSet.from_lists(families, rng.uniform(5e4, 5e5, channels),
                                 rng.uniform(1e4, 1e5, channels), rng.uniform(0.5, 1.0, channels))
    model = MediaModel(tuple(f"c{i}" for i in range(channels)), curves,
                       rng.uniform(0, 0.7, channels), np.zeros(channels, bool),
                       rng.uniform(5e3, 5e4, channels), rng.uniform(0, 1e4, channels))
    budget = float(model.current_spend.sum() * weeks)
    result = plan_budget(model, budget, weeks, settings=SolverSettings(gap_tolerance=1e-2,
                                                                      time_limit=60))
    assert result.spend.sum() == pytest.approx(budget, rel=1e-6)
    assert result.certificate.gap <= 1e-2
    assert result.total_kpi >= result.flat_total_kpi * (1 - 1e-9)
