"""The weekly (per-period) plan: spend per channel per period as one problem.

Adstock links periods: a channel's level is a_t = sum_{s<=t} w_(t-s) x_s + carry_t, with w
its adstock kernel (geometric: gain * decay^l; delayed: decay^((l - peak)^2)) and carry_t what
the history's spend still adds, and its response in period t is multiplier_t * curve(a_t).
Every level is an affine expression of the spend variables, so the plan is solved on the same
certified piecewise-linear engine as allocations with rules: the in-plan KPI (plus the
carried-out tail with ``count_carryover``) is maximised under the budget, the channel totals'
rules (min, max, fixed, max_change, min_if_on, groups, ratios), pacing shares, per-period caps,
flighting and step-change limits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pulp

from budgetopt.optimizer.model.adstock import DELAYED_LENGTH
from budgetopt.optimizer.constants import GAP_LIMIT, OPTIMAL
from budgetopt.optimizer.problem.constraints import Constraints
from budgetopt.optimizer.errors import InfeasibleError, InputError
from budgetopt.optimizer.solvers.infeasibility import NamedRule, conflict_message
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.problem.allocation import AllocationProblem, build_problem
from budgetopt.optimizer.solvers import SolverSettings
from budgetopt.optimizer.solvers.constrained import add_rules
from budgetopt.optimizer.solvers.lp_engine import CurveTerms, PiecewiseModel, make_solver, solve_certified

__all__ = ["PlanResult", "plan_budget", "simulate"]

TAIL_PRECISION = 1e-7  # carry-out periods until decay^k falls below this
MAX_TAIL_PERIODS = 156
METHOD_PLAN = "LP/MILP over periods with adstock dynamics, refined to the gap (HiGHS via PuLP)"


@dataclass(frozen=True)
class PlanResult:
    """Spend and KPI per channel per period, shape ``(n_channels, n_periods)``.

    ``tail`` is each channel's KPI after the last period from the plan's carryover; it is part
    of ``total_kpi`` only when ``count_carryover`` is set. ``flat_*`` is the even plan: each
    channel's total spread evenly over its active periods.
    """

    names: tuple[str, ...]
    dates: tuple[str, ...]
    spend: np.ndarray
    kpi: np.ndarray
    tail: np.ndarray
    flat_spend: np.ndarray
    flat_kpi: np.ndarray
    flat_tail: np.ndarray
    count_carryover: bool
    status: str
    gap: float
    upper_bound: float
    rounds: int
    seconds: float
    method: str = METHOD_PLAN
    notes: tuple[str, ...] = ()

    @property
    def total_kpi(self) -> float:
        return float(self.kpi.sum() + (self.tail.sum() if self.count_carryover else 0.0))

    @property
    def flat_total_kpi(self) -> float:
        return float(self.flat_kpi.sum() + (self.flat_tail.sum() if self.count_carryover else 0))

    def summary(self) -> dict:
        """Totals and optimality facts, as written by ``--json``."""
        return {"method": self.method, "status": self.status, "gap": self.gap,
                "upper_bound": self.upper_bound, "spend": float(self.spend.sum()),
                "kpi": self.total_kpi, "kpi_in_periods": float(self.kpi.sum()),
                "kpi_carried_out": float(self.tail.sum()),
                "count_carryover": self.count_carryover, "flat_kpi": self.flat_total_kpi,
                "rounds": self.rounds, "seconds": self.seconds, "notes": list(self.notes)}

    def to_frame(self) -> pd.DataFrame:
        """plan.csv: one row per period and channel (period 1-based)."""
        channels, periods = self.spend.shape
        return pd.DataFrame({
            "period": np.repeat(np.arange(1, periods + 1), channels),
            "date": np.repeat(np.array(self.dates, dtype=object), channels),
            "channel": np.tile(np.array(self.names, dtype=object), periods),
            "spend": self.spend.T.ravel(), "kpi": self.kpi.T.ravel()})


def simulate(model: MediaModel, spend: np.ndarray, multipliers: np.ndarray, tail_periods: int):
    """Exact KPI per channel and period of a spend plan, and each channel's carried-out tail."""
    levels = adstock_levels(model, np.hstack([spend, np.zeros((len(model), tail_periods))]))
    response = np.vstack([model.curves.channel_value(i, levels[i]) for i in range(len(model))])
    periods = spend.shape[1]
    return response[:, :periods] * multipliers, response[:, periods:].sum(axis=1)


def adstock_levels(model: MediaModel, spend: np.ndarray) -> np.ndarray:
    """Each channel's level in each period of ``spend`` (channels x periods), carry included."""
    horizon = spend.shape[1]
    kernel = model.adstock_kernel(horizon)
    levels = model.carry(horizon)
    for c in range(len(model)):
        levels[c] += np.convolve(spend[c], kernel[c])[:horizon]
    return levels


def tail_length(model: MediaModel) -> int:
    """Carry-out periods that hold all but TAIL_PRECISION of every channel's carryover."""
    delayed = DELAYED_LENGTH - 1 if model.delayed.any() else 0
    decay = np.nan_to_num(model.decay[~model.delayed], nan=0.0).max(initial=0.0)
    if decay <= 0:
        return delayed
    geometric = int(min(MAX_TAIL_PERIODS, np.ceil(np.log(TAIL_PRECISION) / np.log(decay))))
    return max(geometric, delayed)


@dataclass(frozen=True)
class _PlanSpace:
    """What each spend variable may be: caps (0 outside flights) and step-change limits."""

    caps: np.ndarray  # (channels, periods)
    step: np.ndarray  # per channel, NaN where unlimited
    totals: AllocationProblem  # bounds and rules on channel totals


def plan_budget(model: MediaModel, budget: float, periods: int, *,
                constraints: Constraints | None = None, multipliers: np.ndarray | None = None,
                count_carryover: bool = False, dates: tuple[str, ...] | None = None,
                settings: SolverSettings = SolverSettings()) -> PlanResult:
    """The best spend per channel per period for ``budget`` over ``periods`` periods."""
    started = time.perf_counter()
    constraints = constraints or Constraints()
    space = _plan_space(model, budget, periods, constraints)
    multipliers = np.ones((len(model), periods)) if multipliers is None else multipliers
    tail = tail_length(model) if count_carryover else 0
    terms, expression_of = _terms(model, space, multipliers, tail)

    def build(lp, add_terms, skip=()):
        spend = _spend_variables(lp, space)
        responses = add_terms(expression_of(spend)) if add_terms else []
        lp += pulp.lpSum(responses)
        _add_plan_rules(lp, model, budget, space, constraints, spend, skip)
        return spend

    def evaluate(spend_variables):
        x = np.array([[v.value() or 0.0 for v in row] for row in spend_variables]).clip(0)
        kpi, carried = simulate(model, x, multipliers, tail)
        levels = adstock_levels(model, np.hstack([x, np.zeros((len(model), tail))]))
        values = np.concatenate([levels[:, :periods].ravel(), levels[:, periods:].ravel()])
        return kpi.sum() + carried.sum(), values, x

    solution = solve_certified(PiecewiseModel(terms), build, evaluate,
                               gap_tolerance=settings.gap_tolerance,
                               time_limit=settings.time_limit)
    if solution is None:
        raise InfeasibleError(_explain(model, budget, space, constraints, build))
    spend = solution.payload
    kpi, carried = simulate(model, spend, multipliers, tail_length(model))
    flat = _flat(spend, space.caps)
    flat_kpi, flat_carried = simulate(model, flat, multipliers, tail_length(model))
    gap = max(0.0, solution.bound - solution.value) / max(abs(solution.value), 1e-12)
    return PlanResult(
        names=model.names, dates=dates or ("",) * periods, spend=spend, kpi=kpi, tail=carried,
        flat_spend=flat, flat_kpi=flat_kpi, flat_tail=flat_carried,
        count_carryover=count_carryover, status=OPTIMAL if gap <= settings.gap_tolerance
        else GAP_LIMIT, gap=gap, upper_bound=solution.bound, rounds=solution.rounds,
        seconds=time.perf_counter() - started)


def _plan_space(model, budget, periods, constraints: Constraints) -> _PlanSpace:
    totals = build_problem(model, budget, periods=periods, constraints=constraints)
    caps = np.tile(totals.upper[:, None], (1, periods)).astype(float)
    step = np.full(len(model), np.nan)
    index = {name: i for i, name in enumerate(model.names)}
    problems = []
    for name, rules in constraints.channels.items():
        i = index[name]
        if rules.max_per_period is not None:
            caps[i] = np.minimum(caps[i], rules.max_per_period)
        if rules.active_periods is not None:
            active = np.zeros(periods, bool)
            for first, last in rules.active_periods:
                if last > periods:
                    problems.append(f"channels.{name}.active_periods: [{first}, {last}] goes "
                                    f"past the plan's {periods} periods")
                active[first - 1:last] = True
            caps[i, ~active] = 0.0
        if rules.max_step_change is not None:
            step[i] = rules.max_step_change
    for k, pace in enumerate(constraints.pacing):
        if pace.last > periods:
            problems.append(f"pacing[{k}].periods: [{pace.first}, {pace.last}] goes past the "
                            f"plan's {periods} periods")
    if problems:
        raise InputError.collected(f"{constraints.source}: plan rules do not fit the plan:",
                                   problems)
    return _PlanSpace(caps=caps, step=step, totals=totals)


def _spend_variables(lp, space: _PlanSpace):
    channels, periods = space.caps.shape
    return [[lp.add_variable(f"x{c}_{t}", 0.0, float(space.caps[c, t]))
             for t in range(periods)] for c in range(channels)]


def _terms(model: MediaModel, space: _PlanSpace, multipliers, tail: int):
    """One curve term per channel and period (and carry-out period), with its level's range."""
    channels, periods = space.caps.shape
    horizon = periods + tail
    kernel = model.adstock_kernel(horizon)
    caps = np.hstack([space.caps, np.zeros((channels, tail))])
    lows = model.carry(horizon)
    highs = lows + np.vstack([np.convolve(caps[c], kernel[c])[:horizon] for c in range(channels)])
    owner = np.repeat(np.arange(channels), periods)
    owner_tail = np.repeat(np.arange(channels), tail)
    scale = np.concatenate([multipliers.ravel(), np.ones(channels * tail)])
    curves = model.curves.subset(np.concatenate([owner, owner_tail])).scaled(1.0, scale)
    terms = CurveTerms(curves=curves,
                       lo=np.concatenate([lows[:, :periods].ravel(), lows[:, periods:].ravel()]),
                       hi=np.concatenate([highs[:, :periods].ravel(), highs[:, periods:].ravel()]),
                       off=np.zeros(len(curves), bool))

    def expression_of(spend):
        levels = []
        for c in range(channels):
            running = []
            for t in range(horizon):
                inside = [float(kernel[c, t - s]) * spend[c][s]
                          for s in range(min(t + 1, periods)) if kernel[c, t - s]]
                running.append(pulp.lpSum(inside) + float(lows[c, t]))
            levels.append(running)
        inside = [levels[c][t] for c in range(channels) for t in range(periods)]
        carried = [levels[c][t] for c in range(channels) for t in range(periods, horizon)]
        return inside + carried

    return terms, expression_of


def _add_plan_rules(lp, model, budget, space: _PlanSpace, constraints, spend, skip) -> None:
    """Budget and channel-total rules, pacing, and step changes (names as in ``_rule_names``)."""
    totals = [pulp.lpSum(row) for row in spend]
    problem = space.totals
    add_rules(lp, problem, totals, skip=skip)
    for c, total in enumerate(totals):
        if f"min:{c}" not in skip and problem.lower[c] > 0:
            lp += (total >= float(problem.lower[c]), f"min{c}")
        if f"max:{c}" not in skip and problem.upper[c] < budget:
            lp += (total <= float(problem.upper[c]), f"max{c}")
        if f"commit:{c}" not in skip and problem.min_if_on[c] > 0:
            on = lp.add_variable(f"on{c}", 0, 1, cat=pulp.LpBinary)
            lp += total >= float(problem.min_if_on[c]) * on
            lp += total <= float(budget) * on
    for k, pace in enumerate(constraints.pacing):
        if f"pacing:{k}" in skip:
            continue
        window = pulp.lpSum(spend[c][t] for c in range(len(spend))
                            for t in range(pace.first - 1, pace.last))
        if pace.min_share is not None:
            lp += (window >= pace.min_share * budget, f"pacing{k}_min")
        if pace.max_share is not None:
            lp += (window <= pace.max_share * budget, f"pacing{k}_max")
    for c, limit in enumerate(space.step):
        if np.isnan(limit) or f"step:{c}" in skip:
            continue
        active = space.caps[c] > 0
        for t in range(1, len(spend[c])):
            if active[t] and active[t - 1]:
                lp += spend[c][t] <= (1 + limit) * spend[c][t - 1]
                lp += spend[c][t] >= (1 - limit) * spend[c][t - 1]


def _flat(spend: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Each channel's total spread evenly over its active periods."""
    active = caps > 0
    counts = np.maximum(active.sum(axis=1, keepdims=True), 1)
    return np.where(active, spend.sum(axis=1, keepdims=True) / counts, 0.0)


def _explain(model, budget, space: _PlanSpace, constraints, build) -> str:
    reach = space.caps.sum()
    if reach < budget * (1 - 1e-9):
        return (f"per-period caps and flighting let the plan spend at most {reach:,.2f}, less "
                f"than the budget {budget:,.2f}; raise max_per_period, widen active_periods or "
                f"lower the budget.")
    rules = [NamedRule("budget", f"budget: total spend = {budget:,.2f}")]
    problem = space.totals
    rules += [NamedRule(rule.name, f"{rule.name}") for rule in problem.rules]
    for c, name in enumerate(model.names):
        room = space.caps[c].sum()
        if problem.lower[c] > 0:
            rules.append(NamedRule(f"min:{c}", f"channel '{name}' min: total >= "
                                               f"{problem.lower[c]:,.2f} (its caps allow "
                                               f"{room:,.2f})"))
        if problem.upper[c] < budget:
            rules.append(NamedRule(f"max:{c}", f"channel '{name}' max: total <= "
                                               f"{problem.upper[c]:,.2f}"))
        if problem.min_if_on[c] > 0:
            rules.append(NamedRule(f"commit:{c}", f"channel '{name}' min_if_on "
                                                  f"{problem.min_if_on[c]:,.2f}"))
        if not np.isnan(space.step[c]):
            rules.append(NamedRule(f"step:{c}", f"channel '{name}' max_step_change "
                                                f"{space.step[c]:g}"))
    for k, pace in enumerate(constraints.pacing):
        bounds = [f">= {pace.min_share:.0%}" if pace.min_share is not None else "",
                  f"<= {pace.max_share:.0%}" if pace.max_share is not None else ""]
        rules.append(NamedRule(f"pacing:{k}", f"pacing periods {pace.first}-{pace.last}: "
                                              f"{' and '.join(b for b in bounds if b)} of the "
                                              f"budget"))
    names = {rule.name for rule in rules}

    def feasible(active):
        lp = pulp.LpProblem("plan_feasibility", pulp.LpMaximize)
        build(lp, None, skip=names - active)
        lp.solve(make_solver(30.0))
        return pulp.LpStatus[lp.status] == "Optimal"

    return conflict_message(rules, feasible, what="plan")
