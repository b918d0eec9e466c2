"""One call from a model, rules and an objective to a certified allocation or plan."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from budgetopt.optimizer.errors import ParameterError
from budgetopt.optimizer.model.dynamics import simulate, tail_length
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.allocation import AllocationProblem, build_problem
from budgetopt.optimizer.problem.budget import Budget, parse_budget
from budgetopt.optimizer.problem.constraints import Constraints
from budgetopt.optimizer.problem.objectives import TARGET_KPI, TARGET_ROI, Objective
from budgetopt.optimizer.problem.plan import PlanProblem, build_plan_problem, spread
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.result.plan import PlanResult
from budgetopt.optimizer.result.uncertainty import (
    EXPECTED_OPTIMUM,
    POINT_OPTIMUM,
    compare_plans,
    guarded_move,
    guarded_path,
)
from budgetopt.optimizer.settings import SolverSettings
from budgetopt.optimizer.solvers import solve
from budgetopt.optimizer.solvers.expected import expected_optimum
from budgetopt.optimizer.solvers.plan import PLAN_SETTINGS, plan_outcome, solve_plan
from budgetopt.optimizer.solvers.targets import search_spend

__all__ = ["allocate", "plan_budget", "resolve_budget", "budget_to_current_ratio", "guard_result",
           "guard_plan", "HORIZON_WARNING_RATIO"]

HORIZON_WARNING_RATIO = 3.0  # a one-period budget this many times the current spend is suspect
RARE_MEDIA_SHARE = 0.05  # a media KPI per period reached in fewer of the history's periods is rare


def budget_to_current_ratio(model: MediaModel, budget: float, periods: int) -> float | None:
    """The budget per period over the current plan's spend per period (None: unknown)."""
    current = float(np.nansum(model.current_spend))
    if np.isnan(model.current_spend).all() or current <= 0:
        return None
    return budget / periods / current


def resolve_budget(model: MediaModel, budget, constraints: Constraints | None,
                   periods: int) -> float:
    """The budget given (an amount, "+20%", or a :class:`Budget`), else the constraints
    file's, else the current plan's total over the horizon. A change such as "+20%" is on the
    current plan's total over the ``periods``."""
    if budget is not None:
        spec = budget if isinstance(budget, Budget) else parse_budget(budget)
    elif constraints is not None and constraints.budget is not None:
        spec = constraints.budget
    else:
        spec = Budget(change=0.0)
    current = (None if np.isnan(model.current_spend).all()
               else float(np.nansum(model.current_spend) * periods))
    if spec.change is not None and current is None and budget is None:
        raise ParameterError("budget", "is missing: give one, set budget in the constraints "
                                       "file, or give the model's channels a current_spend.")
    return spec.resolve(current)


def allocate(model: MediaModel, budget: float | None = None, *, periods: int = 1,
             constraints: Constraints | None = None, objective: Objective | None = None,
             efficiency=1.0, point_estimate: bool = False, allow_extrapolation: bool = False,
             settings: SolverSettings = SolverSettings()) -> AllocationResult:
    """Best allocation of ``budget`` (a horizon total) over ``periods`` periods at steady state.

    ``efficiency`` (per channel, or one number) multiplies what the spend buys: 0.9 means the
    curve is evaluated at 0.9 x spend. With parameter draws in the model the result carries the
    KPI percentiles of both plans and the uplift paired draw by draw, and (unless
    ``point_estimate``) the answer moves from the current plan only as far as the draws
    support (:func:`guarded_move`; target KPI and ROI answers are not guarded); ``guard`` on
    the result says how it chose.

    For ``target_kpi`` and ``target_roi`` the budget is a ceiling and the spend is searched:
    the least spend whose best plan reaches the KPI target, or the most spend whose best plan
    keeps the ROI target.

    A channel stays within the per-period spend its history shows unless the rules say
    otherwise or ``allow_extrapolation`` is set (see :func:`build_problem`); the fit's warnings
    about a channel the result spends on come back as notes.
    """
    objective = objective or Objective()
    budget = resolve_budget(model, budget, constraints, periods)
    build = lambda amount, goal: build_problem(model, amount, periods=periods,
                                               constraints=constraints, objective=goal,
                                               efficiency=efficiency,
                                               allow_extrapolation=allow_extrapolation)
    if objective.kind in (TARGET_KPI, TARGET_ROI):
        result = search_spend(build, budget, objective, settings)
    else:
        result = solve(build(budget, objective), settings)
    result = replace(result, objective=objective.describe())
    result = _never_worse_than_current(result.problem, result)
    if model.draws is not None and not point_estimate and objective.kind not in (TARGET_KPI,
                                                                                 TARGET_ROI):
        result = guard_result(model, result, periods, efficiency)
    uncertainty = compare_plans(model, result.problem.current, result.spend, periods=periods,
                                efficiency=efficiency)
    return replace(result, uncertainty=uncertainty, notes=(*result.notes,
                                                           *_trust_notes(model, result)))


def _trust_notes(model: MediaModel, result: AllocationResult) -> list[str]:
    """The fit's warnings about channels in the answer, and channels beyond their history."""
    notes = [f"fit: {warning}" for warning in (model.fit.warnings if model.fit else ())]
    beyond = [model.names[i] for i in np.flatnonzero(result.beyond_history)]
    if beyond:
        notes.append(f"beyond history: {', '.join(beyond[:5])} spend more per period than "
                     f"their history ever did; their curves are extrapolated there")
    periods = result.problem.periods
    rare = _rare_media_note(model, result.total_kpi / periods, result.total_kpi_current / periods)
    return notes + ([rare] if rare else [])


def _rare_media_note(model: MediaModel, per_period: float, current_per_period: float
                     ) -> str | None:
    """A note when an answer asks for more KPI from media per period than all but a few of
    the history's periods got (as fitted): each channel may be inside its own spend range
    while the channels together are where the history hardly went."""
    rare = _rarely_reached(model, per_period, current_per_period)
    if rare is None:
        return None
    return (f"beyond history: the answer's KPI from media, {per_period:,.0f} a period, is more "
            f"than media earned in all but {rare[0]} of the history's {rare[1]} periods (as "
            f"fitted); the curves are extrapolated jointly there, so test the move before "
            f"making all of it")


def _rarely_reached(model: MediaModel, per_period: float, current_per_period: float
                    ) -> tuple[int, int] | None:
    """(periods that reached it, periods) when ``per_period`` KPI from media is above the
    current plan's and fewer than RARE_MEDIA_SHARE of the history's periods reached it."""
    series = model.fit.series if model.fit else None
    if series is None or not series.contributions or per_period <= current_per_period:
        return None
    reached, total = series.periods_reaching(per_period), len(series.dates)
    return None if reached >= RARE_MEDIA_SHARE * total else (reached, total)


def _rare_plan_note(problem: PlanProblem, result: PlanResult) -> str | None:
    """The same note for a plan's busiest period, its KPI from media taken before the
    season's multiplier (the history's media effects have none) and compared with the
    current spend's steady state."""
    model = problem.model
    with np.errstate(divide="ignore", invalid="ignore"):
        unseasoned = np.where(problem.multipliers > 0, result.kpi / problem.multipliers, 0.0)
    per_period = unseasoned.sum(axis=0)
    busiest = int(np.argmax(per_period))
    current = float(model.steady_state_curves().value(np.nan_to_num(model.current_spend)).sum())
    rare = _rarely_reached(model, float(per_period[busiest]), current)
    if rare is None:
        return None
    over = sum(_rarely_reached(model, float(kpi), current) is not None for kpi in per_period)
    when = result.dates[busiest] or f"period {busiest + 1}"
    return (f"beyond history: in {over} of the plan's {len(per_period)} periods the plan asks "
            f"media for more KPI (before the season's multiplier; most in {when}: "
            f"{per_period[busiest]:,.0f}) than media earned in all "
            f"but {rare[0]} of the history's {rare[1]} periods (as fitted); the curves are "
            f"extrapolated jointly there, so test those periods' spend before committing it")


def guard_result(model: MediaModel, result: AllocationResult, periods: int, efficiency=1.0
                 ) -> AllocationResult:
    """The answer moved from the current plan only as far as the model's draws support, along
    the line to the point fit's optimum or to the draws' expected-KPI optimum."""
    problem = result.problem
    current = problem.current
    start = current if problem.is_feasible(current) else _scaled_current(problem)
    if start is None:
        return replace(result, guard="not guarded: no plan near the current one keeps the "
                                     "rules, to move from")
    draws = [m.horizon_curves(periods, efficiency) for m in model.draw_models()]
    destinations = {POINT_OPTIMUM: result.spend}
    expected = expected_optimum(problem, draws, result.spend)
    if expected is not None:
        destinations[EXPECTED_OPTIMUM] = expected
    move = guarded_move(draws, start, current, destinations, feasible=problem.is_feasible)
    if move.is_point_optimum:
        return replace(result, guard=move.rule)
    # away from the optimum no multiplier prices the budget, and no rule's price applies
    return replace(result, spend=move.spend, guard=move.rule, shadow_prices=(),
                   multiplier=float("nan"))


def _scaled_current(problem: AllocationProblem) -> np.ndarray | None:
    """The current plan scaled to the budget, where that keeps the rules."""
    total = problem.current.sum()
    if total <= 0:
        return None
    scaled = problem.current * (problem.budget / total if not problem.budget_is_ceiling
                                else min(1.0, problem.budget / total))
    return scaled if problem.is_feasible(scaled) else None


def _never_worse_than_current(problem: AllocationProblem,
                              result: AllocationResult) -> AllocationResult:
    """Keep the current plan when it meets every rule and is no worse than the answer found."""
    current = problem.current
    if not problem.is_feasible(current) or \
            problem.objective_value(current) <= result.objective_value:
        return result
    return replace(result, spend=current.copy(),
                   notes=(*result.notes, "the current plan beats every plan found within the "
                          "gap; it is kept"))


def plan_budget(model: MediaModel, budget: float, periods: int, *,
                constraints: Constraints | None = None, multipliers: np.ndarray | None = None,
                count_carryover: bool = False, dates: tuple[str, ...] | None = None,
                max_step_change: float | None = None, allow_extrapolation: bool = False,
                point_estimate: bool = False,
                settings: SolverSettings = PLAN_SETTINGS) -> PlanResult:
    """The best spend per channel per period for ``budget`` over ``periods`` periods.

    With parameter draws in the model (and unless ``point_estimate``) the plan moves from
    the current one only as far as the draws support (:func:`guard_plan`). A note names the
    channels whose first or last periods move far from their mid-plan level (the edge effect
    of the carry-in and of the carryover lost after the plan)."""
    problem = build_plan_problem(model, budget, periods, constraints=constraints,
                                 multipliers=multipliers, count_carryover=count_carryover,
                                 dates=dates, max_step_change=max_step_change,
                                 allow_extrapolation=allow_extrapolation)
    result = solve_plan(problem, settings)
    if model.draws is not None and not point_estimate:
        result = guard_plan(problem, result)
    notes = [note for note in (edge_note(problem, result), _rare_plan_note(problem, result))
             if note]
    return replace(result, notes=(*result.notes, *notes))


def guard_plan(problem: PlanProblem, result: PlanResult) -> PlanResult:
    """The plan moved from the current one only as far as the model's draws support.

    The current plan is each channel's current spend in every period; the path starts from
    its channel totals spread over their active periods and scaled to the budget (where that
    keeps the plan's rules), and each candidate is judged by its KPI over the plan's periods
    (and carry-out, when counted) minus the current plan's, draw by draw."""
    model = problem.model
    current_spend = np.nan_to_num(model.current_spend)
    current = np.tile(current_spend[:, None], (1, problem.periods))
    start = spread(current_spend * problem.periods, problem.caps)
    if start.sum() > 0:
        start = start * problem.budget / start.sum()
    if start.sum() <= 0 or not problem.is_feasible(start):
        return replace(result, guard="not guarded: the current plan, spread over the flights "
                                     "and scaled to the budget, breaks the plan's rules, so "
                                     "there is no plan near it to move from")
    draws = model.draw_models()
    now = np.array([_plan_kpi(problem, draw, current) for draw in draws])
    uplift = lambda spend: np.array([_plan_kpi(problem, draw, spend)
                                     for draw in draws]) - now
    move = guarded_path(start, {POINT_OPTIMUM: result.spend}, uplift, problem.is_feasible)
    if move.is_point_optimum:
        return replace(result, guard=move.rule)
    return replace(result, **plan_outcome(problem, move.spend), guard=move.rule)


def _plan_kpi(problem: PlanProblem, model: MediaModel, spend: np.ndarray) -> float:
    """A plan's KPI under ``model`` (one draw): in its periods, plus the carry-out if counted."""
    kpi, carried = simulate(model, spend, problem.multipliers, tail_length(model))
    return float(kpi.sum() + (carried.sum() if problem.count_carryover else 0.0))


EDGE_PERIODS = 2  # periods at each end of a plan checked for the edge effect
EDGE_MOVE = 0.5  # an edge period this far from the channel's mid-plan median is noted


def edge_note(problem, result: PlanResult) -> str | None:
    """Channels whose spend in the first or last periods is far from their mid-plan median."""
    spend, periods = result.spend, result.spend.shape[1]
    if periods < 2 * EDGE_PERIODS + 2:
        return None
    middle = np.median(spend[:, EDGE_PERIODS:-EDGE_PERIODS], axis=1)
    edges = np.hstack([spend[:, :EDGE_PERIODS], spend[:, -EDGE_PERIODS:]])
    active = problem.caps[:, :EDGE_PERIODS].min(axis=1) > 0
    moved = [result.names[c] for c in range(len(result.names))
             if active[c] and middle[c] > 0 and np.isnan(problem.step[c])
             and np.any(np.abs(edges[c] / middle[c] - 1) > EDGE_MOVE)]
    if not moved:
        return None
    return (f"{', '.join(moved[:5])}: spend in the first or last {EDGE_PERIODS} periods moves "
            f"more than {EDGE_MOVE:.0%} from mid-plan; that is the edge effect of the carryover "
            f"from the history and of the carryover lost after the plan. A step-change limit "
            f"(max_step_change, e.g. 0.3) gives a smoother, bookable plan.")
