"""Plans of concave curves without commitments: one LP kept in HiGHS, cut until certified.

With concave curves a plan is a convex programme, so tangents of each curve term (a channel's
curve at its adstocked level in one period) bound it from above everywhere: one LP, no
binaries. Its rows are built from arrays straight into HiGHS (highspy) rather than through
PuLP, and each round only adds the tangents at the answer's levels where the LP's bound
exceeds the curve, then re-solves from the previous basis. The LP optimum bounds the plan's
KPI from above and its answer, evaluated on the true dynamics, from below; rounds continue
until they meet within the gap. The rules are those of the general planner (the budget,
channel totals, group and ratio rules, pacing, caps and flighting, step changes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.errors import SolverError
from budgetopt.optimizer.model.adstock import steady_state_scale
from budgetopt.optimizer.model.dynamics import adstock_levels, simulate, tail_length
from budgetopt.optimizer.problem.plan import PlanProblem
from budgetopt.optimizer.result.certificate import relative_gap
from budgetopt.optimizer.solvers.lp_engine import MAX_CUT_RISE, new_highs

__all__ = ["ConcavePlan", "solve_concave_plan", "applies"]

FIRST_TANGENTS = (0.5, 1.0, 2.0)  # initial tangent points, as multiples of
# the level the current spend keeps up (where the answer usually is)
MAX_ROUNDS = 200
CUT_SHARE = 1.0  # a round cuts the terms whose excess is above this share of the mean excess
INTERIOR_FIRST = 5000  # from this many curve terms the first LP is solved by interior point
# (8x faster than the dual simplex from scratch at 26,000 terms); its crossover leaves the basis
# that each later round's dual simplex starts from


@dataclass(frozen=True)
class ConcavePlan:
    """The best plan found (``payload``: channels x periods), its true objective, the proven
    bound and the rounds it took."""

    payload: np.ndarray
    value: float
    bound: float
    rounds: int


def applies(problem: PlanProblem) -> bool:
    """Concave curves, no minimum commitments, no price on spend: one LP suffices."""
    totals = problem.totals
    return bool(totals.curves.is_concave().all() and not (totals.min_if_on > 0).any()
                and totals.price == 0)


def solve_concave_plan(problem: PlanProblem, *, gap_tolerance: float, time_limit: float
                       ) -> ConcavePlan | None:
    """The certified plan, or None when the rules admit no plan."""
    deadline = time.perf_counter() + time_limit
    lp = _PlanLP(problem)
    best, bound, rounds = None, np.inf, 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        if not lp.solve(max(deadline - time.perf_counter(), 1.0)):
            if best is None and lp.infeasible:
                return None
            if best is None:
                raise SolverError(f"the plan's LP stopped ({lp.status.name}) before finding any "
                                  f"plan; raise the time limit (now {time_limit:g} s).")
            break
        bound = min(bound, lp.objective)
        spend = lp.spend()
        value, levels = lp.evaluate(spend)
        if best is None or value > best.value:
            best = ConcavePlan(spend, value, bound, rounds)
        if relative_gap(bound, best.value, lp.scale) <= gap_tolerance or \
                time.perf_counter() > deadline:
            break
        if lp.cut(levels, gap_tolerance) == 0:
            break
    return ConcavePlan(best.payload, best.value, max(bound, best.value), rounds)


class _PlanLP:
    """Spend x (channels x periods) and a response bound y per curve term, in one HiGHS LP."""

    def __init__(self, problem: PlanProblem):
        import highspy

        self.problem = problem
        model = problem.model
        self.channels, self.periods = problem.caps.shape
        self.tail = tail_length(model) if problem.count_carryover else 0
        horizon = self.periods + self.tail
        kernel = model.adstock_kernel(horizon)
        carry = model.carry(horizon)
        multipliers = np.hstack([problem.multipliers, np.ones((self.channels, self.tail))])
        owner = np.repeat(np.arange(self.channels), horizon)
        self.curves = model.curves.subset(owner).scaled(1.0, multipliers.ravel())
        self.carry = carry.ravel()
        caps = np.hstack([problem.caps, np.zeros((self.channels, self.tail))])
        highs = carry + np.vstack([np.convolve(caps[c], kernel[c])[:horizon]
                                   for c in range(self.channels)])
        self.low, self.high = self.carry, highs.ravel()
        self.scale = problem.totals.scale
        # term (c, h): its level is carry + sum over s <= h of kernel[c, h - s] x[c, s]
        term_cols, term_values = [], []
        for c in range(self.channels):
            for h in range(horizon):
                s = np.arange(min(h + 1, self.periods))
                weights = kernel[c, h - s]
                keep = weights != 0
                term_cols.append(c * self.periods + s[keep])
                term_values.append(weights[keep])
        self.term_cols = np.concatenate(term_cols)
        self.term_values = np.concatenate(term_values)
        self.term_counts = np.array([len(columns) for columns in term_cols])
        self.n_x, self.n_y = self.channels * self.periods, self.channels * horizon

        self.highs = new_highs()
        self._rounds = 0
        inf = highspy.kHighsInf
        self.inf = inf
        n_x, n_y = self.n_x, self.n_y
        # columns: spend x, then each term's level a, then its response bound y
        self.highs.addVars(n_x, np.zeros(n_x), problem.caps.ravel().astype(float))
        self.highs.addVars(n_y, self.low, self.high)
        self.highs.addVars(n_y, np.full(n_y, -inf), self.curves.value(self.high))
        self.highs.changeColsCost(n_y, np.arange(n_x + n_y, n_x + 2 * n_y), -np.ones(n_y))
        # a - sum(kernel x) = carry: the level named once, so each tangent is a 2-entry row
        counts = self.term_counts + 1
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        index = np.empty(counts.sum(), np.int64)
        value = np.empty(counts.sum())
        index[starts], value[starts] = n_x + np.arange(n_y), 1.0
        inside = np.setdiff1d(np.arange(counts.sum()), starts)
        index[inside], value[inside] = self.term_cols, -self.term_values
        self._add_rows(self.carry, self.carry, starts, index, value)
        self._add_rules()
        typical = problem.budget / problem.periods / self.channels
        current = np.where(model.current_spend > 0, model.current_spend, typical)
        steady = np.repeat(current * steady_state_scale(model.decay, model.normalized,
                                                        model.peak), horizon)
        every = np.arange(n_y)
        for multiple in FIRST_TANGENTS:
            self._add_cuts(every, np.clip(self.low + multiple * steady, self.low, self.high))
        # where a curve is vertical at the answer (Hill s < 1 at 0) the next tangent goes this
        # far right of it, halved each time: the bound's excess there shrinks geometrically
        self.foot = np.maximum(FIRST_TANGENTS[0] * steady, 1e-12)

    # --- rows ------------------------------------------------------------------------------
    def _add_rows(self, lower, upper, starts, index, value) -> None:
        lower, upper = np.asarray(lower, float), np.asarray(upper, float)
        self.highs.addRows(len(lower), lower, upper, len(index), np.asarray(starts, np.int32),
                           np.asarray(index, np.int32), np.asarray(value, float))

    def _add_rules(self) -> None:
        """The budget, channel totals, linear rules on totals, pacing and step changes."""
        problem, totals = self.problem, self.problem.totals
        periods, inf = self.periods, self.inf
        rows: list[tuple[float, float, np.ndarray, np.ndarray]] = []  # (lo, hi, cols, values)
        everything = np.arange(self.n_x)
        rows.append((-inf if totals.budget_is_ceiling else totals.budget, totals.budget,
                     everything, np.ones(self.n_x)))
        cells = lambda c: c * periods + np.arange(periods)
        for c in range(self.channels):
            low = totals.lower[c] if totals.lower[c] > 0 else -inf
            high = totals.upper[c] if totals.upper[c] < totals.budget else inf
            if np.isfinite(low) or np.isfinite(high):
                rows.append((low, high, cells(c), np.ones(periods)))
        for rule in totals.rules:
            columns = np.concatenate([cells(c) for c in rule.index])
            rows.append((rule.lower if np.isfinite(rule.lower) else -inf,
                         rule.upper if np.isfinite(rule.upper) else inf, columns,
                         np.repeat(rule.coef, periods)))
        for pace in problem.pacing:
            window = np.concatenate([c * periods + np.arange(pace.first - 1, pace.last)
                                     for c in range(self.channels)])
            rows.append((-inf if pace.min_share is None else pace.min_share * totals.budget,
                         inf if pace.max_share is None else pace.max_share * totals.budget,
                         window, np.ones(len(window))))
        for c, limit in enumerate(problem.step):
            if np.isnan(limit):
                continue
            active = problem.caps[c] > 0
            for t in range(1, periods):
                if active[t] and active[t - 1]:  # (1 - limit) x[t-1] <= x[t] <= (1 + limit) x[t-1]
                    pair = np.array([c * periods + t, c * periods + t - 1])
                    rows.append((-inf, 0.0, pair, np.array([1.0, -(1 + limit)])))
                    rows.append((0.0, inf, pair, np.array([1.0, -(1 - limit)])))
        starts = np.cumsum([0, *[len(r[2]) for r in rows[:-1]]])
        self._add_rows([r[0] for r in rows], [r[1] for r in rows], starts,
                       np.concatenate([r[2] for r in rows]), np.concatenate([r[3] for r in rows]))

    def _add_cuts(self, terms: np.ndarray, points: np.ndarray) -> int:
        """y[term] <= f(p) + f'(p) (a[term] - p) at each term's point p."""
        curves = self.curves.subset(terms)
        value, slope = curves.value(points), curves.marginal(points)
        keep = np.isfinite(slope) & (np.abs(slope) * np.maximum(self.high[terms], 1.0)
                                     < MAX_CUT_RISE)
        terms, points, value, slope = terms[keep], points[keep], value[keep], slope[keep]
        if not len(terms):
            return 0
        index = np.column_stack([self.n_x + self.n_y + terms, self.n_x + terms]).ravel()
        coefficient = np.column_stack([np.ones(len(terms)), -slope]).ravel()
        self._add_rows(np.full(len(terms), -self.inf), value - slope * points,
                       np.arange(0, 2 * len(terms), 2), index, coefficient)
        return len(terms)

    # --- solving ---------------------------------------------------------------------------
    def solve(self, time_limit: float) -> bool:
        import highspy

        # HiGHS's time limit counts all of this instance's runs
        self.highs.setOptionValue("time_limit", self.highs.getRunTime() + float(time_limit))
        first = self._rounds == 0
        self.highs.setOptionValue("solver", "ipm" if first and self.n_y >= INTERIOR_FIRST
                                  else "simplex")
        self._rounds += 1
        self.highs.run()
        self.status = self.highs.getModelStatus()
        return self.status == highspy.HighsModelStatus.kOptimal

    @property
    def infeasible(self) -> bool:
        import highspy

        return self.status in (highspy.HighsModelStatus.kInfeasible,
                               highspy.HighsModelStatus.kUnboundedOrInfeasible)

    @property
    def objective(self) -> float:
        return -float(self.highs.getInfo().objective_function_value)

    def spend(self) -> np.ndarray:
        values = np.asarray(self.highs.getSolution().col_value)
        return values[:self.n_x].clip(0).reshape(self.channels, self.periods)

    def evaluate(self, spend: np.ndarray) -> tuple[float, np.ndarray]:
        """The plan's true objective and every term's level."""
        model = self.problem.model
        kpi, carried = simulate(model, spend, self.problem.multipliers, self.tail)
        levels = adstock_levels(model, np.hstack([spend, np.zeros((self.channels, self.tail))]))
        return float(kpi.sum() + carried.sum()), levels.ravel()

    def cut(self, levels: np.ndarray, gap_tolerance: float) -> int:
        """Tangents at the answer's levels where the LP's bound exceeds the curve there."""
        bound = np.asarray(self.highs.getSolution().col_value)[self.n_x + self.n_y:]
        excess = bound - self.curves.value(levels)
        # the terms that hold most of the gap: above the mean excess (CUT_SHARE), which leaves
        # each LP smaller than a cut at every term would (and at least the tolerance's floor)
        floor = gap_tolerance * 1e-3 * self.scale / self.n_y
        loose = np.flatnonzero(excess > max(floor, CUT_SHARE * excess.clip(0).mean()))
        points = levels[loose]
        vertical = ~np.isfinite(self.curves.subset(loose).marginal(points))
        self.foot[loose[vertical]] /= 2
        points[vertical] += self.foot[loose[vertical]]
        return self._add_cuts(loose, np.minimum(points, self.high[loose]))
