"""Response-curve families and a vectorised set of curves, one per channel.

Every family is increasing in spend ``x`` and is written as ``beta * phi(x / k)`` (``linear`` is
``beta * x``). A family declares its formula, first derivative, where it turns concave, and how to
invert its derivative on the concave branch; :class:`CurveSet` evaluates thousands or millions of
channels at once with one numpy call per family present, never a Python loop per channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

__all__ = ["CurveFamily", "FAMILIES", "CurveSet", "register_family"]

FAMILIES: dict[str, "CurveFamily"] = {}


def register_family(cls: type["CurveFamily"]) -> type["CurveFamily"]:
    """Class decorator adding a family to :data:`FAMILIES` under its ``name``."""
    if cls.name in FAMILIES:
        raise ValueError(f"Duplicate curve family {cls.name!r}.")
    cls.code = len(FAMILIES)
    FAMILIES[cls.name] = cls()
    return cls


class CurveFamily:
    """One response-curve family. Methods take parameter arrays of equal shape."""

    name: str = ""
    code: int = -1
    param_names: tuple[str, ...] = ("beta", "k")
    formula: str = ""

    def value(self, x, beta, k, s):
        raise NotImplementedError

    def marginal(self, x, beta, k, s):
        """First derivative d value / d x."""
        raise NotImplementedError

    def inflection(self, k, s):
        """Spend below which the curve is convex (0 for concave families)."""
        return np.zeros_like(k)

    def is_concave(self, s):
        return np.ones(np.shape(s), dtype=bool)

    def spend_at_marginal(self, lam, beta, k, s, lo, hi):
        """The x in [lo, hi] where the marginal equals ``lam``, clipped to the interval.

        Requires ``lo`` on the concave branch (``lo >= inflection``), where the marginal is
        decreasing, so this is the maximiser of ``value(x) - lam * x`` over [lo, hi].
        """
        raise NotImplementedError


@register_family
class Hill(CurveFamily):
    name = "hill"
    param_names = ("beta", "k", "s")
    formula = "beta * x^s / (x^s + k^s)"

    def value(self, x, beta, k, s):
        with np.errstate(divide="ignore"):
            return beta * expit(s * np.log(x / k))

    def _log_marginal(self, t, beta, k, s):
        """log f'(x) as a function of t = log(x / k): concave in t."""
        return np.log(beta * s / k) + (s - 1.0) * t - 2.0 * np.logaddexp(0.0, s * t)

    def marginal(self, x, beta, k, s):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.log(x / k)
            out = np.exp(self._log_marginal(t, beta, k, s))
        at_zero = x <= 0
        if np.any(at_zero):
            zero_slope = np.where(s < 1, np.inf, np.where(s == 1, beta / k, 0.0))
            out = np.where(at_zero, zero_slope, out)
        return out

    def inflection(self, k, s):
        ratio = np.clip((s - 1.0) / (s + 1.0), 0.0, None)
        with np.errstate(divide="ignore"):
            return k * ratio ** (1.0 / s)

    def is_concave(self, s):
        return np.asarray(s) <= 1.0

    def spend_at_marginal(self, lam, beta, k, s, lo, hi):
        x = np.where(self.marginal(hi, beta, k, s) >= lam, hi, lo)
        inside = (self.marginal(lo, beta, k, s) > lam) & (self.marginal(hi, beta, k, s) < lam)
        if np.any(inside):
            x[inside] = self._newton_from_right(
                np.broadcast_to(lam, x.shape)[inside], beta[inside], k[inside], s[inside],
                hi[inside])
        return np.clip(x, lo, hi)

    def _newton_from_right(self, lam, beta, k, s, hi):
        """Solve log f'(x) = log lam on the decreasing branch, starting right of the root.

        log f' is concave in t = log(x / k), so Newton from the right converges monotonically.
        """
        target = np.log(lam)
        t = np.log(hi / k)
        active = np.arange(t.size)
        for _ in range(100):
            b, kk, ss, tt = beta[active], k[active], s[active], t[active]
            residual = self._log_marginal(tt, b, kk, ss) - target[active]
            slope = (ss - 1.0) - 2.0 * ss * expit(ss * tt)
            step = residual / slope
            t[active] = tt - step
            active = active[np.abs(step) > 1e-14 * (1.0 + np.abs(tt))]
            if active.size == 0:
                break
        return k * np.exp(t)


@register_family
class Exponential(CurveFamily):
    name = "exponential"
    formula = "beta * (1 - exp(-x / k))"

    def value(self, x, beta, k, s):
        return -beta * np.expm1(-x / k)

    def marginal(self, x, beta, k, s):
        return beta / k * np.exp(-x / k)

    def spend_at_marginal(self, lam, beta, k, s, lo, hi):
        with np.errstate(divide="ignore"):
            x = k * np.log(beta / (k * lam))
        return np.clip(x, lo, hi)


@register_family
class Logistic(CurveFamily):
    name = "logistic"
    formula = "beta * (1 - exp(-x / k)) / (1 + exp(-x / k))"

    def value(self, x, beta, k, s):
        return beta * np.tanh(x / (2.0 * k))

    def marginal(self, x, beta, k, s):
        decay = np.exp(-x / k)
        return 2.0 * beta / k * decay / (1.0 + decay) ** 2

    def spend_at_marginal(self, lam, beta, k, s, lo, hi):
        ratio = np.clip(2.0 * k * lam / beta, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            x = 2.0 * k * np.arccosh(1.0 / np.sqrt(ratio))
        return np.clip(x, lo, hi)


@register_family
class Log(CurveFamily):
    name = "log"
    formula = "beta * ln(1 + x / k)"

    def value(self, x, beta, k, s):
        return beta * np.log1p(x / k)

    def marginal(self, x, beta, k, s):
        return beta / (k + x)

    def spend_at_marginal(self, lam, beta, k, s, lo, hi):
        return np.clip(beta / lam - k, lo, hi)


@register_family
class Linear(CurveFamily):
    name = "linear"
    param_names = ("beta",)
    formula = "beta * x"

    def value(self, x, beta, k, s):
        return beta * x

    def marginal(self, x, beta, k, s):
        return np.broadcast_to(beta, np.shape(x)).astype(float)

    def spend_at_marginal(self, lam, beta, k, s, lo, hi):
        return np.where(beta > lam, hi, lo).astype(float)


FAMILY_BY_CODE = sorted(FAMILIES.values(), key=lambda family: family.code)


@dataclass(frozen=True)
class CurveSet:
    """Response curves of n channels as parameter arrays, each of shape ``(n,)``.

    ``s`` is only used by ``hill`` and ``k`` not by ``linear``; unused entries hold 1.0.
    """

    family: np.ndarray
    beta: np.ndarray
    k: np.ndarray
    s: np.ndarray

    @classmethod
    def from_lists(cls, families, beta, k=None, s=None) -> "CurveSet":
        n = len(families)
        codes = np.array([FAMILIES[name].code for name in families], dtype=np.int8)
        as_array = lambda values: np.ones(n) if values is None else np.asarray(values, float)
        return cls(codes, as_array(beta), as_array(k), as_array(s))

    def __len__(self) -> int:
        return self.family.size

    @property
    def family_names(self) -> list[str]:
        return [FAMILY_BY_CODE[code].name for code in self.family]

    def subset(self, index) -> "CurveSet":
        return CurveSet(self.family[index], self.beta[index], self.k[index], self.s[index])

    def scaled(self, x_scale, y_scale) -> "CurveSet":
        """The curves of ``y_scale * f(x_scale * x)``, same families."""
        x_scale = np.broadcast_to(np.asarray(x_scale, float), self.beta.shape)
        y_scale = np.broadcast_to(np.asarray(y_scale, float), self.beta.shape)
        linear = self.family == Linear.code
        beta = self.beta * y_scale * np.where(linear, x_scale, 1.0)
        k = np.where(linear, self.k, self.k / x_scale)
        return CurveSet(self.family, beta, k, self.s)

    def _apply(self, method: str, *arrays, out=None):
        """Call ``method`` of each family present on its channels' slices of ``arrays``."""
        arrays = [np.broadcast_to(np.asarray(a, float), self.beta.shape) for a in arrays]
        result = np.empty(self.beta.shape) if out is None else out
        for family in FAMILY_BY_CODE:
            mask = self.family == family.code
            if not mask.any():
                continue
            if mask.all():
                params = (self.beta, self.k, self.s)
                args = arrays
            else:
                params = (self.beta[mask], self.k[mask], self.s[mask])
                args = [a[mask] for a in arrays]
            value = getattr(family, method)(*args[:1], *params, *args[1:])
            if mask.all():
                result[...] = value
            else:
                result[mask] = value
        return result

    def value(self, x):
        return self._apply("value", x)

    def channel_value(self, i: int, x):
        """Channel ``i``'s curve at every point of ``x`` (any shape)."""
        family = FAMILY_BY_CODE[self.family[i]]
        return family.value(np.asarray(x, float), self.beta[i], self.k[i], self.s[i])

    def channel_marginal(self, i: int, x):
        """Channel ``i``'s marginal at every point of ``x`` (any shape)."""
        family = FAMILY_BY_CODE[self.family[i]]
        x = np.asarray(x, float)
        shape = np.broadcast_shapes(x.shape)
        full = lambda v: np.full(shape, v)
        return family.marginal(x, full(self.beta[i]), full(self.k[i]), full(self.s[i]))

    def marginal(self, x):
        return self._apply("marginal", x)

    def spend_at_marginal(self, lam, lo, hi):
        return self._apply("spend_at_marginal", lam, lo, hi)

    def inflection(self):
        result = np.zeros(self.beta.shape)
        for family in FAMILY_BY_CODE:
            mask = self.family == family.code
            if mask.any():
                result[mask] = family.inflection(self.k[mask], self.s[mask])
        return result

    def is_concave(self):
        result = np.ones(self.beta.shape, dtype=bool)
        hill = self.family == Hill.code
        result[hill] = self.s[hill] <= 1.0
        return result

    def tangent_point(self, a):
        """For each channel, the point c >= a where the line from (a, f(a)) touches f.

        This is where the concave envelope of f on [a, inf) leaves its straight segment;
        c = a wherever f is concave from a onwards.
        """
        a = np.asarray(a, float)
        inflection = self.inflection()
        c = np.maximum(a, 0.0).copy()
        todo = np.flatnonzero(a < inflection)
        if todo.size == 0:
            return c
        sub = self.subset(todo)
        a_sub, low = a[todo], inflection[todo]
        f_a = sub.value(a_sub)
        gap = lambda t: sub.value(t) - f_a - sub.marginal(t) * (t - a_sub)
        high = 2.0 * low
        for _ in range(200):
            short = gap(high) <= 0
            if not short.any():
                break
            high = np.where(short, high * 4.0, high)
        log_lo, log_hi = np.log(low), np.log(high)
        for _ in range(80):
            mid = 0.5 * (log_lo + log_hi)
            positive = gap(np.exp(mid)) > 0
            log_hi = np.where(positive, mid, log_hi)
            log_lo = np.where(positive, log_lo, mid)
        c[todo] = np.exp(log_hi)
        return c
