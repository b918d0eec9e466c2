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
from scipy.optimize import brentq

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

    def spend(self, lam: float) -> np.ndarray:
        """Each channel's maximiser of envelope(x) - lam * x."""
        on_curve = self.curves.spend_at_marginal(lam, self.c, self.domains.hi)
        return np.where(lam >= self.slope, self.a, on_curve)

    def value(self, x) -> np.ndarray:
        on_chord = self.f_a + np.where(np.isfinite(self.slope), self.slope, 0.0) * (x - self.a)
        return np.where(x < self.c, on_chord, self.curves.value(x))

    def on_chord(self, x) -> np.ndarray:
        """Channels strictly inside a chord, where the envelope may exceed the curve."""
        return (x > self.a) & (x < self.c)


@dataclass(frozen=True)
class Relaxation:
    """Exact optimum of the envelope problem: spend, its envelope value and the multiplier."""

    spend: np.ndarray
    bound: float
    lam: float


def solve_relaxation(envelope: Envelope, budget: float, price: float = 0.0) -> Relaxation | None:
    """Maximise sum(envelope) - price * sum(spend); None if the budget cannot be met.

    With ``price`` 0 the spend adds up to exactly ``budget``; with a positive price the budget is
    a ceiling and binds only when spending until every marginal falls to ``price`` costs more.
    The total spend at multiplier ``lam`` falls as ``lam`` rises; Brent's method finds the
    ``lam`` where it crosses the budget, and the residual of the final bracket is given to the
    channels whose spend changes inside it, one at a time (so at most one chord is left partly
    used, which keeps the rounding in branch-and-bound tight).
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

    total = lambda log_lam: envelope.spend(np.exp(log_lam)).sum() - budget
    log_high = np.log(_largest_marginal(envelope))
    for _ in range(200):
        if total(log_high) <= 0:
            break
        log_high += 5.0
    if price > 0:
        log_low = np.log(price)
    else:
        log_low = np.log(max(envelope.curves.marginal(envelope.domains.hi).min(), 1e-300))
        for _ in range(200):
            if total(log_low) >= 0:
                break
            log_low -= 5.0
    root = brentq(total, log_low, log_high, xtol=1e-15, rtol=4 * np.finfo(float).eps,
                  maxiter=500)
    step = 1e-13 * max(1.0, abs(root))
    while True:
        more, less = envelope.spend(np.exp(root - step)), envelope.spend(np.exp(root + step))
        if more.sum() >= budget >= less.sum():
            break
        step *= 10.0
    room = more - less
    residual = budget - less.sum()
    before = np.cumsum(room) - room
    spend = less + np.clip(residual - before, 0.0, room)
    return _relaxation(envelope, spend, float(np.exp(root)), price)


def _relaxation(envelope: Envelope, spend: np.ndarray, lam: float, price: float) -> Relaxation:
    bound = float(envelope.value(spend).sum()) - price * float(spend.sum())
    return Relaxation(spend=spend, bound=bound, lam=lam)


def _largest_marginal(envelope: Envelope) -> float:
    """A multiplier at or above every channel's steepest envelope slope (finite)."""
    start = np.where(np.isfinite(envelope.slope), envelope.slope,
                     envelope.curves.marginal(envelope.a))
    finite = start[np.isfinite(start)]
    return float(finite.max()) * 2.0 if finite.size and finite.max() > 0 else 1.0
