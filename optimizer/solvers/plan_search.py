"""Searching the plan LP: best-bound branch-and-bound on the S-curve terms' levels, and a
Lagrangian bound from each channel's plan solved alone.

The LP bound of a branch-and-bound node relaxes each S-curve term on its own chord, so on a
plan whose S-curves pulse and decay through their convex foot it stays loose for many nodes.
The Lagrangian bound relaxes instead the few rows that tie channels together (the budget,
rules across channels, pacing) at prices: each channel's plan is then a small problem of its
own, solved by the same branch-and-bound to a proven bound, and their sum plus the priced rows'
bounds bounds the plan (for any prices of the right signs; the root LP's row prices start the
search over the budget's price). The channels' plans at the least bound also say where good
plans lie: held to their own nodes' ranges, but for the channels whose plan switches as the
budget's price crosses its best value, a short search finds the plan that meets the rules
there. An uncertified search gets both once and stops as soon as its best plan is within the
gap of either bound.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.errors import SolverError
from budgetopt.optimizer.problem.plan import PlanProblem
from budgetopt.optimizer.result.certificate import relative_gap
from budgetopt.optimizer.solvers.plan_lp import Node, PlanLP

__all__ = ["PlanSearch", "PlanSolution", "solve_plan_lp"]

MAX_ROUNDS = 200  # LP rounds of a plan without S-curves (one node)
NODE_ROUNDS = 25  # cut rounds at one node of the branch-and-bound before it must branch
DUAL_AFTER = 2.0  # seconds (at most a third of the time limit) of branch-and-bound before an
# uncertified plan gets its Lagrangian bound, which then has up to a third of the limit
DUAL_STEP = 2e-3  # first relative step of the budget's price from the root LP's
DUAL_EVALUATIONS = 8  # most prices of the budget tried
DUAL_GAIN = 0.1  # the price search stops when it can gain less than this share of the gap
CHANNEL_TOLERANCE = 1e-2  # the channels' gaps in the Lagrangian bound, in all, as a share of
# the plan's
SWITCHING = 0.05  # a channel whose spend alone changes this much across the budget price's
# sign turn is left free in the guided searches


@dataclass(frozen=True)
class PlanSolution:
    """The best plan found (``payload``: channels x periods), its true objective, the proven
    bound (``dual``: the Lagrangian's, NaN where not computed), the LP solves it took and the
    branch-and-bound nodes (1 without S-curves)."""

    payload: np.ndarray
    value: float
    bound: float
    rounds: int
    nodes: int
    shaped: bool
    dual: float = np.nan


def solve_plan_lp(problem: PlanProblem, *, gap_tolerance: float, time_limit: float
                  ) -> PlanSolution | None:
    """The certified plan, or None when the rules admit no plan.

    The branch-and-bound runs alone for DUAL_AFTER seconds (a third of the time limit at
    most); a plan it has not certified by then gets the Lagrangian bound (within a third of
    the limit), then a search from each of the nodes the channels' own plans point to (a
    sixth each), then the branch-and-bound goes on, until its best plan is within the gap of
    either bound or the time is up.
    """
    started = time.perf_counter()
    deadline = started + time_limit
    lp = PlanLP(problem)
    search = PlanSearch(lp, gap_tolerance, deadline, time_limit)
    search.start(Node(np.inf, {}))
    search.run(pause=started + min(DUAL_AFTER, time_limit / 3))
    dual = np.nan
    if search.best is not None and not search.certified and search.open:
        lagrangian = LagrangianBound(problem, lp, gap_tolerance)
        dual = lagrangian.minimise(search.prices, search.best[0], search.bound(),
                                   time.perf_counter() + time_limit / 3)
        search.ceiling = dual
        for guide in lagrangian.guides(lp):
            if search.certified:
                break
            local = PlanSearch(lp, gap_tolerance,
                               min(deadline, time.perf_counter() + time_limit / 6), time_limit)
            local.ceiling = dual
            local.offer(*search.best)
            local.start(guide)
            local.run()
            search.offer(*local.best)
    search.run()
    if search.best is None:
        return None
    value, payload = search.best
    return PlanSolution(payload, value, max(search.bound(), value), lp.solves, search.nodes,
                        shaped=len(lp.shaped) > 0, dual=dual)


class PlanSearch:
    """Best-bound-first branch-and-bound over the S-curve terms' level ranges of ``lp``.

    ``ceiling`` is a bound on the plan proven elsewhere (the Lagrangian's): the search stops
    once its best plan is within the gap of it too. ``slack``, where given, is the gap in KPI
    units instead of relative to the best plan (a channel's plan alone, less the price of its
    spend, may be worth about nothing).
    """

    def __init__(self, lp: PlanLP, gap_tolerance: float, deadline: float, time_limit: float,
                 slack: float | None = None):
        self.lp, self.tolerance, self.slack = lp, gap_tolerance, slack
        self.deadline, self.time_limit = deadline, time_limit
        self.ceiling = np.inf
        self.best_ranges: dict[int, tuple[float, float]] = {}  # the node of the best plan
        self.prices = np.zeros(len(lp.coupling))  # the coupling rows' prices at the root
        self.best: tuple[float, np.ndarray] | None = None
        self.closed = -np.inf  # the largest bound of a node closed without reaching the best
        self.open: list[tuple[float, int, Node]] = []
        self.nodes = 0
        self._order = itertools.count()  # ties in the heap go to the older node

    def bound(self) -> float:
        top = -self.open[0][0] if self.open else -np.inf
        return min(self.ceiling, max(self.closed, top))

    @property
    def certified(self) -> bool:
        return self._done(self.bound())

    def _done(self, bound: float) -> bool:
        if self.best is None:
            return False
        if self.slack is not None:
            return bound - self.best[0] <= self.slack
        return relative_gap(bound, self.best[0], self.lp.scale) <= self.tolerance

    def start(self, root: Node) -> None:
        heapq.heappush(self.open, (-root.bound, next(self._order), root))

    def offer(self, value: float, spend: np.ndarray) -> None:
        """A plan found elsewhere: the best from now on if it is better."""
        if self.best is None or value > self.best[0]:
            self.best = (value, spend)

    def run(self, pause: float = np.inf) -> None:
        """Explore nodes until the gap is closed, or until the deadline (or, between nodes,
        ``pause``) once a plan is known."""
        pause = min(pause, self.deadline)
        while self.open:
            bound, _, node = heapq.heappop(self.open)
            if self._done(min(-bound, self.ceiling)):
                self.closed = max(self.closed, -bound)
                self.open.clear()
                break
            if time.perf_counter() > pause and self.best is not None:
                heapq.heappush(self.open, (bound, next(self._order), node))
                break
            self.nodes += 1
            children = self._explore(node)
            if self.nodes == 1:
                self.prices = self.lp.coupling_prices()
            for child in children:
                heapq.heappush(self.open, (-child.bound, next(self._order), child))

    def _explore(self, node: Node) -> list[Node]:
        """Solve the node, cutting while cuts pay; return its children (none when closed)."""
        lp = self.lp
        lp.set_ranges(node.ranges)
        lp.set_switches(node.switches)
        rounds = MAX_ROUNDS if not len(lp.shaped) else NODE_ROUNDS
        bound = node.bound
        for _ in range(rounds):
            if not lp.solve(max(self.deadline - time.perf_counter(), 1.0)):
                if lp.infeasible:
                    return []  # no plan within these ranges
                if self.best is None:
                    raise SolverError(f"the plan's LP stopped ({lp.status.name}) before finding "
                                      f"any plan; raise the time limit (now "
                                      f"{self.time_limit:g} s).")
                self.closed = max(self.closed, bound)
                return []
            bound = min(bound, lp.objective)
            spend = lp.spend()
            value, levels = lp.evaluate(spend)
            if lp.keeps_commitments(spend) and (self.best is None or value > self.best[0]):
                self.best, self.best_ranges = (value, spend), node.ranges
            if self._done(bound):
                self.closed = max(self.closed, bound)
                return []
            excess, chord = lp.excess(levels)
            on_chord = excess[chord].sum() if chord.any() else 0.0
            loose = excess[~chord].clip(0).sum()
            timed_out = time.perf_counter() > self.deadline
            if timed_out or (on_chord > loose or not lp.cut(levels, excess, chord,
                                                            self.tolerance)):
                break
        switch = lp.fractional_switch()
        if switch >= 0 and time.perf_counter() <= self.deadline:
            return [Node(bound, node.ranges, {**node.switches, switch: on}) for on in (0, 1)]
        if not chord.any() or (excess[chord] <= 0).all() or \
                time.perf_counter() > self.deadline:
            self.closed = max(self.closed, bound)
            return []
        term = int(np.flatnonzero(chord)[np.argmax(excess[chord])])
        return lp.split(node, bound, term, levels)




@dataclass(frozen=True)
class _Priced:
    """The Lagrangian bound at one set of row prices, the budget's subgradient there (its
    bound less the spend) and each channel's plan alone with the ranges of its node."""

    bound: float
    slope: float
    plans: tuple[tuple[np.ndarray, dict[int, tuple[float, float]]], ...] = ()


def _crossing(one: tuple[float, _Priced], other: tuple[float, _Priced]) -> tuple[float, float]:
    """Where the tangent lines of the bound at two prices cross (price, value): the bound is
    convex, so between them it is nowhere below that value."""
    (p, a), (q, b) = one, other
    if a.slope == b.slope:
        return 0.5 * (p + q), min(a.bound, b.bound)
    price = (b.bound - a.bound + a.slope * p - b.slope * q) / (a.slope - b.slope)
    price = float(np.clip(price, min(p, q), max(p, q)))
    return price, a.bound + a.slope * (price - p)


class LagrangianBound:
    """Bounds on a plan's KPI from each channel's plan solved alone, the rows that tie the
    channels together (``lp.coupling``: (lower, upper, columns, values) each) priced."""

    def __init__(self, problem: PlanProblem, lp: PlanLP, gap_tolerance: float):
        self.coupling, self.budget = lp.coupling, problem.budget
        self.periods = problem.periods
        self.tolerance = gap_tolerance
        self.slack = 0.0  # each channel's gap in KPI units, set by :meth:`minimise`
        self.problem, self.tail = problem, lp.tail
        self.lps: list[PlanLP] = []  # each channel's own, built as the first bound needs it
        self.sides: tuple[_Priced, ...] = ()  # the least bound, and across the sign turn

    def minimise(self, prices: np.ndarray, best: float, known: float, deadline: float
                 ) -> float:
        """The least bound found over the budget's price, from ``prices[0]`` (the other rows
        keep theirs), until it is within the gap of ``best``, the price can gain less than a
        tenth of the gap, or ``deadline``; at once when the first is no better than the bound
        ``known`` already. Each price has at most a third of the time (a bound whose channels
        are cut short is loose anyway). The bound is convex in the price with subgradient
        (budget - spend): steps against the start's sign double until the sign turns; then
        the next price is where the two ends' tangent lines cross, and their value there
        bounds what the bracket can gain. :attr:`sides` keeps the least bound's channel
        plans, and those of the best bound whose subgradient has the other sign."""
        prices = np.nan_to_num(np.array(prices, float))  # no duals where the root LP failed
        # the channels' slacks add up to a small share of the plan's gap
        self.slack = CHANNEL_TOLERANCE * self.tolerance * abs(best) / self.problem.caps.shape[0]
        share = (deadline - time.perf_counter()) / 3
        first = self.value(prices, min(deadline, time.perf_counter() + share))
        if first.bound >= known:
            return first.bound
        sign, step = np.sign(first.slope), DUAL_STEP * max(abs(prices[0]), 1e-12)
        tried = [(prices[0], first)]
        near, far = tried[0], None  # the bracket's end with the start's sign, and the other
        crossing = None
        for _ in range(DUAL_EVALUATIONS - 1):
            least = min(priced.bound for _, priced in tried)
            if sign == 0 or relative_gap(least, best) <= self.tolerance or \
                    time.perf_counter() > deadline or (
                        far is not None and relative_gap(least, crossing[1])
                        <= DUAL_GAIN * self.tolerance):
                break
            trial = prices.copy()
            trial[0] = near[0] - sign * step if far is None else crossing[0]
            priced = self.value(trial, min(deadline, time.perf_counter() + share))
            tried.append((trial[0], priced))
            if priced.slope == 0:
                break
            if np.sign(priced.slope) == sign:
                near, step = tried[-1], 2 * step
            else:
                far = tried[-1]
            if far is not None:
                crossing = _crossing(near, far)
        least = min((priced for _, priced in tried), key=lambda priced: priced.bound)
        other = [priced for _, priced in tried
                 if np.sign(priced.slope) == -np.sign(least.slope) and priced.plans]
        self.sides = () if not least.plans else (
            least, *([min(other, key=lambda priced: priced.bound)] if other else []))
        return least.bound

    def value(self, prices: np.ndarray, deadline: float) -> _Priced:
        """The bound at ``prices`` (each clipped to the sign that keeps it valid: a row's
        price may be positive only where it has an upper bound, negative only where it has a
        lower one), the channels' searches stopped at ``deadline`` with the bound they
        proved."""
        channels = self.problem.caps.shape[0]
        cost = np.zeros(self.periods * channels)
        constant = 0.0
        for (lower, upper, columns, values), price in zip(self.coupling, prices):
            if price > 0 and np.isfinite(upper):
                constant += price * upper
            elif price < 0 and np.isfinite(lower):
                constant += price * lower
            else:
                continue
            np.add.at(cost, columns, price * values)
        total, spent, plans = constant, 0.0, []
        for c in range(channels):
            if time.perf_counter() > deadline:  # a bound needs every channel's
                return _Priced(np.inf, 0.0)
            if c == len(self.lps):
                self.lps.append(PlanLP(self.problem.channel(c), coupled=False, tail=self.tail))
            lp = self.lps[c]
            lp.set_costs(cost[c * self.periods:(c + 1) * self.periods])
            search = PlanSearch(lp, self.tolerance, deadline,
                                max(deadline - time.perf_counter(), 0.0), slack=self.slack)
            search.start(Node(np.inf, {}))
            try:
                search.run()
            except SolverError:
                return _Priced(np.inf, 0.0)
            if search.best is None:  # the channel's own rules admit no plan
                return _Priced(np.inf, 0.0)
            total += max(search.bound(), search.best[0])
            spent += float(search.best[1].sum())
            plans.append((search.best[1], search.best_ranges))
        return _Priced(total, self.budget - spent, tuple(plans))

    def guides(self, lp: PlanLP) -> list[Node]:
        """Nodes of the whole plan's search near the channels' plans alone: each side's
        S-curve channels held to the ranges of their own plan's node, but those whose plan
        differs across the sign turn (by more than SWITCHING of its spend), which are free:
        the budget is met by how they switch."""
        if not self.sides:
            return []
        totals = [np.array([plan.sum() for plan, _ in side.plans]) for side in self.sides]
        switching = np.zeros(len(self.lps), bool) if len(totals) == 1 else \
            np.abs(totals[0] - totals[1]) > SWITCHING * np.maximum(totals[0], totals[1])
        horizon = lp.n_y // lp.channels
        guides = []
        for side in self.sides:
            ranges = {}
            for c, ((_, own), alone) in enumerate(zip(side.plans, self.lps)):
                if switching[c]:
                    continue
                for k, bounds in own.items():
                    ranges[int(lp.position[c * horizon + alone.shaped[k]])] = bounds
            guides.append(Node(np.inf, ranges))
        return guides
