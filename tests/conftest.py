import os

import numpy as np
import pytest
from budgetopt.cli.main import cli
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.allocation import AllocationProblem
from click.testing import CliRunner
from hypothesis import settings

# CI runs the property tests on a fixed example sequence so that a run is reproducible;
# local runs explore new examples each time.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def run(*args):
    """The budgetopt command line, in process, with every argument as text."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def steady_model(curves: CurveSet, current_spend) -> MediaModel:
    """A model of channels c0, c1, ... with these curves and current spend, no adstock."""
    n = len(curves)
    return MediaModel(names=tuple(f"c{i}" for i in range(n)), curves=curves,
                      decay=np.full(n, np.nan), normalized=np.zeros(n, bool),
                      current_spend=np.asarray(current_spend, float), carry_in=np.zeros(n))


def make_problem(families, beta, k, s=None, *, budget, lower=None, upper=None, min_if_on=None,
                 current=None):
    """An AllocationProblem from plain lists (upper defaults to the budget)."""
    n = len(families)
    curves = CurveSet.from_lists(families, beta, k, s)
    as_array = lambda values, default: np.full(n, default, float) if values is None else \
        np.asarray(values, float)
    return AllocationProblem(
        names=tuple(f"c{i}" for i in range(n)), curves=curves, budget=float(budget),
        lower=as_array(lower, 0.0), upper=np.minimum(as_array(upper, budget), budget),
        min_if_on=as_array(min_if_on, 0.0), current=as_array(current, 0.0))


def random_problem(rng, n, families, *, s_range=(0.4, 1.0), bounded=True):
    fam = [families[i % len(families)] for i in range(n)]
    beta = rng.uniform(50, 500, n)
    k = rng.uniform(10, 200, n)
    s = rng.uniform(*s_range, n)
    budget = rng.uniform(0.2, 2.0) * k.sum()
    lower = np.zeros(n)
    upper = np.full(n, budget)
    if bounded:
        pick = rng.random(n) < 0.3
        lower[pick] = rng.uniform(0, 0.5, pick.sum()) * budget / n
        cap = rng.random(n) < 0.3
        upper[cap] = lower[cap] + rng.uniform(0.05, 1.0, cap.sum()) * budget / n
        if upper.sum() < budget:
            upper[np.argmax(~cap)] = budget
    return make_problem(fam, beta, k, s, budget=budget, lower=lower, upper=upper)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
