"""Cross-validation folds and the order search both the joint fit and the season use."""

from __future__ import annotations

import numpy as np

__all__ = ["CV_ORIGINS", "SELECTION_MARGIN", "rolling_folds", "interleaved_folds", "cv_order"]

CV_ORIGINS = (0.7, 0.8, 0.9)  # rolling origins: fit before, test up to the next one
SELECTION_MARGIN = 0.02  # a more complex choice must cut the CV error by 2 % to be taken
PANEL_BLOCK = 4  # periods per test block of a geo panel's interleaved folds


def rolling_folds(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row masks of rolling-origin time-series cross-validation."""
    rows = np.arange(n)
    cuts = [int(round(n * origin)) for origin in CV_ORIGINS] + [n]
    return [(rows < start, (rows >= start) & (rows < end)) for start, end in zip(cuts, cuts[1:])]


def interleaved_folds(geos: int, periods: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row masks of a geo panel: blocks of periods, staggered across geos, so
    every period keeps most geos in training and its week effect stays estimable."""
    geo, week = np.indices((geos, periods))
    fold = ((week // PANEL_BLOCK + geo) % len(CV_ORIGINS)).ravel()
    return [(fold != f, fold == f) for f in range(len(CV_ORIGINS))]


def cv_order(design, y, orders, folds) -> int:
    """The order whose least-squares fit of ``y`` on ``design(order)`` (first column the
    intercept) has the least CV error; a higher order must cut it by SELECTION_MARGIN. A column
    constant in a training window is left out there."""
    best_order, best_error = orders[0], np.inf
    for order in orders:
        columns = design(order)
        squared = []
        for train, test in folds:
            varying = np.r_[True, np.ptp(columns[train, 1:], axis=0) > 1e-12]
            solution, *_ = np.linalg.lstsq(columns[train][:, varying], y[train], rcond=None)
            squared.append((columns[test][:, varying] @ solution - y[test]) ** 2)
        error = float(np.mean(np.concatenate(squared)))
        if error < best_error * (1 - SELECTION_MARGIN):
            best_order, best_error = order, error
    return best_order
