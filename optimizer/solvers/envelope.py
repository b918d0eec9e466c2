"""Concave envelopes of channel curves and the exact solution of the envelope problem.

On a channel domain {0} ∪ [lo, hi] (or just [lo, hi]) the concave envelope of an increasing
curve that is convex then concave (an S-curve, or a concave curve behind a minimum commitment)
is a straight chord from the domain's left end ``a`` to a point ``c``, then the curve itself on
[c, hi]. Maximising the sum of envelopes under a budget is a concave separable problem; its
solution is found exactly by the Lagrange multiplier ``lam`` of the budget: every channel spends
where its envelope's marginal equals ``lam`` (KKT), and ``lam`` is solved to machine precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.model.curves import CurveSet

__all__ = ["Domains", "Envelope", "Relaxation", "solve_relaxation"]


@dataclass(frozen=True)
class Domains:
    """Feasible spend of each channel: [lo, hi], or {0} ∪ [lo, hi] where ``off`` is set."""

    lo: np.ndarray
    hi: np.ndarray
    off: np.ndarray

    def with_channel(self, i: int, lo: float, hi: float, off: bool) -> Domains:
        lo_, hi_, off_ = self.lo.copy(), self.hi.copy(), self.off.copy()
        lo_[i], hi_[i], off_[i] = lo, hi, off
        return Domains(lo_, hi_, off_)


class Envelope:
    """The concave envelopes of ``curves`` over ``domains``, as arrays per channel."""

    def __init__(self, curves: CurveSet, domains: Domains, *, _parts=None):
        self.curves, self.domains = curves, domains
        self.a, self.c, self.f_a, self.f_c, self.slope = (
            _parts if _parts is not None else self._chords(curves, domains))

    @staticmethod
    def _chords(curves: CurveSet, domains: Domains):
        a = np.where(domains.off, 0.0, domains.lo)
        c = np.minimum(domains.hi, np.maximum(curves.tangent_point(a), domains.lo))
        f_a, f_c = curves.value(a), curves.value(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(c > a, (f_c - f_a) / (c - a), np.inf)
        return a, c, f_a, f_c, slope

    def with_channel(self, i: int, lo: float, hi: float, off: bool) -> Envelope:
        """The envelope after replacing channel ``i``'s domain (other channels are reused)."""
        domains = self.domains.with_channel(i, lo, hi, off)
        one = self.curves.subset([i])
        single = Domains(domains.lo[[i]], domains.hi[[i]], domains.off[[i]])
        parts = [array.copy() for array in (self.a, self.c, self.f_a, self.f_c, self.slope)]
        for array, value in zip(parts, self._chords(one, single)):
            array[i] = value[0]
        return Envelope(self.curves, domains, _parts=parts)

    def spend(self, lam: float, right: np.ndarray | None = None,
              start: np.ndarray | None = None) -> np.ndarray:
        """Each channel's maximiser of envelope(x) - lam * x.

        ``right`` is the spend at a smaller multiplier, which the answer cannot exceed: the
        search on the curve starts there instead of at the domain's end. ``start`` is the
        spend at a nearby multiplier, from which the search on the curve starts instead.
        """
        hi = self.domains.hi
        if right is not None:
            hi = np.where(right >= self.c, np.minimum(hi, right), hi)
        if start is None:
            on_curve = self.curves.spend_at_marginal(lam, self.c, hi)
            return np.where(lam >= self.slope, self.a, on_curve)
        # a channel whose chord is at least as steep as lam stays at a: no search for it
        searched = lam < self.slope
        if searched.all():
            return self.curves.spend_at_marginal_from(lam, self.c, hi, start)
        spend = self.a.copy()
        curve = np.flatnonzero(searched)
        spend[curve] = self.curves.subset(curve).spend_at_marginal_from(
            lam, self.c[curve], hi[curve], start[curve])
        return spend

    def respend(self, lam: float, known: np.ndarray, i: int) -> np.ndarray:
        """spend(lam), given ``known``: the spend at lam of an envelope that differs from
        this one in channel ``i``'s domain only (no pass over the other channels)."""
        one = Envelope(self.curves.subset([i]),
                       Domains(self.domains.lo[[i]], self.domains.hi[[i]],
                               self.domains.off[[i]]),
                       _parts=[array[[i]] for array in (self.a, self.c, self.f_a, self.f_c,
                                                        self.slope)])
        spend = known.copy()
        spend[i] = one.spend(lam)[0]
        return spend

    def spend_slope(self, lam: float, x: np.ndarray) -> float:
        """d total spend / d log(lam) at the spend ``x = spend(lam)``: lam / f''(x) summed over
        the channels strictly inside the curve part of their envelope (others do not move)."""
        inside = (x > self.c) & (x < self.domains.hi) & (x > self.a)
        if not inside.any():
            return 0.0
        curvature = self.curves.subset(np.flatnonzero(inside)).curvature(x[inside])
        moving = curvature < 0
        return float(np.sum(lam / curvature[moving]))

    def value(self, x) -> np.ndarray:
        on_chord = self.f_a + np.where(np.isfinite(self.slope), self.slope, 0.0) * (x - self.a)
        return np.where(x < self.c, on_chord, self.curves.value(x))

    def on_chord(self, x) -> np.ndarray:
        """Channels strictly inside a chord, where the envelope may exceed the curve."""
        return (x > self.a) & (x < self.c)


@dataclass(frozen=True)
class Relaxation:
    """Exact optimum of the envelope problem: spend, its envelope value and the multiplier.

    ``at_lam`` is each channel's maximiser of envelope(x) - lam x (``spend`` is that with the
    budget's residual given to channels that jump at lam), where known.
    """

    spend: np.ndarray
    bound: float
    lam: float
    at_lam: np.ndarray | None = None


def solve_relaxation(envelope: Envelope, budget: float, price: float = 0.0,
                     near: float = np.nan, start: np.ndarray | None = None,
                     exact: bool = False) -> Relaxation | None:
    """Maximise sum(envelope) - price * sum(spend); None if the budget cannot be met.

    With ``price`` 0 the spend adds up to exactly ``budget``; with a positive price the budget is
    a ceiling and binds only when spending until every marginal falls to ``price`` costs more.
    The total spend at multiplier ``lam`` falls as ``lam`` rises; a safeguarded Newton method
    (:func:`_newton_root`) finds the ``lam`` where it crosses the budget, and the residual of
    the final bracket is given to the channels whose spend changes inside it, one at a time
    (so at most one chord is left partly used, which keeps the rounding in branch-and-bound
    tight). ``near`` is a multiplier close to the answer (a parent node's), where the search
    starts, and ``start`` the spend there (``exact``: the spend at exactly ``near``, which
    saves the search its first pass). The bound is the Lagrangian dual at the better end of
    the final bracket.
    """
    low_total, high_total = envelope.a.sum(), envelope.domains.hi.sum()
    tolerance = 1e-9 * max(budget, 1.0)
    if low_total > budget + tolerance:
        return None
    if price > 0:
        spend = envelope.spend(price)
        if spend.sum() <= budget:
            return _relaxation(envelope, spend, price, price)
    elif high_total < budget - tolerance:
        return None
    if high_total <= budget:
        return _relaxation(envelope, envelope.domains.hi.copy(), price, price)
    if low_total >= budget:
        return _relaxation(envelope, envelope.a.copy(), np.inf, price)

    # the widest bracket needs no evaluation: at the smallest multiplier every channel spends
    # its most (or what the price allows), at the largest its least
    low = (float(np.log(price)), spend) if price > 0 else (-LOG_RANGE, None)
    guess = float(np.log(near)) if np.isfinite(near) and near > 0 else _cold_guess(envelope,
                                                                                 budget)
    (log_low, more), (log_high, less) = _newton_root(
        envelope, budget, low, (LOG_RANGE, envelope.a.copy()),
        float(np.clip(guess, low[0], LOG_RANGE)), start,
        exact and np.isfinite(near) and near > 0 and low[0] < guess < LOG_RANGE)
    if more is None:
        more = envelope.spend(np.exp(log_low))
    room = more - less
    residual = budget - less.sum()
    before = np.cumsum(room) - room
    spend = less + np.clip(residual - before, 0.0, room)
    value = float(envelope.value(spend).sum()) - price * float(spend.sum())
    # the Lagrangian dual at either end of the bracket bounds the envelope problem exactly
    dual = min(_dual_value(envelope, more, log_low, budget, price),
               _dual_value(envelope, less, log_high, budget, price))
    nearer, at_lam = (log_high, less) if budget - less.sum() <= more.sum() - budget else (
        log_low, more)
    return Relaxation(spend=spend, bound=max(value, dual), lam=float(np.exp(nearer)),
                      at_lam=at_lam)


LOG_RANGE = 700.0  # log multipliers searched: exp() of it stays finite
# the search stops when the channels that move continuously move less than this share of the
# budget across the bracket (the residual then goes to the channels that move inside it, so
# no marginal is off by more than the bracket's width; 1e-9 took twice the evaluations at
# 10^6 channels for no gain the gap can see) and the dual at its ends is within DUAL_SLACK
MOVING_SLACK = 1e-7
DUAL_SLACK = 1e-12


def _cold_guess(envelope: Envelope, budget: float) -> float:
    """log of the median marginal at the even split: where the multiplier search starts."""
    even = np.clip(np.full(envelope.a.shape, budget / envelope.a.size), envelope.domains.lo,
                   envelope.domains.hi)
    guess = float(np.median(envelope.curves.marginal(even)))
    return float(np.clip(np.log(guess), -LOG_RANGE, LOG_RANGE)) if guess > 0 else 0.0


def _newton_root(envelope: Envelope, budget: float, low, high, start: float,
                 spend: np.ndarray | None = None, exact: bool = False):
    """The log multiplier where the total spend crosses ``budget``, and the spend at the two
    ends of the final bracket (at least and at most the budget), starting at ``start`` (where
    the spend is near ``spend``, or with ``exact`` is ``spend``; each evaluation then starts
    from the last one's spend).
    ``low`` and ``high`` are (log lam, spend there) with the total at least and at most the
    budget; the spend at ``low`` may be None (not evaluated: every channel at its most).

    Newton's method on log(lam) with the analytic slope (:meth:`Envelope.spend_slope`, or the
    secant through the last point where that is steeper: channels jumping off their chords add
    to the slope what the derivative misses), kept inside a bracket that every evaluation
    shrinks; a step leaving it, or one that does not halve the excess, is replaced by a cut at
    the jumps (:func:`_split_point`). Stops when the total is the budget to machine
    precision, or when the channels that move continuously move less than MOVING_SLACK of
    the budget across the bracket (what is left is a channel jumping, off its chord or a
    linear one, which the caller splits) and the dual bound at its ends exceeds the optimum by
    less than DUAL_SLACK of lam x budget.
    """
    (log_low, more), (log_high, less) = low, high
    t = start
    tolerance = 1e-13 * max(budget, 1.0)  # sums of many floats carry this much noise
    last, previous, moving = np.inf, None, -np.inf
    for _ in range(200):
        width = log_high - log_low
        gap = _dual_gap(more, less, log_low, log_high, budget)
        if width <= 1e-15 * max(1.0, abs(t)) or (
                -moving * width <= MOVING_SLACK * max(budget, 1.0)
                and np.isfinite(gap) and gap <= DUAL_SLACK * _scale(log_high, budget)):
            break
        x = spend if exact else envelope.spend(np.exp(t), right=more, start=spend)
        spend, exact = x, False
        excess = float(x.sum()) - budget
        if abs(excess) <= tolerance:
            return (t, x), (t, x)
        if excess > 0:
            log_low, more = t, x
        else:
            log_high, less = t, x
        moving = slope = envelope.spend_slope(np.exp(t), x)
        if previous is not None and previous[0] != t:
            slope = min(slope, (excess - previous[1]) / (t - previous[0]))
        previous = (t, excess)
        step = t - excess / slope if slope < 0 else np.nan
        slow = abs(excess) > 0.5 * last  # Newton that does not halve the excess
        last = abs(excess)
        t = step if log_low < step < log_high and not slow else \
            _split_point(envelope, log_low, log_high)
        if not log_low < t < log_high:  # a jump at an end, to rounding: halve instead
            t = 0.5 * (log_low + log_high)
    return (log_low, more), (log_high, less)


def _dual_gap(more, less, log_low: float, log_high: float, budget: float) -> float:
    """How far the dual at the bracket's better end may exceed the envelope optimum: the dual
    is convex in lam with slope budget - total spend, so at most the bracket's width in lam
    times the smaller excess at its ends (unknown, inf, while an end is still the search
    range's own: exp(LOG_RANGE) times a budget overflows, and inf <= inf must not stop it)."""
    if more is None or log_high >= LOG_RANGE or log_low <= -LOG_RANGE:
        return np.inf
    excess = min(float(more.sum()) - budget, budget - float(less.sum()))
    with np.errstate(over="ignore"):  # an end not evaluated yet is at exp(LOG_RANGE)
        return (np.exp(log_high) - np.exp(log_low)) * max(excess, 0.0)


def _scale(log_lam: float, budget: float) -> float:
    """lam x budget: the order of the envelope value (concave f(x) >= x f'(x))."""
    with np.errstate(over="ignore"):
        return max(float(np.exp(log_lam)) * max(budget, 1.0), 1e-300)


def _split_point(envelope: Envelope, log_low: float, log_high: float) -> float:
    """Where to cut the bracket when Newton does not serve: the middle chord slope inside it
    (the total jumps there, so the count of jumps halves), just either side of the only one,
    or the midpoint when none is inside."""
    inside = np.log(envelope.slope[(envelope.slope > np.exp(log_low))
                                   & (envelope.slope < np.exp(log_high))])
    middle = 0.5 * (log_low + log_high)
    if inside.size > 1:
        return float(np.sort(inside)[inside.size // 2])
    if inside.size == 1:
        nudge = 1e-15 * max(1.0, abs(inside[0])) * 4
        for point in (inside[0] - nudge, inside[0] + nudge):
            if log_low + 0.5 * nudge < point < log_high - 0.5 * nudge:
                return float(point)
    return middle


def _dual_value(envelope: Envelope, best: np.ndarray, log_lam: float, budget: float,
                price: float) -> float:
    """sum(max_x envelope(x) - lam x) + (lam - price) budget, ``best`` the maximisers."""
    lam = float(np.exp(log_lam))
    with np.errstate(over="ignore", invalid="ignore"):  # inf at an end never evaluated
        value = float((envelope.value(best) - lam * best).sum()) + (lam - price) * budget
    return value if np.isfinite(value) else np.inf


def _relaxation(envelope: Envelope, spend: np.ndarray, lam: float, price: float) -> Relaxation:
    bound = float(envelope.value(spend).sum()) - price * float(spend.sum())
    return Relaxation(spend=spend, bound=bound, lam=lam)
