"""Response curves as piecewise-linear upper bounds, refined until certified.

Each *term* is a curve f evaluated at a channel's spend. Its domain is a list of segments, each
bounded above by the concave envelope of f on it: the chord from the segment's start a to the
tangent point c (where S-curves leave their convex foot; c = a for concave curves), then
tangents of f at points in [c, b]. A channel that may be off gets the extra segment {0}. With one
segment per term the model is an LP; with more, a binary picks each term's segment (the
convex-hull, "perspective" form of the disjunction) and the model is a MILP. The optimum is an
upper bound on the true optimum, and its answer, evaluated on the true curves, a lower bound.
:meth:`PiecewiseModel.refine` adds a tangent where an answer lies on the curve part and splits
the segment where it lies on a chord (spatial branching), so :func:`solve_certified` closes the
two bounds in, each round solved by the HiGHS model of :mod:`.allocation_lp`, kept between
rounds. :func:`make_solver` is the PuLP solver of the deletion filters that name conflicting
rules.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pulp
from budgetopt.optimizer.errors import SolverError
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.result.certificate import relative_gap

__all__ = ["CurveTerms", "PiecewiseModel", "Segment", "CertifiedSolution", "solve_certified",
           "envelope_cuts", "make_solver", "new_highs", "MAX_CUT_RISE"]

INITIAL_TANGENTS = 12
# HiGHS rejects a row with a coefficient above its large_matrix_value (1e15), and rows nearly
# that steep make its LPs fail numerically: a
# tangent that rises more than this over its segment (Hill with s < 1 just above 0) bounds
# nothing a milder one does not, so it is left out (the bound stays valid, only looser there)
MAX_CUT_RISE = 1e15
LP_INFEASIBLE = ("Infeasible", "Unbounded")


@cache
def _silence_highs_banner() -> None:
    """highspy prints a banner on stdout when its first solver object is made; swallow it."""
    import highspy

    with open(os.devnull, "w") as sink, contextlib.ExitStack() as stack:
        saved = os.dup(1)
        stack.callback(os.close, saved)
        os.dup2(sink.fileno(), 1)
        stack.callback(os.dup2, saved, 1)
        highspy.Highs()


def new_highs():
    """An empty, silent HiGHS model (highspy), for solvers that build their rows as arrays."""
    import highspy

    _silence_highs_banner()
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def make_solver(time_limit: float | None = None, gap: float = 1e-9):
    """HiGHS through highspy; PuLP's bundled CBC when highspy is not installed."""
    try:
        _silence_highs_banner()
        return pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=gap)
    except ImportError:
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap)


@dataclass
class Segment:
    """[a, b] with the envelope's chord end c and tangent points; ``zero`` is the point 0.
    ``chord_only``: the tangent from a touches the curve beyond b, so the envelope is the chord
    from a to c = b and no tangent holds (the curve is still convex there)."""

    a: float
    b: float
    c: float
    tangents: list[float] = field(default_factory=list)
    zero: bool = False
    chord_only: bool = False


@dataclass(frozen=True)
class CurveTerms:
    """Curve ``i`` at a term's value, which lies in [lo, hi], or at 0 where ``off``."""

    curves: CurveSet
    lo: np.ndarray
    hi: np.ndarray
    off: np.ndarray


class PiecewiseModel:
    """The segments of every term; ``choice`` holds the segment each multi-segment term's
    last answer picked (set by the model that solved it)."""

    def __init__(self, terms: CurveTerms, hints=None):
        self.terms = terms
        self.segments = [self._initial_segments(i, hints) for i in range(len(terms.curves))]
        self.choice: dict[int, int] = {}

    @property
    def is_mip(self) -> bool:
        return any(len(segments) > 1 for segments in self.segments)

    def _initial_segments(self, i, hints) -> list[Segment]:
        lo, hi = float(self.terms.lo[i]), float(self.terms.hi[i])
        segments = [Segment(0.0, 0.0, 0.0, zero=True)] if self.terms.off[i] else []
        segment = self._segment(i, lo, max(lo, hi))
        if segment.b > segment.c:
            points = np.geomspace(max(segment.c, segment.b * 1e-4), segment.b, INITIAL_TANGENTS)
            segment.tangents = sorted({segment.c, *map(float, points)})
            if hints is not None and segment.c < hints[i] < segment.b:
                segment.tangents = sorted({*segment.tangents, float(hints[i])})
        return segments + [segment]

    def _segment(self, i: int, a: float, b: float, tangents=()) -> Segment:
        """A segment [a, b] of term ``i``, keeping the given tangent points that still apply."""
        touch = float(self.terms.curves.subset([i]).tangent_point(np.array([a]))[0])
        if touch > b:
            return Segment(a, b, b, chord_only=True)
        return Segment(a, b, touch, sorted({touch, *(t for t in tangents if touch <= t <= b)}))

    def chosen(self, i: int) -> Segment:
        """The segment term ``i``'s answer lies in, after a solve."""
        return self.segments[i][self.choice.get(i, 0)]

    def refine(self, values: np.ndarray, tolerance: float) -> int:
        """Tighten every term at its answer ``values[i]``; return how many changed."""
        changed = 0
        for i, x in enumerate(values):
            segment = self.chosen(i)
            near = tolerance * max(abs(x), 1.0)
            if segment.zero:
                continue
            if segment.a + near < x < segment.c - near:  # on the chord: split the segment there
                where = self.segments[i].index(segment)
                self.segments[i][where:where + 1] = [
                    self._segment(i, segment.a, float(x), segment.tangents),
                    self._segment(i, float(x), segment.b, segment.tangents)]
                changed += 1
            elif x >= segment.c and not segment.chord_only:
                point = self._tangent_point_near(i, segment, float(x))
                if all(abs(point - t) > near for t in segment.tangents):
                    segment.tangents = sorted([*segment.tangents, point])
                    changed += 1
        return changed

    def _tangent_point_near(self, i: int, segment: Segment, x: float) -> float:
        """x itself, or where the slope is infinite (Hill s < 1 at 0), a point just right of it
        (each refinement shrinks the bound's excess at x geometrically)."""
        if np.isfinite(self.terms.curves.channel_marginal(i, x)):
            return x
        above = [t for t in segment.tangents if t > x] or [segment.b]
        return x + (min(above) - x) / 16.0

    def fix_chosen(self) -> None:
        """Keep only each term's chosen segment, turning the model into an LP (for duals)."""
        self.segments = [[self.chosen(i)] for i in range(len(self.segments))]
        self.choice = {}


def envelope_cuts(curves: CurveSet, i: int, segment: Segment, points=None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The segment's envelope as linear upper bounds ``slope x + intercept`` (each scaled by
    the segment's binary where it has one): f(b) (f is increasing), the chord from a to c, and
    the tangents at points in [c, b]; with ``points``, only the tangents there."""
    slopes, intercepts = [], []
    if points is None:
        slopes.append(0.0)
        intercepts.append(float(curves.channel_value(i, segment.b)))
        if segment.c > segment.a:
            f_a, f_c = curves.channel_value(i, [segment.a, segment.c])
            slope = float((f_c - f_a) / (segment.c - segment.a))
            slopes.append(slope)
            intercepts.append(float(f_a) - slope * segment.a)
        points = segment.tangents
    points = np.asarray(points, float)
    if points.size:
        values = curves.channel_value(i, points)
        marginals = curves.channel_marginal(i, points)
        keep = np.isfinite(marginals) & (np.abs(marginals) * max(segment.b, 1.0) < MAX_CUT_RISE)
        slopes += marginals[keep].tolist()
        intercepts += (values[keep] - marginals[keep] * points[keep]).tolist()
    return np.array(slopes), np.array(intercepts)


@dataclass
class CertifiedSolution:
    """Best answer found (``payload``, from ``evaluate``), its true value and the proven bound."""

    payload: object
    value: float
    bound: float
    rounds: int


RoundSolver = Callable[[float, float], tuple[str, float, object]]


def solve_certified(model: PiecewiseModel, solve_round: RoundSolver, evaluate: Callable, *,
                    gap_tolerance: float, time_limit: float, max_rounds: int = 60,
                    scale: float = 0.0):
    """Solve, evaluate on the true curves, refine; repeat until the gap closes.

    Args:
        solve_round: ``solve_round(time_limit, mip_gap) -> (status, bound, handle)`` solves the
            model's current segments and tangents (status "Optimal", "Infeasible", "Unbounded"
            or another word for a stop; bound: the proven upper bound on the objective).
        evaluate: ``evaluate(handle) -> (true objective, term values, payload)``.

    Returns:
        A :class:`CertifiedSolution`, or None when the first model is infeasible.
    """
    deadline = time.perf_counter() + time_limit
    best, bound, rounds, gap = None, np.inf, 0, np.inf
    while True:
        rounds += 1
        remaining = max(deadline - time.perf_counter(), 1.0)
        # early MILPs need not be solved tighter than the refinement has got so far
        mip_gap = max(gap_tolerance / 4, min(1e-3, gap / 10))
        status, round_bound, handle = solve_round(remaining, mip_gap)
        if status in LP_INFEASIBLE and best is None:
            return None
        if status != "Optimal":
            if best is None:
                raise SolverError(f"the solver stopped ({status}) before finding any plan; "
                                  f"raise the time limit (now {time_limit:g} s).")
            break
        bound = min(bound, round_bound)
        value, values, payload = evaluate(handle)
        if best is None or value > best.value:
            best = CertifiedSolution(payload, value, bound, rounds)
        gap = relative_gap(bound, best.value, scale)
        if gap <= gap_tolerance or time.perf_counter() > deadline or rounds >= max_rounds:
            break
        if model.refine(values, gap_tolerance * 1e-3) == 0 and mip_gap <= gap_tolerance / 4:
            break
    best.bound, best.rounds = max(bound, best.value), rounds
    return best
