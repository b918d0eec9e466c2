"""The per-period plan solver: spend per channel per period as one certified problem.

Adstock links periods: a channel's level is a_t = sum_{s<=t} w_(t-s) x_s + carry_t, with w
its adstock kernel (geometric: gain * decay^l; delayed: decay^((l - peak)^2)) and carry_t what
the history's spend still adds, and its response in period t is multiplier_t * curve(a_t).
Every level is an affine expression of the spend variables. The in-plan KPI (plus the
carried-out tail with ``count_carryover``) is maximised under the budget, the channel totals'
rules (min, max, fixed, max_change, min_if_on, groups, ratios), pacing shares, per-period caps,
flighting and step-change limits, by the HiGHS LP of :mod:`plan_lp` (tangent cuts) and its
search in :mod:`plan_search` (S-curves by branching on their levels, minimum commitments on
their switches, with a Lagrangian bound by channel). The same rules as PuLP rows serve the
deletion filter that names the rules of an infeasible plan.
"""

from __future__ import annotations

import time

import numpy as np
import pulp
from budgetopt.optimizer.constants import (
    METHOD_COMMITTED_SUFFIX,
    METHOD_CONCAVE_PLAN,
    METHOD_PRICED_PLAN,
    METHOD_SHAPED_PLAN,
)
from budgetopt.optimizer.errors import InfeasibleError
from budgetopt.optimizer.model.dynamics import simulate, tail_length
from budgetopt.optimizer.problem.plan import PlanProblem, spread
from budgetopt.optimizer.result.certificate import certify
from budgetopt.optimizer.result.plan import PlanResult
from budgetopt.optimizer.settings import PLAN_GAP_TOLERANCE, SolverSettings
from budgetopt.optimizer.solvers.infeasibility import NamedRule, conflict_message, named_rules
from budgetopt.optimizer.solvers.lp_engine import (
    make_solver,
)
from budgetopt.optimizer.solvers.plan_search import solve_plan_lp
from budgetopt.optimizer.solvers.rules import (
    LOWER,
    UPPER,
    RuleKey,
    RuleKind,
    add_budget_and_rules,
    add_channel_totals,
)

__all__ = ["solve_plan", "plan_outcome", "PLAN_SETTINGS"]

PLAN_SETTINGS = SolverSettings(gap_tolerance=PLAN_GAP_TOLERANCE)


def solve_plan(problem: PlanProblem, settings: SolverSettings = PLAN_SETTINGS) -> PlanResult:
    """The best spend per channel per period of ``problem``, with its certificate."""
    started = time.perf_counter()
    model = problem.model
    solution = solve_plan_lp(problem, gap_tolerance=settings.gap_tolerance,
                             time_limit=settings.time_limit)
    if solution is None:
        raise InfeasibleError(_explain(problem, max(started + settings.time_limit
                                                    - time.perf_counter(), 1.0)))
    committed = bool((problem.totals.min_if_on > 0).any())
    method = METHOD_CONCAVE_PLAN if not solution.shaped else (
        METHOD_PRICED_PLAN if np.isfinite(solution.dual) else METHOD_SHAPED_PLAN)
    if committed:
        method += METHOD_COMMITTED_SUFFIX
    effort, effort_label = ((solution.nodes, "branch-and-bound node(s)")
                            if solution.shaped or committed
                            else (solution.rounds, "refinement round(s)"))
    scale = problem.totals.scale
    certificate = certify(method, solution.value, solution.bound, settings.gap_tolerance,
                          scale=scale, effort=effort, effort_label=effort_label,
                          seconds=time.perf_counter() - started)
    return PlanResult(names=model.names, dates=problem.dates,
                      **plan_outcome(problem, solution.payload),
                      count_carryover=problem.count_carryover, certificate=certificate,
                      period=model.period, cells=model.cells)


def plan_outcome(problem: PlanProblem, spend: np.ndarray) -> dict:
    """A plan's spend, KPI per period and carry-out, and the same for its flat version (each
    channel's total spread over its active periods): the matching :class:`PlanResult` fields."""
    model, tail = problem.model, tail_length(problem.model)
    kpi, carried = simulate(model, spend, problem.multipliers, tail)
    flat = spread(spend.sum(axis=1), problem.caps)
    flat_kpi, flat_carried = simulate(model, flat, problem.multipliers, tail)
    return {"spend": spend, "kpi": kpi, "tail": carried, "flat_spend": flat,
            "flat_kpi": flat_kpi, "flat_tail": flat_carried}


def _spend_variables(lp, problem: PlanProblem):
    channels, periods = problem.caps.shape
    return [[lp.add_variable(f"x{c}_{t}", 0.0, float(problem.caps[c, t]))
             for t in range(periods)] for c in range(channels)]


def _add_plan_rules(lp, problem: PlanProblem, spend, skip) -> None:
    """Budget and channel-total rules, pacing, and step changes, each row named by its key."""
    totals = [pulp.lpSum(row) for row in spend]
    add_budget_and_rules(lp, problem.totals, totals, skip=skip)
    add_channel_totals(lp, problem.totals, totals, skip=skip)
    for k, pace in enumerate(problem.pacing):
        key = RuleKey(RuleKind.PACING, k)
        if key in skip:
            continue
        window = pulp.lpSum(spend[c][t] for c in range(len(spend))
                            for t in range(pace.first - 1, pace.last))
        if pace.min_share is not None:
            lp += (window >= pace.min_share * problem.budget, key.row(LOWER))
        if pace.max_share is not None:
            lp += (window <= pace.max_share * problem.budget, key.row(UPPER))
    for c, limit in enumerate(problem.step):
        if np.isnan(limit) or RuleKey(RuleKind.STEP, c) in skip:
            continue
        active = problem.caps[c] > 0
        for t in range(1, len(spend[c])):
            if active[t] and active[t - 1]:
                lp += spend[c][t] <= (1 + limit) * spend[c][t - 1]
                lp += spend[c][t] >= (1 - limit) * spend[c][t - 1]


def _explain(problem: PlanProblem, time_limit: float) -> str:
    reach = problem.caps.sum()
    if reach < problem.budget * (1 - 1e-9):
        return (f"per-period caps and flighting let the plan spend at most {reach:,.2f}, less "
                f"than the budget {problem.budget:,.2f}; raise max_per_period, widen "
                f"active_periods or lower the budget.")
    rules = named_rules(problem.totals)
    for c, name in enumerate(problem.model.names):
        if not np.isnan(problem.step[c]):
            rules.append(NamedRule(RuleKey(RuleKind.STEP, c), f"channel '{name}' "
                                   f"max_step_change {problem.step[c]:g}"))
    for k, pace in enumerate(problem.pacing):
        bounds = [f">= {pace.min_share:.0%}" if pace.min_share is not None else "",
                  f"<= {pace.max_share:.0%}" if pace.max_share is not None else ""]
        rules.append(NamedRule(RuleKey(RuleKind.PACING, k), f"pacing periods "
                               f"{pace.first}-{pace.last}: "
                               f"{' and '.join(b for b in bounds if b)} of the budget"))
    keys = {rule.key for rule in rules}

    def feasible(active):
        lp = pulp.LpProblem("plan_feasibility", pulp.LpMaximize)
        _add_plan_rules(lp, problem, _spend_variables(lp, problem), keys - active)
        lp.solve(make_solver(time_limit))
        return pulp.LpStatus[lp.status] == "Optimal"

    return conflict_message(rules, feasible, what="plan")
