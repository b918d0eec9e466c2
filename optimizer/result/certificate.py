"""The optimality certificate every solver returns: method, status, gap and proven bound."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.constants import GAP_LIMIT, OPTIMAL

__all__ = ["Certificate", "certify", "relative_gap"]


@dataclass(frozen=True)
class Certificate:
    """How far an answer may be from the optimum of the model as given.

    Attributes:
        method: the algorithm that produced the answer, in words.
        status: ``"optimal"`` (gap within the tolerance) or ``"feasible_gap"`` (stopped by a
            time or node limit; the gap says how far from optimal the answer may be).
        gap: relative distance of the answer's objective from ``bound``.
        bound: no feasible plan reaches a higher objective value than this.
        effort: nodes or refinement rounds the search took, named by ``effort_label``.
        seconds: wall time of the solve.
    """

    method: str
    status: str
    gap: float
    bound: float
    effort: int = 1
    effort_label: str = "node(s)"
    seconds: float = 0.0

    def summary(self) -> dict:
        """The certificate's keys in a ``--json`` summary."""
        return {"method": self.method, "status": self.status, "gap": self.gap,
                "upper_bound": self.bound, "seconds": self.seconds}


NUMERICAL_SLACK = 1e-8  # of the problem's scale: what an LP solver's tolerances leave in a bound


def relative_gap(bound: float, value: float, scale: float = 0.0) -> float:
    """(bound - value) / |value|, never negative.

    ``scale`` is the size of the problem's objective terms (the most KPI the bounds allow):
    an excess of the bound below NUMERICAL_SLACK x scale is the LP solver's tolerance, not a
    gap (it matters when the optimum is 0, as in a profit problem where no spend pays).
    """
    excess = max(0.0, bound - value)
    if excess <= NUMERICAL_SLACK * scale:
        return 0.0
    return excess / max(abs(value), 1e-12)


def certify(method: str, value: float, bound: float, tolerance: float, *, scale: float = 0.0,
            effort: int = 1, effort_label: str = "node(s)", seconds: float = 0.0
            ) -> Certificate:
    """The certificate of an answer with objective ``value`` under the proven ``bound``
    (NaN: no bound was proven, the gap is infinite)."""
    bound = max(np.inf if np.isnan(bound) else bound, value)
    gap = relative_gap(bound, value, scale)
    return Certificate(method=method, status=OPTIMAL if gap <= tolerance else GAP_LIMIT,
                       gap=gap, bound=bound, effort=effort, effort_label=effort_label,
                       seconds=seconds)
