"""The rules of an allocation as named LP rows: the budget, groups and ratios, channel totals.

Every rule has a typed :class:`RuleKey`; its LP row names come from the key, so the deletion
filter (which rules conflict) and the shadow prices (what a binding rule costs) find the rows
without parsing strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import pulp
from budgetopt.optimizer.problem.allocation import AllocationProblem

__all__ = ["RuleKind", "RuleKey", "BUDGET", "LOWER", "UPPER", "add_budget_and_rules",
           "add_channel_totals"]

LOWER, UPPER = "lower", "upper"


class RuleKind(Enum):
    BUDGET = "budget"
    LINEAR = "rule"  # a group or ratio row: index into problem.rules
    CHANNEL_MIN = "min"
    CHANNEL_MAX = "max"
    COMMITMENT = "commit"  # min_if_on
    PACING = "pacing"
    STEP = "step"  # max_step_change


@dataclass(frozen=True)
class RuleKey:
    """One rule of a problem: its kind and the channel, rule or pacing window it belongs to."""

    kind: RuleKind
    index: int = 0

    def row(self, side: str = "") -> str:
        """The LP row name of this rule (``side``: LOWER or UPPER of a two-sided rule)."""
        return f"{self.kind.value}{self.index}" + (f"_{side}" if side else "")


BUDGET = RuleKey(RuleKind.BUDGET)


def add_budget_and_rules(lp: pulp.LpProblem, problem: AllocationProblem, spend, *,
                         skip=frozenset()) -> None:
    """The budget row and every group and ratio row over the channel ``spend`` expressions."""
    if BUDGET not in skip:
        total = pulp.lpSum(spend)
        lp += (total <= problem.budget if problem.budget_is_ceiling else
               total == problem.budget, BUDGET.row())
    for k, rule in enumerate(problem.rules):
        key = RuleKey(RuleKind.LINEAR, k)
        if key in skip:
            continue
        activity = pulp.lpSum(float(c) * spend[i] for i, c in zip(rule.index, rule.coef))
        if np.isfinite(rule.lower):
            lp += (activity >= rule.lower, key.row(LOWER))
        if np.isfinite(rule.upper):
            lp += (activity <= rule.upper, key.row(UPPER))


def add_channel_totals(lp: pulp.LpProblem, problem: AllocationProblem, totals, *,
                       skip=frozenset()) -> None:
    """Each channel's min, max and minimum commitment as rows over its total spend (a plan's
    channels spend in many periods, so their bounds are rows, not variable bounds)."""
    for c, total in enumerate(totals):
        if problem.lower[c] > 0 and RuleKey(RuleKind.CHANNEL_MIN, c) not in skip:
            lp += (total >= float(problem.lower[c]), RuleKey(RuleKind.CHANNEL_MIN, c).row())
        if problem.upper[c] < problem.budget and RuleKey(RuleKind.CHANNEL_MAX, c) not in skip:
            lp += (total <= float(problem.upper[c]), RuleKey(RuleKind.CHANNEL_MAX, c).row())
        if problem.min_if_on[c] > 0 and RuleKey(RuleKind.COMMITMENT, c) not in skip:
            on = lp.add_variable(f"on{c}", 0, 1, cat=pulp.LpBinary)
            lp += total >= float(problem.min_if_on[c]) * on
            lp += total <= float(problem.upper[c]) * on
