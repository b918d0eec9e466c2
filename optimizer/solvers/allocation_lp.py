"""An allocation's rules and its curves' piecewise-linear bounds as one HiGHS model (highspy).

The rows are built from arrays, not PuLP expressions. Between refinement rounds that only add
tangents the model is kept and the new cuts are appended as rows, so each LP round re-solves
from the previous basis; a split segment (an S-curve's answer on its chord) changes the
model's structure, and it is rebuilt. The final LP's duals are the rules' shadow prices.

Columns: each channel's spend x and response bound r; a term with several segments (an
S-curve split, or a channel that may be off) adds per segment its binary z, its part of the
spend p and its bound y (the convex-hull form of :mod:`.lp_engine`'s disjunction).
"""

from __future__ import annotations

import numpy as np
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import ShadowPrice
from budgetopt.optimizer.solvers.lp_engine import PiecewiseModel, Segment, envelope_cuts, new_highs
from budgetopt.optimizer.solvers.rules import BUDGET, LOWER, UPPER, RuleKey, RuleKind

__all__ = ["AllocationLP"]

DUAL_ZERO = 1e-9  # a dual below this is a rule that does not bind


class AllocationLP:
    """The HiGHS model of ``problem`` over ``pieces``' segments, solved round by round."""

    def __init__(self, problem: AllocationProblem, pieces: PiecewiseModel):
        self.problem, self.pieces = problem, pieces
        self.highs = None
        self.budget_row, self.rule_rows = 0, []
        self._top_rows: dict[int, int] = {}  # a one-segment term's row r <= f(b)
        self._structure = None
        self._added: list[list[set]] = []  # the tangent points each segment's rows hold
        # per multi-segment term: each segment's binary z, part p and bound y (p and y None for
        # the point 0)
        self._parts: dict[int, list[tuple[int, int | None, int | None]]] = {}

    # --- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        import highspy

        problem, n = self.problem, len(self.problem.names)
        self.highs = highs = new_highs()
        inf = highspy.kHighsInf
        self._structure = self._shape()
        self._added = [[set(segment.tangents) for segment in segments]
                       for segments in self.pieces.segments]
        self._parts, self._top_rows = {}, {}
        # x (columns 0..n-1) within its one segment, or 0..the last segment's end
        x_lower = [segments[0].a if len(segments) == 1 else 0.0
                   for segments in self.pieces.segments]
        x_upper = [max(segment.b for segment in segments) for segments in self.pieces.segments]
        highs.addVars(n, np.array(x_lower, float), np.array(x_upper, float))
        highs.addVars(n, np.full(n, -inf), np.full(n, inf))  # r: columns n..2n-1
        highs.changeColsCost(2 * n, np.arange(2 * n, dtype=np.int32),
                             np.r_[np.full(n, problem.price), -np.ones(n)])
        rows = _Rows()
        for i, segments in enumerate(self.pieces.segments):
            if len(segments) == 1:
                self._top_rows[i] = rows.count  # the first cut: r <= f(b)
                self._add_cuts(rows, i, 0, envelope_cuts(problem.curves, i, segments[0]))
            else:
                self._add_disjunction(i, segments, rows, inf)
        # the budget, then each rule (one two-sided row each)
        budget = problem.budget
        rows.add(-inf if problem.budget_is_ceiling else budget, budget, range(n), np.ones(n))
        self.budget_row = rows.count - 1
        self.rule_rows = []
        for rule in problem.rules:
            rows.add(rule.lower if np.isfinite(rule.lower) else -inf,
                     rule.upper if np.isfinite(rule.upper) else inf, rule.index, rule.coef)
            self.rule_rows.append(rows.count - 1)
        rows.flush(highs)

    def _add_disjunction(self, i: int, segments: list[Segment], rows: _Rows, inf: float):
        """Segment j of term i: z_j binary, part p_j in [a_j z_j, b_j z_j], bound y_j under the
        segment's cuts scaled by z_j; x_i = sum p_j, r_i = sum y_j, sum z_j = 1."""
        import highspy

        highs, n = self.highs, len(self.problem.names)
        self._parts[i] = []
        for j, segment in enumerate(segments):
            z = highs.getNumCol()
            highs.addVar(0.0, 1.0)
            highs.changeColIntegrality(z, highspy.HighsVarType.kInteger)
            if segment.zero:
                self._parts[i].append((z, None, None))
                continue
            p, y = z + 1, z + 2
            highs.addVar(0.0, segment.b)
            highs.addVar(-inf, inf)
            self._parts[i].append((z, p, y))
            rows.add(0.0, inf, [p, z], [1.0, -segment.a])
            rows.add(-inf, 0.0, [p, z], [1.0, -segment.b])
            self._add_cuts(rows, i, j, envelope_cuts(self.problem.curves, i, segment))
        picks = [z for z, _, _ in self._parts[i]]
        columns = [p for _, p, _ in self._parts[i] if p is not None]
        bounds = [y for _, _, y in self._parts[i] if y is not None]
        rows.add(0.0, 0.0, [i, *columns], [1.0, *[-1.0] * len(columns)])
        rows.add(0.0, 0.0, [n + i, *bounds], [1.0, *[-1.0] * len(bounds)])
        rows.add(1.0, 1.0, picks, np.ones(len(picks)))

    def _add_cuts(self, rows: _Rows, i: int, j: int, cuts: tuple[np.ndarray, np.ndarray]):
        """Rows bounding term i's response by ``slope x + intercept`` on its segment j: on r and
        x for a one-segment term, else on the segment's y and p, the intercept scaled by z."""
        import highspy

        inf, n = highspy.kHighsInf, len(self.problem.names)
        for slope, intercept in zip(*cuts):
            if i not in self._parts:  # r - slope x <= intercept
                rows.add(-inf, intercept, [n + i, i], [1.0, -slope])
            else:  # y - slope p - intercept z <= 0
                z, p, y = self._parts[i][j]
                rows.add(-inf, 0.0, [y, p, z], [1.0, -slope, -intercept])

    def _shape(self):
        return tuple(tuple((s.a, s.b, s.c, s.zero) for s in segments)
                     for segments in self.pieces.segments)

    def _add_new_tangents(self) -> None:
        """Append the cuts of tangents the model's segments gained since the last round."""
        rows = _Rows()
        for i, segments in enumerate(self.pieces.segments):
            for j, segment in enumerate(segments):
                new = sorted(set(segment.tangents) - self._added[i][j])
                if new:
                    self._added[i][j].update(new)
                    self._add_cuts(rows, i, j, envelope_cuts(self.problem.curves, i, segment, new))
        rows.flush(self.highs)

    # --- solving -----------------------------------------------------------------------------
    def solve_round(self, time_limit: float, mip_gap: float) -> tuple[str, float, np.ndarray]:
        """One round for :func:`.lp_engine.solve_certified`: (status, proven bound, spend)."""
        import highspy

        if self.highs is None or self._shape() != self._structure:
            self._build()
        else:
            self._add_new_tangents()
        highs = self.highs
        highs.setOptionValue("time_limit", highs.getRunTime() + float(time_limit))
        highs.setOptionValue("mip_rel_gap", float(mip_gap))
        highs.run()
        status = highs.getModelStatus()
        n = len(self.problem.names)
        if status != highspy.HighsModelStatus.kOptimal:
            word = {highspy.HighsModelStatus.kInfeasible: "Infeasible",
                    highspy.HighsModelStatus.kUnboundedOrInfeasible: "Infeasible",
                    highspy.HighsModelStatus.kUnbounded: "Unbounded"}.get(status, "Not Solved")
            return word, np.inf, np.zeros(n)
        values = np.asarray(highs.getSolution().col_value)
        self.pieces.choice = {i: int(np.argmax(values[[z for z, _, _ in parts]]))
                              for i, parts in self._parts.items()}
        objective = -float(highs.getInfo().objective_function_value)
        if self._parts:  # a MILP: its dual bound, not the incumbent
            dual_bound = -float(highs.getInfo().mip_dual_bound)
            if np.isfinite(dual_bound):
                objective = max(objective, dual_bound)
        return "Optimal", objective, values[:n].copy()

    def shadow_prices(self, time_limit: float) -> tuple[ShadowPrice, ...]:
        """What loosening each binding rule by one unit gains, from the final LP's duals (a
        MILP's chosen segments fixed first and solved once more as an LP)."""
        import highspy

        if self._parts or self.highs is None:
            self.pieces.fix_chosen()
            self.solve_round(time_limit, 0.0)
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return ()
        problem = self.problem
        solution = self.highs.getSolution()
        # HiGHS minimises -KPI: a row's dual is the KPI lost per unit its bound rises, negative
        # at an upper bound that binds and positive at a lower one
        row_dual, col_dual = np.asarray(solution.row_dual), np.asarray(solution.col_dual)
        prices = []
        budget = -row_dual[self.budget_row]
        if abs(budget) > DUAL_ZERO:
            prices.append(ShadowPrice("budget", float(budget), BUDGET))
        for k, (rule, row) in enumerate(zip(problem.rules, self.rule_rows)):
            key, dual = RuleKey(RuleKind.LINEAR, k), row_dual[row]
            if dual < -DUAL_ZERO:
                prices.append(ShadowPrice(f"{rule.name} ({UPPER})", float(-dual), key))
            elif dual > DUAL_ZERO:
                prices.append(ShadowPrice(f"{rule.name} ({LOWER})", float(dual), key))
        for i, name in enumerate(problem.names):
            dual = col_dual[i]
            top = self.pieces.segments[i][0].b
            if top > 0:  # the row r <= f(b) moves with b: raising b by one raises it by f'(b)
                slope = float(problem.curves.channel_marginal(i, top))
                dual += slope * row_dual[self._top_rows[i]] if np.isfinite(slope) else 0.0
            if problem.lower[i] > 0 and dual > DUAL_ZERO:
                prices.append(ShadowPrice(f"channel '{name}' min", float(dual),
                                          RuleKey(RuleKind.CHANNEL_MIN, i)))
            if problem.upper[i] < problem.budget and dual < -DUAL_ZERO:
                prices.append(ShadowPrice(f"channel '{name}' max", float(-dual),
                                          RuleKey(RuleKind.CHANNEL_MAX, i)))
        return tuple(prices)


class _Rows:
    """Rows gathered as arrays and handed to HiGHS in one call."""

    def __init__(self):
        self.lower, self.upper, self.starts, self.index, self.value = [], [], [], [], []
        self.count = 0

    def add(self, lower: float, upper: float, columns, coefficients) -> None:
        self.lower.append(lower)
        self.upper.append(upper)
        self.starts.append(len(self.index))
        self.index.extend(int(c) for c in columns)
        self.value.extend(float(v) for v in coefficients)
        self.count += 1

    def flush(self, highs) -> None:
        if self.lower:
            highs.addRows(len(self.lower), np.array(self.lower, float),
                          np.array(self.upper, float), len(self.index),
                          np.array(self.starts, np.int32), np.array(self.index, np.int32),
                          np.array(self.value, float))
