"""The plan as one LP kept in HiGHS, cut until certified (the search over S-shaped curves'
levels and minimum commitments that drives it is :mod:`plan_search`).

Each curve term (a channel's curve at its adstocked level in one period) is bounded from above
by its concave envelope over the level's range: tangents of concave curves, and for an S-curve
the chord from the range's left end to where the tangent from there touches the curve, then
tangents. So one LP bounds the plan's KPI from above, and its answer, evaluated on the true
dynamics, from below. Its rows are built from arrays straight into HiGHS (highspy) rather than
through PuLP; each round only adds the tangents at the answer's levels where the bound exceeds
the curve, and re-solves from the previous basis.

With concave curves and no minimum commitments that LP is the whole story (a convex
programme). A channel with a minimum commitment gets a switch s in [0, 1], its total
between min_if_on x s and its max x s; the search branches on a switch the LP leaves
fractional (off: s = 0, on: s = 1), and only plans that keep every commitment count.
Where an S-curve's answer lies on its chord, the LP's bound there is loose; the search splits
that term's level range at the answer (:meth:`PlanLP.split`: two LPs that differ in the
term's bounds and chord, each re-solved from the basis at hand). The rules: the budget,
channel totals and commitments, group and ratio rules, pacing, caps and flighting, step
changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from budgetopt.optimizer.model.adstock import steady_state_scale
from budgetopt.optimizer.model.dynamics import tail_length
from budgetopt.optimizer.problem.plan import PlanProblem
from budgetopt.optimizer.solvers.lp_engine import MAX_CUT_RISE, new_highs

__all__ = ["Node", "PlanLP"]

FIRST_TANGENTS = (0.5, 1.0, 2.0)  # initial tangent points, as multiples of
# the level the current spend keeps up (where the answer usually is)
CUT_SHARE = 1.0  # a round cuts the terms whose excess is above this share of the mean excess
INTERIOR_FIRST = 5000  # from this many curve terms the first LP is solved by interior point
# (8x faster than the dual simplex from scratch at 26,000 terms); its crossover leaves the basis
# that each later round's dual simplex starts from
THRESHOLD_PASSES = 60  # bisection passes locating where an S-curve's tangent becomes valid
SWITCH_TOLERANCE = 1e-9  # a commitment's switch this close to 0 or 1 is decided


@dataclass(frozen=True)
class Node:
    """The bound of the node that made this one, the level ranges of the S-curve terms it has
    narrowed (position among the shaped terms -> (lo, hi); the rest keep the root's) and the
    minimum commitments it has decided (position among them -> 0 off, 1 on)."""

    bound: float
    ranges: dict[int, tuple[float, float]]
    switches: dict[int, int] = field(default_factory=dict)


class PlanLP:
    """Spend x (channels x periods), each curve term's level a and its response bound y, in
    one HiGHS LP; the S-curve terms' level ranges change from node to node.

    ``coupled=False`` leaves out the rows that tie channels together (the budget, rules
    across channels, pacing: :attr:`coupling`); :meth:`set_costs` prices spend instead.
    ``tail`` overrides the carry-out periods counted (a channel alone counts as many as the
    whole plan does).
    """

    def __init__(self, problem: PlanProblem, coupled: bool = True, tail: int | None = None):
        import highspy

        self.problem = problem
        model = problem.model
        self.channels, self.periods = problem.caps.shape
        self.tail = 0 if not problem.count_carryover else (
            tail_length(model) if tail is None else tail)
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
        self.term_of_entry = np.repeat(np.arange(len(term_cols)), self.term_counts)
        self.n_x, self.n_y = self.channels * self.periods, self.channels * horizon

        self.highs = new_highs()
        self.solves = 0
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
        self.costs = np.zeros(n_x)
        self.committed = np.flatnonzero(problem.totals.min_if_on > 0)  # channels with a switch
        self.switch_cols = n_x + 2 * n_y + np.arange(len(self.committed))
        self.highs.addVars(len(self.committed), np.zeros(len(self.committed)),
                           np.ones(len(self.committed)))
        self.switches: dict[int, int] = {}
        self._add_rules(coupled)
        self._add_shaped_terms()
        typical = problem.budget / problem.periods / self.channels
        current = np.where(model.current_spend > 0, model.current_spend, typical)
        steady = np.repeat(current * steady_state_scale(model.decay, model.normalized,
                                                        model.peak), horizon)
        every = np.arange(n_y)
        for multiple in FIRST_TANGENTS:
            points = np.clip(self.low + multiple * steady, self.low, self.high)
            self._add_cuts(every, np.maximum(points, self.chord_end))
        # where a curve is vertical at the answer (Hill s < 1 at 0) the next tangent goes this
        # far right of it, halved each time: the bound's excess there shrinks geometrically
        self.foot = np.maximum(FIRST_TANGENTS[0] * steady, 1e-12)

    # --- rows ------------------------------------------------------------------------------
    def _add_rows(self, lower, upper, starts, index, value) -> None:
        lower, upper = np.asarray(lower, float), np.asarray(upper, float)
        self.highs.addRows(len(lower), lower, upper, len(index), np.asarray(starts, np.int32),
                           np.asarray(index, np.int32), np.asarray(value, float))

    def _add_rules(self, coupled: bool) -> None:
        """Channel totals and step changes; with ``coupled``, the budget, linear rules on
        totals and pacing too (their rows are kept in ``coupling`` and ``coupling_rows``)."""
        problem, totals = self.problem, self.problem.totals
        periods, inf = self.periods, self.inf
        cells = lambda c: c * periods + np.arange(periods)
        coupling: list[tuple[float, float, np.ndarray, np.ndarray]] = []  # (lo, hi, cols, values)
        if coupled:
            coupling.append((-inf if totals.budget_is_ceiling else totals.budget, totals.budget,
                             np.arange(self.n_x), np.ones(self.n_x)))
            for rule in totals.rules:
                columns = np.concatenate([cells(c) for c in rule.index])
                coupling.append((rule.lower if np.isfinite(rule.lower) else -inf,
                                 rule.upper if np.isfinite(rule.upper) else inf, columns,
                                 np.repeat(rule.coef, periods)))
            for pace in problem.pacing:
                window = np.concatenate([c * periods + np.arange(pace.first - 1, pace.last)
                                         for c in range(self.channels)])
                coupling.append((
                    -inf if pace.min_share is None else pace.min_share * totals.budget,
                    inf if pace.max_share is None else pace.max_share * totals.budget,
                    window, np.ones(len(window))))
        self.coupling = tuple(coupling)
        self.coupling_rows = self.highs.getNumRow() + np.arange(len(coupling))
        rows = list(coupling)
        for c in range(self.channels):
            low = totals.lower[c] if totals.lower[c] > 0 else -inf
            high = totals.upper[c] if totals.upper[c] < totals.budget else inf
            if np.isfinite(low) or np.isfinite(high):
                rows.append((low, high, cells(c), np.ones(periods)))
        for k, c in enumerate(self.committed):  # min_if_on s <= total <= max s
            columns = np.r_[cells(c), self.switch_cols[k]]
            rows.append((0.0, inf, columns, np.r_[np.ones(periods), -totals.min_if_on[c]]))
            rows.append((-inf, 0.0, columns, np.r_[np.ones(periods),
                                                   -min(totals.upper[c], totals.budget)]))
        for c, limit in enumerate(problem.step):
            if np.isnan(limit):
                continue
            active = problem.caps[c] > 0
            for t in range(1, periods):
                if active[t] and active[t - 1]:  # (1 - limit) x[t-1] <= x[t] <= (1 + limit) x[t-1]
                    pair = np.array([c * periods + t, c * periods + t - 1])
                    rows.append((-inf, 0.0, pair, np.array([1.0, -(1 + limit)])))
                    rows.append((0.0, inf, pair, np.array([1.0, -(1 - limit)])))
        if not rows:
            return
        starts = np.cumsum([0, *[len(r[2]) for r in rows[:-1]]])
        self._add_rows([r[0] for r in rows], [r[1] for r in rows], starts,
                       np.concatenate([r[2] for r in rows]), np.concatenate([r[3] for r in rows]))

    def _add_shaped_terms(self) -> None:
        """The S-curve terms (a convex foot inside the level's range) and one chord row each:
        y <= f(lo) + slope (a - lo) up to where the tangent from lo touches the curve."""
        self.chord_end = self.curves.tangent_point(self.low).clip(self.low, self.high)
        self.shaped = np.flatnonzero(~self.curves.is_concave() & (self.chord_end > self.low))
        self.shaped_low, self.shaped_high = self.low[self.shaped], self.high[self.shaped]
        self.position = np.full(self.n_y, -1)
        self.position[self.shaped] = np.arange(len(self.shaped))
        self.shaped_curves = self.curves.subset(self.shaped)
        self.chord_rows = self.highs.getNumRow() + np.arange(len(self.shaped))
        self.range_lo, self.range_hi = self.shaped_low.copy(), self.shaped_high.copy()
        count = len(self.shaped)
        self.shaped_end = np.zeros(count)
        self._touch: dict[tuple[int, float], float] = {}
        slope, intercept = self._chords(np.arange(count), self.shaped_low, self.shaped_high)
        index = np.column_stack([self.n_x + self.n_y + self.shaped, self.n_x + self.shaped])
        self._add_rows(np.full(count, -self.inf), intercept, np.arange(0, 2 * count, 2),
                       index.ravel(), np.column_stack([np.ones(count), -slope]).ravel())
        # tangents of S-curves valid only where a term's range starts at or above a threshold
        self.conditional_rows = np.zeros(0, np.int64)
        self.conditional_term = np.zeros(0, np.int64)  # position among the shaped terms
        self.conditional_threshold = np.zeros(0)
        self.conditional_rhs = np.zeros(0)
        self.conditional_on = np.zeros(0, bool)

    def _chords(self, which: np.ndarray, lo: np.ndarray, hi: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """Slope and intercept of the chords of shaped terms ``which`` on [lo, hi] (and
        where each ends, kept in ``shaped_end``)."""
        curves = self.shaped_curves.subset(which)
        end = np.minimum(self._tangent_points(which, lo), hi)
        f_lo, f_end = curves.value(lo), curves.value(end)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(end > lo, (f_end - f_lo) / (end - lo), curves.marginal(lo))
        slope = np.where(np.isfinite(slope), slope, 0.0)
        self.shaped_end[which] = end
        return slope, f_lo - slope * lo

    def _tangent_points(self, which: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """Where the tangent from each (lo, f(lo)) touches shaped term ``which``'s curve,
        remembered: the search returns to the same range starts again and again."""
        points = np.array([self._touch.get((k, start), np.nan) for k, start in zip(which, lo)])
        new = np.flatnonzero(np.isnan(points))
        if len(new):
            points[new] = self.shaped_curves.subset(which[new]).tangent_point(lo[new])
            self._touch.update(zip(zip(which[new], lo[new]), points[new]))
        return points

    def set_ranges(self, ranges: dict[int, tuple[float, float]]) -> None:
        """Give the S-curve terms these level ranges (the root's elsewhere): column bounds,
        chords and which of their conditional tangents hold."""
        lo, hi = self.shaped_low.copy(), self.shaped_high.copy()
        if ranges:
            narrowed = np.fromiter(ranges, int, len(ranges))
            lo[narrowed], hi[narrowed] = np.array(list(ranges.values())).T
        changed = np.flatnonzero((lo != self.range_lo) | (hi != self.range_hi))
        if len(changed):
            terms = self.shaped[changed]
            self.highs.changeColsBounds(len(terms), (self.n_x + terms).astype(np.int32),
                                        lo[changed], hi[changed])
            self.highs.changeColsBounds(
                len(terms), (self.n_x + self.n_y + terms).astype(np.int32),
                np.full(len(terms), -self.inf), self.shaped_curves.subset(changed).value(
                    hi[changed]))
            slope, intercept = self._chords(changed, lo[changed], hi[changed])
            for k, coefficient in zip(changed, slope):
                self.highs.changeCoeff(int(self.chord_rows[k]), int(self.n_x + self.shaped[k]),
                                       float(-coefficient))
            self.highs.changeRowsBounds(len(changed), self.chord_rows[changed].astype(np.int32),
                                        np.full(len(changed), -self.inf), intercept)
            self.range_lo, self.range_hi = lo, hi
            self._switch_conditional()

    def set_switches(self, switches: dict[int, int]) -> None:
        """Fix the decided commitments' switches (the rest free in [0, 1])."""
        if switches == self.switches:
            return
        lower = np.zeros(len(self.committed))
        upper = np.ones(len(self.committed))
        for k, on in switches.items():
            lower[k] = upper[k] = on
        self.highs.changeColsBounds(len(lower), self.switch_cols.astype(np.int32), lower, upper)
        self.switches = dict(switches)

    def fractional_switch(self) -> int:
        """The commitment whose switch the last answer leaves furthest from 0 and 1 (-1:
        none)."""
        if not len(self.committed):
            return -1
        values = np.asarray(self.highs.getSolution().col_value)[self.switch_cols]
        distance = np.minimum(values, 1 - values)
        k = int(np.argmax(distance))
        return k if distance[k] > SWITCH_TOLERANCE else -1

    def keeps_commitments(self, spend: np.ndarray) -> bool:
        """Whether every committed channel's total is 0 or at least its min_if_on."""
        totals = spend[self.committed].sum(axis=1)
        floor = self.problem.totals.min_if_on[self.committed]
        return bool(np.all((totals <= SWITCH_TOLERANCE * floor) |
                           (totals >= floor * (1 - SWITCH_TOLERANCE))))

    def _switch_conditional(self) -> None:
        should = self.range_lo[self.conditional_term] >= self.conditional_threshold
        flip = np.flatnonzero(should != self.conditional_on)
        if len(flip):
            upper = np.where(should[flip], self.conditional_rhs[flip], self.inf)
            self.highs.changeRowsBounds(len(flip), self.conditional_rows[flip].astype(np.int32),
                                        np.full(len(flip), -self.inf), upper)
            self.conditional_on = should

    def _add_cuts(self, terms: np.ndarray, points: np.ndarray) -> int:
        """y[term] <= f(p) + f'(p) (a[term] - p) at each term's point p (on an S-curve, only
        where the curve is concave from p on; such a tangent holds where the term's range
        starts at or above its threshold)."""
        curves = self.curves.subset(terms)
        value, slope = curves.value(points), curves.marginal(points)
        keep = np.isfinite(slope) & (np.abs(slope) * np.maximum(self.high[terms], 1.0)
                                     < MAX_CUT_RISE) & (points >= curves.inflection())
        terms, points, value, slope = terms[keep], points[keep], value[keep], slope[keep]
        if not len(terms):
            return 0
        first = self.highs.getNumRow()
        index = np.column_stack([self.n_x + self.n_y + terms, self.n_x + terms]).ravel()
        coefficient = np.column_stack([np.ones(len(terms)), -slope]).ravel()
        rhs = value - slope * points
        self._add_rows(np.full(len(terms), -self.inf), rhs, np.arange(0, 2 * len(terms), 2),
                       index, coefficient)
        position = self.position[terms]
        shaped = np.flatnonzero(position >= 0)
        if len(shaped):
            threshold = self._thresholds(terms[shaped], points[shaped], value[shaped],
                                         slope[shaped])
            conditional = threshold > self.low[terms[shaped]]
            rows = first + shaped[conditional]
            self.conditional_rows = np.r_[self.conditional_rows, rows]
            self.conditional_term = np.r_[self.conditional_term, position[shaped[conditional]]]
            self.conditional_threshold = np.r_[self.conditional_threshold,
                                               threshold[conditional]]
            self.conditional_rhs = np.r_[self.conditional_rhs, rhs[shaped[conditional]]]
            self.conditional_on = np.r_[self.conditional_on, np.ones(len(rows), bool)]
            self._switch_conditional()
        return len(terms)

    def _thresholds(self, terms, points, value, slope) -> np.ndarray:
        """The least range start from which each S-curve tangent lies above its curve: the
        tangent at p minus the curve rises then falls to 0 at p, so it is non-negative on
        [threshold, p], found by bisection from the term's lowest level."""
        curves = self.curves.subset(terms)
        gap = lambda x: value + slope * (x - points) - curves.value(x)
        low = self.low[terms].copy()
        high = points.copy()
        valid = gap(low) >= 0
        for _ in range(THRESHOLD_PASSES):
            middle = 0.5 * (low + high)
            above = gap(middle) >= 0
            high = np.where(above, middle, high)
            low = np.where(above, low, middle)
        return np.where(valid, self.low[terms], high)

    # --- solving ---------------------------------------------------------------------------
    def solve(self, time_limit: float) -> bool:
        import highspy

        # HiGHS's time limit counts all of this instance's runs
        self.highs.setOptionValue("time_limit", self.highs.getRunTime() + float(time_limit))
        first = self.solves == 0
        self.highs.setOptionValue("solver", "ipm" if first and self.n_y >= INTERIOR_FIRST
                                  else "simplex")
        self.solves += 1
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
        """The plan's true objective (each term's curve at its level, carry-out included, less
        the cost of spend) and every term's level."""
        levels = self.carry + np.bincount(self.term_of_entry, self.term_values
                                          * spend.ravel()[self.term_cols], self.n_y)
        cost = float(self.costs @ spend.ravel())
        return float(self.curves.value(levels).sum()) - cost, levels

    def set_costs(self, costs: np.ndarray) -> None:
        """Price each unit of spend (channels x periods, flattened) in the objective."""
        self.costs = np.asarray(costs, float)
        self.highs.changeColsCost(self.n_x, np.arange(self.n_x, dtype=np.int32), self.costs)

    def coupling_prices(self) -> np.ndarray:
        """What one more unit of each coupling row's activity is worth at the last solve (the
        row duals, in the maximised KPI's sign)."""
        duals = np.asarray(self.highs.getSolution().row_dual)
        return -duals[self.coupling_rows] if len(self.coupling_rows) else np.zeros(0)

    def excess(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How far each term's bound lies above its curve at the answer's level, and which
        terms lie strictly inside an S-curve's chord (where only branching helps)."""
        values = np.asarray(self.highs.getSolution().col_value)
        bound = values[self.n_x + self.n_y:self.n_x + 2 * self.n_y]
        excess = bound - self.curves.value(levels)
        chord = np.zeros(self.n_y, bool)
        if len(self.shaped):
            at = levels[self.shaped]
            chord[self.shaped] = (at > self.range_lo) & (at < self.shaped_end)
        return excess, chord

    def cut(self, levels: np.ndarray, excess: np.ndarray, chord: np.ndarray,
            gap_tolerance: float) -> int:
        """Tangents at the answer's levels where the LP's bound exceeds the curve there (off
        the S-curves' chords)."""
        # the terms that hold most of the gap: above the mean excess (CUT_SHARE), which leaves
        # each LP smaller than a cut at every term would (and at least the tolerance's floor)
        floor = gap_tolerance * 1e-3 * self.scale / self.n_y
        curve_excess = np.where(chord, 0.0, excess)
        loose = np.flatnonzero(curve_excess > max(floor, CUT_SHARE * curve_excess.clip(0).mean()))
        points = levels[loose]
        vertical = ~np.isfinite(self.curves.subset(loose).marginal(points))
        self.foot[loose[vertical]] /= 2
        points[vertical] += self.foot[loose[vertical]]
        return self._add_cuts(loose, np.minimum(points, self.high[loose]))

    def split(self, node: Node, bound: float, term: int, levels: np.ndarray) -> list[Node]:
        """``term``'s level range in two, near its answer's level."""
        k = int(self.position[term])
        lo, hi = node.ranges.get(k, (float(self.shaped_low[k]), float(self.shaped_high[k])))
        # halfway between the answer and the chord's middle: a split at the answer alone
        # leaves one child almost as loose as its parent when the answer is near a range end
        at = 0.5 * float(levels[term]) + 0.25 * (lo + float(self.shaped_end[k]))
        return [Node(bound, {**node.ranges, k: (lo, at)}, node.switches),
                Node(bound, {**node.ranges, k: (at, hi)}, node.switches)]
