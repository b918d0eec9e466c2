"""Global optimum of a budget split over separable response curves.

Concave curves: the envelope problem *is* the problem, so one exact KKT solve answers it.
S-shaped Hill curves and minimum commitments: spatial branch-and-bound. Each node solves the
envelope problem (an upper bound); a channel left on a chord is branched on, splitting its
domain at the relaxed spend (or into "off" and "on" for a commitment), which tightens both
children's envelopes. Feasible points found by diving give the lower bound; the search stops
when the bounds are within the gap tolerance, or reports the gap it reached.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.constants import METHOD_BRANCH_AND_BOUND, METHOD_KKT
from budgetopt.optimizer.errors import InfeasibleError, SolverError
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import AllocationResult, ShadowPrice
from budgetopt.optimizer.result.certificate import certify
from budgetopt.optimizer.settings import (
    DEFAULT_GAP_TOLERANCE,
    DEFAULT_TIME_LIMIT,
    MAX_LISTED,
)
from budgetopt.optimizer.solvers.envelope import Domains, Envelope, Relaxation, solve_relaxation
from budgetopt.optimizer.solvers.rules import BUDGET, RuleKey, RuleKind

__all__ = ["SeparableSolver", "bound_prices"]

MAX_BOUND_PRICES = 40  # binding channel bounds listed (a million channels list the largest)


@dataclass(frozen=True)
class SeparableSolver:
    """Settings of the separable solver; :meth:`solve` does the work.

    Args:
        gap_tolerance: stop when (upper bound - best value) <= gap_tolerance * |best value|.
        node_limit: most branch-and-bound nodes to explore before reporting the gap reached.
        time_limit: seconds before reporting the gap reached.
    """

    gap_tolerance: float = DEFAULT_GAP_TOLERANCE
    node_limit: int = 20_000
    time_limit: float = DEFAULT_TIME_LIMIT

    def solve(self, problem: AllocationProblem) -> AllocationResult:
        started = time.perf_counter()
        root = Envelope(problem.curves, _domains(problem))
        relaxation = solve_relaxation(root, problem.budget, problem.price)
        if relaxation is None:
            raise InfeasibleError(_no_combination_message(problem))
        if not _needs_branching(root, relaxation.spend):
            method = METHOD_KKT if _all_concave(problem) else METHOD_BRANCH_AND_BOUND
            return self._result(problem, relaxation.spend, relaxation.bound, relaxation.lam,
                                method, nodes=1, started=started)
        return self._branch_and_bound(problem, root, relaxation, started)

    def _branch_and_bound(self, problem, root, relaxation, started) -> AllocationResult:
        best, best_value = None, -np.inf
        counter = itertools.count()
        queue = [(-relaxation.bound, next(counter), root, relaxation)]
        nodes, pruned_bound = 0, -np.inf
        deadline = started + self.time_limit
        while queue:
            bound = -queue[0][0]
            if best_value > -np.inf and bound - best_value <= self._slack(best_value):
                pruned_bound = max(pruned_bound, bound)
                break
            if nodes >= self.node_limit or time.perf_counter() > deadline:
                break
            _, _, envelope, node = heapq.heappop(queue)
            nodes += 1
            children = []
            if _needs_branching(envelope, node.spend):
                i = _branch_channel(envelope, node.spend)
                children = [(child, _resolve(child, node, problem, i))
                            for child in _children(envelope, node.spend, i)]
            dive = self._dive(envelope, node, problem, known=children)
            if dive is not None:
                value = problem.objective_value(dive.spend)
                if value > best_value:
                    best, best_value = dive, value
            for child, child_node in children:
                if child_node is None:
                    continue
                if best is not None and child_node.bound - best_value <= self._slack(best_value):
                    pruned_bound = max(pruned_bound, child_node.bound)
                    continue
                heapq.heappush(queue, (-child_node.bound, next(counter), child, child_node))
        if best is None and queue:
            raise SolverError(f"the search stopped at its node or time limit ({nodes} nodes) "
                              f"before finding a plan; raise the time limit.")
        if best is None:
            raise InfeasibleError(_no_combination_message(problem))
        open_bound = max([-entry[0] for entry in queue] + [pruned_bound, best_value])
        return self._result(problem, best.spend, open_bound, best.lam,
                            METHOD_BRANCH_AND_BOUND, nodes=nodes, started=started)

    def _dive(self, envelope: Envelope, node: Relaxation, problem, known=()
              ) -> Relaxation | None:
        """A feasible point near the relaxation: move chord channels to an end, re-solve.

        ``known`` are the node's children with their relaxations: a child whose domain holds
        an end's and whose optimum lies in the end's domain is that end's optimum too (the
        first step of the dive branches on the same channel), so it is not solved again."""
        for _ in range(50):
            if not _needs_branching(envelope, node.spend):
                return node
            i = _branch_channel(envelope, node.spend)
            best = None
            for child in _ends(envelope, i):
                candidate = next((relaxation for wider, relaxation in known
                                  if relaxation is not None and _holds(wider, child, i)
                                  and _inside(child, i, relaxation.spend[i])), None)
                if candidate is None:
                    candidate = _resolve(child, node, problem, i)
                if candidate is not None and (best is None or candidate.bound > best[1].bound):
                    best = (child, candidate)
            if best is None:
                return None
            envelope, node = best
            known = ()
        return None

    def _slack(self, value: float) -> float:
        return self.gap_tolerance * max(abs(value), 1e-12)

    def _result(self, problem, spend, bound, lam, method, *, nodes, started) -> AllocationResult:
        certificate = certify(method, problem.objective_value(spend), bound, self.gap_tolerance,
                              scale=problem.scale, effort=nodes,
                              seconds=time.perf_counter() - started)
        return AllocationResult(problem=problem, spend=spend, certificate=certificate,
                                multiplier=lam, shadow_prices=bound_prices(problem, spend, lam))


def bound_prices(problem: AllocationProblem, spend, lam: float, channel_lam=None
                 ) -> tuple[ShadowPrice, ...]:
    """What loosening each binding bound by one unit gains, from the KKT conditions.

    The budget gains its multiplier (less the price of spend); a channel held at its maximum
    gains its marginal less the multiplier, one held at its minimum the multiplier less its
    marginal. Listed with the largest gain first; a channel that is off is not listed.
    ``channel_lam`` prices each channel where a group rule gives it its own multiplier.
    """
    if problem.budget <= 0 or not np.isfinite(lam):
        return ()
    tolerance = 1e-9 * max(problem.budget, 1.0)
    marginal = problem.curves.marginal(spend)
    prices = []
    budget_gain = lam - problem.price
    if budget_gain > 1e-9 and (not problem.budget_is_ceiling
                               or spend.sum() >= problem.budget - tolerance):
        prices.append(ShadowPrice("budget", float(budget_gain), BUDGET))
    floor = np.maximum(problem.lower, np.where(problem.can_switch_off, 0.0, problem.min_if_on))
    free = (problem.upper - floor > tolerance) & np.isfinite(marginal)
    at_max = free & (problem.upper < problem.budget) & (spend >= problem.upper - tolerance)
    at_min = free & ~at_max & (floor > 0) & (spend <= floor + tolerance)
    own = lam if channel_lam is None else channel_lam
    gain = np.where(at_max, marginal - own, np.where(at_min, own - marginal, 0.0))
    binding = np.flatnonzero(gain > 1e-9 * np.maximum(own, 1e-12))
    for i in binding[np.argsort(-gain[binding])][:MAX_BOUND_PRICES]:
        kind, bound = (RuleKind.CHANNEL_MAX, "max") if at_max[i] else (RuleKind.CHANNEL_MIN,
                                                                        "min")
        prices.append(ShadowPrice(f"channel '{problem.names[i]}' {bound}", float(gain[i]),
                                  RuleKey(kind, int(i))))
    return tuple(prices)


def _resolve(child: Envelope, parent: Relaxation, problem: AllocationProblem, i: int
             ) -> Relaxation | None:
    """The relaxation of ``child``, whose domains differ from ``parent``'s in channel ``i``
    only: the search starts at the parent's multiplier, where the spend is the parent's but
    for channel ``i``."""
    if parent.at_lam is None:
        return solve_relaxation(child, problem.budget, problem.price, near=parent.lam,
                                start=parent.spend)
    return solve_relaxation(child, problem.budget, problem.price, near=parent.lam,
                            start=child.respend(parent.lam, parent.at_lam, i), exact=True)


def _all_concave(problem: AllocationProblem) -> bool:
    return bool(problem.curves.is_concave().all() and not (problem.min_if_on > 0).any())


def _domains(problem: AllocationProblem) -> Domains:
    return Domains(lo=np.maximum(problem.lower, problem.min_if_on), hi=problem.upper.copy(),
                   off=problem.can_switch_off)


def _needs_branching(envelope: Envelope, spend) -> bool:
    return bool(_chord_gaps(envelope, spend).max(initial=0.0) > 0)


def _chord_gaps(envelope: Envelope, spend) -> np.ndarray:
    """How far each channel's envelope lies above its true value (inf: spend not allowed)."""
    inside = envelope.on_chord(spend)
    gaps = np.zeros(spend.shape)
    if inside.any():
        idx = np.flatnonzero(inside)
        x = spend[idx]
        sub = envelope.curves.subset(idx)
        gap = envelope.value(spend)[idx] - sub.value(x)
        scale = np.maximum(np.abs(envelope.value(spend)[idx]), 1e-300)
        gap = np.where(gap > 1e-12 * scale, gap, 0.0)
        switched = envelope.domains.off[idx] & (x < envelope.domains.lo[idx])
        gaps[idx] = np.where(switched, np.inf, gap)
    return gaps


def _branch_channel(envelope: Envelope, spend) -> int:
    return int(np.argmax(_chord_gaps(envelope, spend)))


def _children(envelope: Envelope, spend, i: int):
    """Split the domain of channel ``i`` (the one with the largest chord gap) into two."""
    lo, hi, off = envelope.domains.lo[i], envelope.domains.hi[i], envelope.domains.off[i]
    x = spend[i]
    if off and x < lo:
        return [envelope.with_channel(i, 0.0, 0.0, False), envelope.with_channel(i, lo, hi, False)]
    return [envelope.with_channel(i, lo, x, off), envelope.with_channel(i, x, hi, False)]


def _holds(wider: Envelope, narrower: Envelope, i: int) -> bool:
    """Whether channel ``i``'s domain in ``wider`` contains its domain in ``narrower`` (the
    other channels' domains are the same: both come from one parent)."""
    w, n = wider.domains, narrower.domains
    zero_ok = w.off[i] or w.lo[i] <= 0
    if n.lo[i] == n.hi[i] == 0:
        return bool(zero_ok)
    return bool(w.lo[i] <= n.lo[i] and n.hi[i] <= w.hi[i] and (zero_ok or not n.off[i]))


def _inside(envelope: Envelope, i: int, x: float) -> bool:
    """Whether spend ``x`` of channel ``i`` lies in its domain in ``envelope``."""
    d = envelope.domains
    return bool(d.lo[i] <= x <= d.hi[i] or (d.off[i] and x == 0))


def _ends(envelope: Envelope, i: int):
    """Channel ``i`` pinned to its chord's left end, or kept off the chord."""
    a, c, hi = envelope.a[i], envelope.c[i], envelope.domains.hi[i]
    return [envelope.with_channel(i, a, a, False), envelope.with_channel(i, c, hi, False)]


def _no_combination_message(problem: AllocationProblem) -> str:
    committed = [problem.names[i] for i in np.flatnonzero(problem.can_switch_off)]
    if not committed:
        return (f"no allocation spends exactly {problem.budget:,.2f} within the channels' "
                f"minimums and maximums; change the budget or a channel's bounds.")
    return (f"no allocation spends exactly {problem.budget:,.2f}: with the minimum commitments "
            f"(min_if_on) of {', '.join(committed[:MAX_LISTED])}, the channels' allowed "
            f"amounts cannot add up to the budget; change the budget or a commitment.")
