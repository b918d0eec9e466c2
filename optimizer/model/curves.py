"""Response-curve families and a vectorised set of curves, one per channel.

Every family is increasing in spend ``x`` and is written as ``beta * phi(x / k)`` (``linear`` is
``beta * x``). A family declares its formula, first derivative, where it turns concave, and how to
invert its derivative on the concave branch; :class:`CurveSet` evaluates thousands or millions of
channels at once with one numpy call per family present, never a Python loop per channel.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit

__all__ = ["CurveFamily", "FAMILIES", "PARAMETER_SLOTS", "PARAMETER_RANGES", "CurveSet",
           "register_family", "family"]

FAMILIES: dict[str, CurveFamily] = {}
PARAMETER_SLOTS = ("beta", "k", "s")  # CurveSet keeps one array per slot, shared by families
# What floating point can carry through a curve and its derivative (beyond: a units mistake).
PARAMETER_RANGES = {"beta": (1e-12, 1e15), "k": (1e-9, 1e15), "s": (0.01, 50.0)}
NEWTON_PASSES = 100  # a warm-started marginal solve that has not settled by then has no root
# What each method takes after its data arguments: the family's own parameters, in order.
DATA_ARGUMENTS = {"value": ("x",), "marginal": ("x",), "spend_at_marginal": ("lam", "lo", "hi"),
                  "spend_at_marginal_from": ("lam", "lo", "hi", "start"),
                  "inflection": (), "is_concave": (), "origin_tangent": (), "curvature": ("x",)}


def register_family(cls: type[CurveFamily]) -> type[CurveFamily]:
    """Class decorator adding a family to :data:`FAMILIES` under its ``name``.

    Checks the family's contract first (PyMC-Marketing's check): every parameter it declares
    is a slot of :class:`CurveSet`, has fitting bounds where it is a shape, and is an argument
    of each of its formulas, and every formula argument is declared.
    """
    if cls.name in FAMILIES:
        raise ValueError(f"Duplicate curve family {cls.name!r}.")
    unknown = [p for p in cls.param_names if p not in PARAMETER_SLOTS]
    if unknown or not cls.param_names or cls.param_names[0] != "beta":
        raise ValueError(f"curve family {cls.name!r}: parameters must start with beta and be "
                         f"among {PARAMETER_SLOTS}; got {cls.param_names}.")
    for method, data in DATA_ARGUMENTS.items():
        arguments = tuple(inspect.signature(getattr(cls, method)).parameters)[1:]
        if arguments[:len(data)] != data:
            raise ValueError(f"curve family {cls.name!r}: {method} must take {data} first.")
        declared = arguments[len(data):]
        if declared != ("params",) and declared != cls.param_names:
            missing = set(cls.param_names) - set(declared)
            extra = set(declared) - set(cls.param_names)
            raise ValueError(f"curve family {cls.name!r}: {method} "
                             + (f"lacks parameter(s) {sorted(missing)}" if missing else "")
                             + (f"takes undeclared parameter(s) {sorted(extra)}" if extra else ""))
    shapes = set(cls.param_names) - {"beta", "k"}
    if shapes - set(cls.shape_bounds):
        raise ValueError(f"curve family {cls.name!r}: no fitting bounds for {sorted(shapes)}.")
    cls.code = len(FAMILIES)
    FAMILIES[cls.name] = cls()
    return cls


def family(name: str) -> CurveFamily:
    """The registered family called ``name``."""
    return FAMILIES[name]


class CurveFamily:
    """One response-curve family. Methods take parameter arrays of equal shape.

    A family declares ``param_names`` (beta first), ``formula``, ``shape_bounds`` (the fitting
    range of each shape parameter beyond beta and k) and its methods; each method takes its
    data arguments, then exactly the declared parameters (checked at registration).
    """

    name: str = ""
    code: int = -1
    param_names: tuple[str, ...] = ("beta", "k")
    formula: str = ""
    shape_bounds: dict[str, tuple[float, float]] = {}

    def value(self, x, *params):
        raise NotImplementedError

    def marginal(self, x, *params):
        """First derivative d value / d x."""
        raise NotImplementedError

    def curvature(self, x, *params):
        """Second derivative d² value / d x²."""
        raise NotImplementedError

    def inflection(self, *params):
        """Spend below which the curve is convex (0 for concave families)."""
        return np.zeros_like(params[0])

    def is_concave(self, *params):
        """Whether each curve is concave on the whole spend axis."""
        return np.ones(np.shape(params[0]), dtype=bool)

    def origin_tangent(self, *params):
        """The point c where the line from the origin touches the curve (0 where concave)."""
        return self.inflection(*params)

    def spend_at_marginal(self, lam, lo, hi, *params):
        """The x in [lo, hi] where the marginal equals ``lam``, clipped to the interval.

        Requires ``lo`` on the concave branch (``lo >= inflection``), where the marginal is
        decreasing, so this is the maximiser of ``value(x) - lam * x`` over [lo, hi].
        """
        raise NotImplementedError

    def spend_at_marginal_from(self, lam, lo, hi, start, *params):
        """:meth:`spend_at_marginal`, where ``start`` is a point near the answer (NaN: none);
        families solved in closed form ignore it."""
        return self.spend_at_marginal(lam, lo, hi, *params)

    def curve(self, x, **slots):
        """``value`` with parameters given by name; slots the family lacks are ignored."""
        return self.value(x, *(slots[name] for name in self.param_names))

    def to_dict(self, values: dict[str, float]) -> dict:
        """The model file's ``curve`` object."""
        return {"type": self.name, **{p: float(values[p]) for p in self.param_names}}


@register_family
class Hill(CurveFamily):
    name = "hill"
    param_names = ("beta", "k", "s")
    formula = "beta * x^s / (x^s + k^s)"
    shape_bounds = {"s": (0.3, 5.0)}

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

    def curvature(self, x, beta, k, s):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t = np.log(x / k)
            return self.marginal(x, beta, k, s) * ((s - 1.0) - 2.0 * s * expit(s * t)) / x

    def inflection(self, beta, k, s):
        ratio = np.clip((s - 1.0) / (s + 1.0), 0.0, None)
        with np.errstate(divide="ignore"):
            return k * ratio ** (1.0 / s)

    def is_concave(self, beta, k, s):
        return np.asarray(s) <= 1.0

    def origin_tangent(self, beta, k, s):
        # f(c) = c f'(c) gives c^s = (s - 1) k^s
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s > 1.0, k * np.clip(s - 1.0, 0.0, None) ** (1.0 / s), 0.0)

    def spend_at_marginal(self, lam, lo, hi, beta, k, s):
        at_hi, at_lo = self.marginal(hi, beta, k, s), self.marginal(lo, beta, k, s)
        x = np.where(at_hi >= lam, hi, lo)
        inside = (at_lo > lam) & (at_hi < lam)
        if np.any(inside):
            x[inside] = self._newton(np.broadcast_to(lam, x.shape)[inside], beta[inside],
                                     k[inside], s[inside], np.log(hi[inside] / k[inside]))[0]
        return np.clip(x, lo, hi)

    def spend_at_marginal_from(self, lam, lo, hi, start, beta, k, s):
        """Newton on log f'(x) = log lam from ``start`` (moved into [lo, hi]), with no
        evaluation at the interval's ends: log f' is concave in t and [lo, hi] lies on its
        decreasing branch, so Newton reaches the root from any start there, and clipping the
        root to [lo, hi] is the answer. A warm start near the answer (the last multiplier's
        spend) takes two or three passes."""
        lam = np.broadcast_to(lam, beta.shape)
        start = np.clip(start, lo, hi)
        usable = np.isfinite(start) & (start > 0)
        if not usable.any():
            return self.spend_at_marginal(lam, lo, hi, beta, k, s)
        x = np.array(lo, float)  # a single point (lo = hi) is the answer as it is
        usable &= lo < hi
        cold = ~usable & (lo < hi)
        # a start at an end stays there when the marginal there says so (one evaluation)
        for end, sign in ((hi, 1.0), (lo, -1.0)):  # hi stays if f' >= lam there, lo if <=
            at_end = np.flatnonzero(usable & (start == end))
            if at_end.size:
                marginal = self.marginal(end[at_end], beta[at_end], k[at_end], s[at_end])
                kept = at_end[sign * (marginal - lam[at_end]) >= 0]
                x[kept] = end[kept]
                usable[kept] = False
        if cold.any():
            x[cold] = self.spend_at_marginal(lam[cold], lo[cold], hi[cold], beta[cold],
                                             k[cold], s[cold])
        warm = np.flatnonzero(usable)
        root, settled = self._newton(lam[warm], beta[warm], k[warm], s[warm],
                                     np.log(start[warm] / k[warm]))
        x[warm] = np.clip(root, lo[warm], hi[warm])
        lost = warm[~settled]  # no root on the decreasing branch (lam above every marginal)
        if lost.size:
            x[lost] = self.spend_at_marginal(lam[lost], lo[lost], hi[lost], beta[lost],
                                             k[lost], s[lost])
        return x

    def _newton(self, lam, beta, k, s, t):
        """Newton on log f'(t) = log lam from ``t``, each iterate kept left of a point right of
        the root (a first step from left of the root lands right of it, by concavity, and may
        land far; from there Newton descends monotonically). Returns x and which channels
        settled on the decreasing branch.

        log f'(t) - log lam = gap + (s - 1) t - 2 softplus(s t), gap = log(beta s / k / lam);
        it lies below gap + (s - 1) t and below gap - (s + 1) t, so the root is left of where
        either line crosses 0 (the ceiling). Each pass computes one exponential per channel
        and works on the whole arrays until most channels have settled.
        """
        gap = np.log(beta * s / k) - np.log(lam)
        with np.errstate(divide="ignore", invalid="ignore"):
            small = np.where(s < 1.0, gap / (1.0 - s), np.inf)
        ceiling = np.minimum(gap / (s + 1.0), small)
        t = np.minimum(t, ceiling)
        settled = np.zeros(t.size, bool)
        active = np.arange(t.size)
        parts = (gap, s, ceiling)
        for _ in range(NEWTON_PASSES):
            g, ss, top = parts
            tt = t[active]
            u = ss * tt
            tail = np.exp(-np.abs(u))
            residual = g + (ss - 1.0) * tt - 2.0 * (np.maximum(u, 0.0) + np.log1p(tail))
            share = np.where(u >= 0, 1.0, tail) / (1.0 + tail)  # expit(s t)
            slope = (ss - 1.0) - 2.0 * ss * share
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                moved = np.minimum(tt - residual / slope, top)
            moved = np.where(np.isfinite(moved), moved, top)
            t[active] = moved
            done = (np.abs(moved - tt) <= 1e-14 * (1.0 + np.abs(tt))) & (slope < 0)
            if not done.any():  # the first passes: nothing to take out, nothing to copy
                continue
            settled[active[done]] = True
            keep = ~done
            active = active[keep]
            if active.size == 0:
                break
            parts = tuple(part[keep] for part in parts)
        return k * np.exp(t), settled


@register_family
class Exponential(CurveFamily):
    name = "exponential"
    formula = "beta * (1 - exp(-x / k))"

    def value(self, x, beta, k):
        return -beta * np.expm1(-x / k)

    def marginal(self, x, beta, k):
        return beta / k * np.exp(-x / k)

    def curvature(self, x, beta, k):
        return -beta / k ** 2 * np.exp(-x / k)

    def spend_at_marginal(self, lam, lo, hi, beta, k):
        with np.errstate(divide="ignore"):
            x = k * np.log(beta / (k * lam))
        return np.clip(x, lo, hi)


@register_family
class Logistic(CurveFamily):
    name = "logistic"
    formula = "beta * (1 - exp(-x / k)) / (1 + exp(-x / k))"

    def value(self, x, beta, k):
        return beta * np.tanh(x / (2.0 * k))

    def marginal(self, x, beta, k):
        decay = np.exp(-x / k)
        return 2.0 * beta / k * decay / (1.0 + decay) ** 2

    def curvature(self, x, beta, k):
        u = x / (2.0 * k)
        return -beta / (2.0 * k ** 2) * np.tanh(u) / np.cosh(u) ** 2

    def spend_at_marginal(self, lam, lo, hi, beta, k):
        ratio = np.clip(2.0 * k * lam / beta, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            x = 2.0 * k * np.arccosh(1.0 / np.sqrt(ratio))
        return np.clip(x, lo, hi)


@register_family
class Log(CurveFamily):
    name = "log"
    formula = "beta * ln(1 + x / k)"

    def value(self, x, beta, k):
        return beta * np.log1p(x / k)

    def marginal(self, x, beta, k):
        return beta / (k + x)

    def curvature(self, x, beta, k):
        return -beta / (k + x) ** 2

    def spend_at_marginal(self, lam, lo, hi, beta, k):
        with np.errstate(divide="ignore"):  # lam = 0: no marginal is that small, x = hi
            x = beta / lam - k
        return np.clip(x, lo, hi)


@register_family
class Linear(CurveFamily):
    name = "linear"
    param_names = ("beta",)
    formula = "beta * x"

    def value(self, x, beta):
        return beta * x

    def marginal(self, x, beta):
        return np.broadcast_to(beta, np.shape(x)).astype(float)

    def curvature(self, x, beta):
        return np.zeros(np.broadcast_shapes(np.shape(x), np.shape(beta)))

    def spend_at_marginal(self, lam, lo, hi, beta):
        return np.where(beta > lam, hi, lo).astype(float)


FAMILY_BY_CODE = sorted(FAMILIES.values(), key=lambda f: f.code)


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
    def from_lists(cls, families, beta, k=None, s=None) -> CurveSet:
        n = len(families)
        codes = np.fromiter((FAMILIES[name].code for name in families), dtype=np.int8, count=n)
        as_array = lambda values: np.ones(n) if values is None else np.asarray(values, float)
        return cls(codes, as_array(beta), as_array(k), as_array(s))

    def __len__(self) -> int:
        return self.family.size

    @property
    def family_names(self) -> list[str]:
        return [FAMILY_BY_CODE[code].name for code in self.family]

    def subset(self, index) -> CurveSet:
        return CurveSet(self.family[index], self.beta[index], self.k[index], self.s[index])

    def scaled(self, x_scale, y_scale) -> CurveSet:
        """The curves of ``y_scale * f(x_scale * x)``, same families.

        beta * phi(x / k) scales by k / x_scale; a family without k (linear) by beta * x_scale.
        """
        x_scale = np.broadcast_to(np.asarray(x_scale, float), self.beta.shape)
        y_scale = np.broadcast_to(np.asarray(y_scale, float), self.beta.shape)
        has_k = np.array([("k" in f.param_names) for f in FAMILY_BY_CODE])[self.family]
        beta = self.beta * y_scale * np.where(has_k, 1.0, x_scale)
        k = np.where(has_k, self.k / x_scale, self.k)
        return CurveSet(self.family, beta, k, self.s)

    def _params(self, family: CurveFamily, rows=None) -> list[np.ndarray]:
        """The family's own parameter arrays (all channels, or ``rows``)."""
        arrays = [getattr(self, name) for name in family.param_names]
        return arrays if rows is None else [a[rows] for a in arrays]

    @cached_property
    def _parts(self) -> list[tuple[CurveFamily, np.ndarray | None, list[np.ndarray]]]:
        """Each family present: its channels (None: all of them) and their parameters,
        sliced once so that repeated calls (a multiplier search) do not slice again."""
        parts = []
        for family in FAMILY_BY_CODE:
            rows = np.flatnonzero(self.family == family.code)
            if rows.size == self.family.size:
                return [(family, None, self._params(family))]
            if rows.size:
                parts.append((family, rows, self._params(family, rows)))
        return parts

    def _apply(self, method: str, *arrays, dtype=float):
        """Call ``method`` of each family present on its channels' slices of ``arrays``."""
        arrays = [np.asarray(a, float) for a in arrays]
        result = np.empty(self.beta.shape, dtype=dtype)
        for family, rows, params in self._parts:
            if rows is None:
                result[...] = getattr(family, method)(
                    *[np.broadcast_to(a, result.shape) for a in arrays], *params)
            else:
                part = [a if a.ndim == 0 else a[rows] for a in arrays]
                result[rows] = getattr(family, method)(
                    *[np.broadcast_to(a, rows.shape) for a in part], *params)
        return result

    def value(self, x):
        return self._apply("value", x)

    def channel_value(self, i: int, x):
        """Channel ``i``'s curve at every point of ``x`` (any shape)."""
        family = FAMILY_BY_CODE[self.family[i]]
        return family.value(np.asarray(x, float), *[p[i] for p in self._params(family)])

    def channel_marginal(self, i: int, x):
        """Channel ``i``'s marginal at every point of ``x`` (any shape)."""
        family = FAMILY_BY_CODE[self.family[i]]
        x = np.asarray(x, float)
        return family.marginal(x, *[np.full(x.shape, p[i]) for p in self._params(family)])

    def channel_parameters(self, i: int) -> dict[str, float]:
        """Channel ``i``'s family parameters by name."""
        family = FAMILY_BY_CODE[self.family[i]]
        return {name: float(getattr(self, name)[i]) for name in family.param_names}

    def marginal(self, x):
        return self._apply("marginal", x)

    def curvature(self, x):
        return self._apply("curvature", x)

    def spend_at_marginal(self, lam, lo, hi):
        return self._apply("spend_at_marginal", lam, lo, hi)

    def spend_at_marginal_from(self, lam, lo, hi, start):
        """:meth:`spend_at_marginal`, solved from ``start`` near the answer (NaN: none)."""
        return self._apply("spend_at_marginal_from", lam, lo, hi, start)

    def inflection(self):
        return self._apply("inflection")

    def is_concave(self):
        return self._apply("is_concave", dtype=bool)

    def origin_tangent(self):
        return self._apply("origin_tangent")

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
        origin = todo[a[todo] <= 0]
        c[origin] = self.subset(origin).origin_tangent()
        todo = todo[a[todo] > 0]
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
        c[todo] = np.exp(_bracketed_newton(sub, a_sub, f_a, np.log(low), np.log(high)))
        return c


def _bracketed_newton(curves: CurveSet, a, f_a, log_lo, log_hi, passes: int = 80):
    """Where the chord from (a, f(a)) touches each curve, in log space, for every channel at
    once: the root of gap(c) = f(c) - f(a) - f'(c) (c - a), negative at exp(log_lo) and
    positive at exp(log_hi); returned on its positive side.

    Newton steps on the gap, whose derivative is -f''(c) (c - a), kept inside each channel's
    shrinking bracket (bisection where a step leaves it); a channel is done when its bracket
    is 1e-15 wide (relative), or when a Newton step from the positive side moves less than
    that (Newton usually converges from one side, so the bracket's far end never moves).
    """
    t = log_hi.copy()
    active = np.arange(t.size)
    for _ in range(passes):
        c, sub, start = np.exp(t[active]), curves.subset(active), a[active]
        value = sub.value(c) - f_a[active] - sub.marginal(c) * (c - start)
        positive = value > 0
        log_hi[active] = np.where(positive, t[active], log_hi[active])
        log_lo[active] = np.where(positive, log_lo[active], t[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.log(np.maximum(c + value / (sub.curvature(c) * (c - start)), 1e-300))
        inside = (step > log_lo[active]) & (step < log_hi[active]) & np.isfinite(step)
        tiny = 1e-15 * np.maximum(1.0, np.abs(log_hi[active]))
        settled = positive & (np.abs(t[active] - step) <= tiny)
        t[active] = np.where(inside, step, 0.5 * (log_lo[active] + log_hi[active]))
        width = log_hi[active] - log_lo[active]
        active = active[(width > tiny) & ~settled]
        if active.size == 0:
            break
    return log_hi
