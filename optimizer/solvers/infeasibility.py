"""Why no allocation satisfies the rules: quick arithmetic checks, then a minimal conflicting set.

The conflicting set comes from a deletion filter: drop each rule in turn and keep it out when
the rest is still infeasible. What remains is irreducible: every rule in it is needed for the
conflict, so loosening any one of them resolves it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pulp
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.solvers.lp_engine import make_solver
from budgetopt.optimizer.solvers.rules import BUDGET, RuleKey, RuleKind, add_budget_and_rules

__all__ = ["NamedRule", "explain_infeasible", "conflict_message", "named_rules"]


@dataclass(frozen=True)
class NamedRule:
    """A rule as the deletion filter sees it: its key, and a text for the user."""

    key: RuleKey
    text: str


def conflict_message(rules: list[NamedRule], feasible: Callable[[set[RuleKey]], bool],
                     what: str = "allocation") -> str:
    """Deletion filter: the minimal set of ``rules`` that ``feasible(keys)`` rejects, as text."""
    keep = list(rules)
    for rule in rules:
        trial = [r for r in keep if r is not rule]
        if not feasible({r.key for r in trial}):
            keep = trial
    lines = "\n".join(f"  - {rule.text}" for rule in keep)
    return f"no {what} satisfies these rules together; loosen or remove one of them:\n{lines}"


def explain_infeasible(problem: AllocationProblem, time_limit: float) -> str:
    """A message naming the rules that conflict, with their numbers."""
    return _arithmetic_conflict(problem) or conflict_message(
        named_rules(problem), lambda active: _feasible(problem, active, time_limit))


def named_rules(problem: AllocationProblem) -> list[NamedRule]:
    """The budget, every group and ratio rule, and each channel's min, commitment and max."""
    relation = "<=" if problem.budget_is_ceiling else "="
    rules = [NamedRule(BUDGET, f"budget: total spend {relation} {problem.budget:,.2f}")]
    for k, rule in enumerate(problem.rules):
        bounds = []
        if np.isfinite(rule.lower):
            bounds.append(f">= {rule.lower:,.2f}")
        if np.isfinite(rule.upper):
            bounds.append(f"<= {rule.upper:,.2f}")
        rules.append(NamedRule(RuleKey(RuleKind.LINEAR, k), f"{rule.name}: {' and '.join(bounds)}"))
    for i, name in enumerate(problem.names):
        if problem.lower[i] > 0:
            rules.append(NamedRule(RuleKey(RuleKind.CHANNEL_MIN, i),
                                   f"channel '{name}' min: >= {problem.lower[i]:,.2f}"))
        if problem.min_if_on[i] > 0:
            rules.append(NamedRule(RuleKey(RuleKind.COMMITMENT, i),
                                   f"channel '{name}' min_if_on: 0 or >= "
                                   f"{problem.min_if_on[i]:,.2f}"))
        if problem.upper[i] < problem.budget:
            rules.append(NamedRule(RuleKey(RuleKind.CHANNEL_MAX, i),
                                   f"channel '{name}' max: <= {problem.upper[i]:,.2f}"))
    return rules


def _arithmetic_conflict(problem: AllocationProblem) -> str | None:
    """A rule over channels with non-negative weights that its channels' bounds cannot meet."""
    highest = problem.upper
    lowest = problem.lowest_spend
    for rule in problem.rules:
        if np.any(rule.coef < 0):
            continue
        reach = float(rule.coef @ highest[rule.index])
        floor = float(rule.coef @ lowest[rule.index])
        if rule.lower > reach * (1 + 1e-9):
            return (f"{rule.name}: needs >= {rule.lower:,.2f}, but its channels' maximums add "
                    f"up to {reach:,.2f}; lower the requirement or raise a channel's max.")
        if rule.upper < floor * (1 - 1e-9):
            return (f"{rule.name}: allows <= {rule.upper:,.2f}, but its channels' minimums add "
                    f"up to {floor:,.2f}; raise the limit or lower a channel's min.")
    return None


def _feasible(problem: AllocationProblem, active: set[RuleKey], time_limit: float) -> bool:
    """Whether some spend meets the ``active`` rules (other bounds relaxed to 0..budget)."""
    lp = pulp.LpProblem("feasibility", pulp.LpMinimize)
    spend = []
    for i in range(len(problem.names)):
        low = problem.lower[i] if RuleKey(RuleKind.CHANNEL_MIN, i) in active else 0.0
        high = (problem.upper[i] if RuleKey(RuleKind.CHANNEL_MAX, i) in active
                else problem.budget)
        x = lp.add_variable(f"x{i}", lowBound=low, upBound=high)
        if RuleKey(RuleKind.COMMITMENT, i) in active:
            on = lp.add_variable(f"on{i}", 0, 1, cat=pulp.LpBinary)
            lp += x >= problem.min_if_on[i] * on
            lp += x <= high * on
        spend.append(x)
    lp += pulp.lpSum([])
    every = {BUDGET, *(RuleKey(RuleKind.LINEAR, k) for k in range(len(problem.rules)))}
    add_budget_and_rules(lp, problem, spend, skip=every - active)
    lp.solve(make_solver(time_limit))
    return pulp.LpStatus[lp.status] == "Optimal"
