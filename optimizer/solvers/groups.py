"""Exact allocation under disjoint group caps: one multiplier for the budget, one per group.

With concave curves and groups whose channel sets do not overlap (a group's ``min``/``max``
and, with an exact budget, its shares), the KKT conditions decompose. At the budget's
multiplier ``lam`` each channel wants the spend where its marginal equals ``lam``; a group whose
wanted total falls outside its bounds is held at the bound it crosses, and its channels then
share that amount at their own multiplier ``mu`` (``mu > lam`` at a cap, ``< lam`` at a
floor). The total is decreasing in ``lam``, so Brent's method finds the ``lam`` that spends the
budget, and each held group is one more separable solve. The Lagrangian dual at these
multipliers is an independent upper bound, so the answer carries a proven gap like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.constants import METHOD_KKT_GROUPS
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.result.allocation import AllocationResult, ShadowPrice
from budgetopt.optimizer.result.certificate import certify
from budgetopt.optimizer.settings import DEFAULT_GAP_TOLERANCE
from budgetopt.optimizer.solvers.envelope import Domains, Envelope, solve_relaxation
from budgetopt.optimizer.solvers.rules import RuleKey, RuleKind
from budgetopt.optimizer.solvers.separable import bound_prices
from scipy.optimize import brentq

__all__ = ["GroupStructure", "disjoint_groups", "GroupSolver"]


@dataclass(frozen=True)
class GroupStructure:
    """Disjoint groups: each channel's group (-1: none), each group's bounds and rule rows."""

    group_of: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    rules: tuple[tuple[int, ...], ...]

    @property
    def count(self) -> int:
        return len(self.rules)

    def totals(self, spend: np.ndarray) -> np.ndarray:
        grouped = self.group_of >= 0
        return np.bincount(self.group_of[grouped], spend[grouped], minlength=self.count)


def disjoint_groups(problem: AllocationProblem) -> GroupStructure | None:
    """The problem's rules as disjoint group bounds, or None when they are anything else.

    Applies to concave curves without minimum commitments whose every rule is a plain sum of
    channels (coefficients 1), rules on the same channels merged, different sets disjoint.
    """
    if not problem.rules or (problem.min_if_on > 0).any() or \
            not problem.curves.is_concave().all():
        return None
    group_of = np.full(len(problem.names), -1, dtype=np.int64)
    keys: dict[tuple[int, ...], int] = {}
    lower, upper, rows = [], [], []
    for k, rule in enumerate(problem.rules):
        if not np.all(rule.coef == 1.0):
            return None
        members = tuple(sorted(int(i) for i in rule.index))
        if members not in keys:
            if (group_of[list(members)] >= 0).any():
                return None
            keys[members] = len(rows)
            group_of[list(members)] = len(rows)
            lower.append(-np.inf)
            upper.append(np.inf)
            rows.append([])
        g = keys[members]
        lower[g], upper[g] = max(lower[g], rule.lower), min(upper[g], rule.upper)
        rows[g].append(k)
    return GroupStructure(group_of, np.array(lower), np.array(upper),
                          tuple(tuple(r) for r in rows))


@dataclass(frozen=True)
class GroupSolver:
    """Settings of the group-decomposition solver; :meth:`solve` does the work.

    :meth:`solve` returns None when the rules cannot be met (the rule-aware engine then
    explains which rules conflict).
    """

    gap_tolerance: float = DEFAULT_GAP_TOLERANCE

    def solve(self, problem: AllocationProblem, groups: GroupStructure
              ) -> AllocationResult | None:
        started = time.perf_counter()
        envelope = Envelope(problem.curves, Domains(problem.lower, problem.upper,
                                                    np.zeros(len(problem.names), bool)))
        lo = np.maximum(groups.lower, groups.totals(problem.lower))
        hi = np.minimum(groups.upper, groups.totals(problem.upper))
        if (lo > hi + _tolerance(hi)).any():
            return None
        held, lam = self._held_groups(problem, envelope, groups, lo, hi)
        if held is None:
            return None
        spend = np.empty(len(problem.names))
        channel_lam = np.full(len(problem.names), lam)
        for g, amount in held.items():
            members = np.flatnonzero(groups.group_of == g)
            part = solve_relaxation(_subset(envelope, members), amount)
            if part is None:
                return None
            spend[members] = part.spend
            channel_lam[members] = _group_multiplier(part.lam, lam, amount >= hi[g],
                                                     amount <= lo[g])
        free = ~np.isin(groups.group_of, list(held))
        if free.any():
            members = np.flatnonzero(free)
            part = solve_relaxation(_subset(envelope, members),
                                    problem.budget - sum(held.values()), problem.price)
            if part is None:
                return None
            spend[members], lam = part.spend, part.lam
            if not np.isfinite(lam):  # nothing left for them: they sit at their lower bounds
                lam = _finite_multiplier(problem.curves.subset(members).marginal(part.spend),
                                         channel_lam[~free])
            channel_lam[members] = lam
        bound = _dual_bound(problem, envelope, groups, lo, hi, lam, channel_lam)
        certificate = certify(METHOD_KKT_GROUPS, problem.objective_value(spend), bound,
                              self.gap_tolerance, scale=problem.scale, effort=1,
                              seconds=time.perf_counter() - started)
        prices = (*bound_prices(problem, spend, lam, channel_lam),
                  *_group_prices(problem, groups, held, lam, channel_lam))
        return AllocationResult(problem=problem, spend=spend, certificate=certificate,
                                multiplier=lam, shadow_prices=prices)

    @staticmethod
    def _held_groups(problem, envelope, groups, lo, hi):
        """Which groups sit at a bound at the budget's multiplier, with their amounts."""
        grouped = groups.group_of >= 0

        def spent(lam: float) -> tuple[float, np.ndarray]:
            x = envelope.spend(lam)
            return float(x[~grouped].sum() + np.clip(groups.totals(x), lo, hi).sum()), x

        least = problem.lower[~grouped].sum() + lo.sum()
        most = problem.upper[~grouped].sum() + hi.sum()
        tolerance = _tolerance(problem.budget)
        if least > problem.budget + tolerance or (problem.price == 0
                                                  and most < problem.budget - tolerance):
            return None, np.nan
        if problem.price > 0 and spent(problem.price)[0] <= problem.budget:
            lam = problem.price
        elif most <= problem.budget:
            lam = 0.0
        else:
            lam = _root(lambda m: spent(m)[0] - problem.budget, envelope, problem.price)
        wanted = groups.totals(envelope.spend(lam))
        at = np.where(wanted >= hi - _tolerance(hi), hi,
                      np.where(wanted <= lo + _tolerance(lo), lo, np.nan))
        return {g: float(at[g]) for g in np.flatnonzero(np.isfinite(at))}, lam


def _group_multiplier(mu: float, lam: float, at_cap: bool, at_floor: bool) -> float:
    """The held group's multiplier, on the side of ``lam`` its binding bound allows.

    A group whose channels all sit at their own bounds has no multiplier of its own (the
    separable solve reports 0 or inf); ``lam`` prices it then.
    """
    if not np.isfinite(mu):
        return lam
    if at_cap and not at_floor:
        return max(mu, lam)
    if at_floor and not at_cap:
        return min(mu, lam)
    return mu


def _finite_multiplier(free_marginals: np.ndarray, held_multipliers: np.ndarray) -> float:
    """A finite budget multiplier when the held groups take the whole budget.

    Any finite multiplier gives a valid dual bound; the largest marginal of the free channels
    at their lower bounds makes it exact (at the optimum none of them exceeds a capped group's
    multiplier), the held groups' largest multiplier stands in when those are all infinite.
    """
    for candidates in (free_marginals, held_multipliers):
        finite = candidates[np.isfinite(candidates)]
        if finite.size:
            return float(finite.max())
    return 0.0


def _tolerance(amount) -> np.ndarray:
    return 1e-12 * np.maximum(np.abs(amount), 1.0)


def _root(excess, envelope: Envelope, price: float) -> float:
    """The multiplier where ``excess`` (decreasing in it) crosses 0, on a log scale."""
    marginal = envelope.curves.marginal(envelope.domains.lo)
    high = float(np.log(max(marginal[np.isfinite(marginal)].max(initial=1.0), 1e-300) * 2))
    while excess(np.exp(high)) > 0:
        high += 5.0
    if price > 0:
        low = float(np.log(price))
    else:
        low = float(np.log(max(envelope.curves.marginal(envelope.domains.hi).min(), 1e-300)))
        while excess(np.exp(low)) < 0:
            low -= 5.0
    return float(np.exp(brentq(lambda t: excess(np.exp(t)), low, high, xtol=1e-15,
                               rtol=4 * np.finfo(float).eps, maxiter=500)))


def _subset(envelope: Envelope, members: np.ndarray) -> Envelope:
    domains = envelope.domains
    return Envelope(envelope.curves.subset(members),
                    Domains(domains.lo[members], domains.hi[members], domains.off[members]))


def _dual_bound(problem, envelope, groups, lo, hi, lam, channel_lam) -> float:
    """The Lagrangian dual at the multipliers found: an upper bound on every feasible plan.

    Channel i is priced at ``channel_lam[i] = lam + alpha_g - beta_g``, with alpha_g >= 0 on the
    group's cap and beta_g >= 0 on its floor; each channel's best response is exact (concave
    curve), so the dual value bounds the optimum whatever the multipliers' accuracy.
    """
    best = envelope.spend(channel_lam)
    value = problem.curves.value(best) - channel_lam * best
    budget_price = lam - problem.price
    gap = np.zeros(groups.count)
    grouped = groups.group_of >= 0
    np.maximum.at(gap, groups.group_of[grouped], channel_lam[grouped] - lam)
    floor_gap = np.zeros(groups.count)
    np.maximum.at(floor_gap, groups.group_of[grouped], lam - channel_lam[grouped])
    group_term = np.where(gap > 0, gap * hi, 0.0) - np.where(floor_gap > 0, floor_gap * lo, 0.0)
    return float(value.sum() + budget_price * problem.budget + group_term.sum())


def _group_prices(problem, groups, held, lam, channel_lam) -> list[ShadowPrice]:
    """What loosening each held group's binding rule by one unit gains."""
    prices = []
    for g, amount in held.items():
        mu = float(channel_lam[groups.group_of == g][0])
        gain, side = (mu - lam, "upper") if mu > lam else (lam - mu, "lower")
        if gain <= 1e-9 * max(abs(lam), 1e-12):
            continue
        for k in groups.rules[g]:
            rule = problem.rules[k]
            bound = rule.upper if side == "upper" else rule.lower
            if np.isfinite(bound) and abs(bound - amount) <= 1e-9 * max(abs(amount), 1.0):
                prices.append(ShadowPrice(f"{rule.name} ({side})", float(gain),
                                          RuleKey(RuleKind.LINEAR, k)))
                break
    return prices
