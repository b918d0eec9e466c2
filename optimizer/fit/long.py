"""Fitting response curves to per-channel histories (long format: outcome attributed per channel).

:class:`CurveFitter` follows the scikit-learn estimator convention: settings in ``__init__``,
``fit(spend, outcome)`` returns self and sets attributes ending in ``_``. For one channel it
fits every candidate family with geometric adstock by bounded nonlinear least squares from
several starts, picks the family with the lowest error on a time-ordered hold-out (the last
periods), then refits that family on all periods.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from budgetopt.optimizer.constants import KPI_CONVERSIONS, KPI_REVENUE
from budgetopt.optimizer.errors import InputError, ParameterError
from budgetopt.optimizer.fit.priors import (
    MAX_DECAY,
    PRIOR_WEIGHT,
    SATURATING_FAMILIES,
    has_shape,
    shape_bounds,
)
from budgetopt.optimizer.fit.quality import mape, r2
from budgetopt.optimizer.history.loaders import History
from budgetopt.optimizer.model.adstock import geometric_adstock
from budgetopt.optimizer.model.curves import FAMILIES, CurveSet
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.model.report import LAYOUT_LONG, ChannelFit, FitReport
from budgetopt.optimizer.settings import quarter_periods
from scipy.optimize import least_squares

__all__ = ["CurveFitter", "NotFittedError", "fit_long_history"]

LOG_BETA_RANGE = (np.log(1e-3), np.log(1e3))  # relative to the mean outcome
LOG_K_RANGE = (np.log(1e-2), np.log(1e2))  # relative to the mean spend while on air


class NotFittedError(ValueError, AttributeError):
    """A fitter was used before ``fit``."""


@dataclass
class CurveFitter:
    """Fit one channel's response curve and adstock from its spend and attributed outcome."""

    families: tuple[str, ...] = SATURATING_FAMILIES
    adstock: bool = True
    holdout: float = 0.2
    n_starts: int = 6
    seed: int = 0

    def fit(self, spend, outcome) -> CurveFitter:
        x, y = np.asarray(spend, float), np.asarray(outcome, float)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError("`spend` and `outcome` must be 1-d arrays of equal length.")
        if not (x > 0).any():
            raise ValueError("the channel never spends")
        if not (y > 0).any():
            raise ValueError("the outcome is never positive")
        self.x_scale_, self.y_scale_ = x[x > 0].mean(), y.mean()
        x_s, y_s = x / self.x_scale_, y / self.y_scale_
        train = np.arange(x.size) < int(round(x.size * (1 - self.holdout)))
        self.holdout_rmse_ = {}
        for family in self.families:
            theta = self._fit_family(family, x_s, y_s, train)
            predicted = self._predict_scaled(family, theta, x_s)
            error = (predicted - y_s)[~train]
            self.holdout_rmse_[family] = float(np.sqrt(np.mean(error**2)) * self.y_scale_)
        self.family_ = min(self.holdout_rmse_, key=self.holdout_rmse_.get)
        theta = self._fit_family(self.family_, x_s, y_s, np.ones(x.size, bool))
        beta, k, s, decay = self._unpack(self.family_, theta)
        self.beta_, self.k_ = beta * self.y_scale_, k * self.x_scale_
        self.s_, self.decay_ = s, decay
        fitted = self.predict(x)
        self.r2_ = r2(y, fitted)
        self.mape_ = mape(y, fitted)
        self.n_obs_ = x.size
        return self

    def predict(self, spend, carry_in: float = 0.0) -> np.ndarray:
        """Outcome per period for a spend series (adstock starting from ``carry_in``)."""
        if not hasattr(self, "family_"):
            raise NotFittedError("This CurveFitter instance is not fitted yet. Call 'fit' first.")
        level = geometric_adstock(spend, self.decay_, carry_in=carry_in)
        return FAMILIES[self.family_].curve(level, beta=self.beta_, k=self.k_, s=self.s_)

    def carry_out(self, spend) -> float:
        """Adstocked level at the end of the spend series."""
        return float(geometric_adstock(spend, self.decay_)[-1])

    def _fit_family(self, family, x_s, y_s, rows) -> np.ndarray:
        lower, upper = self._bounds(family)
        best = None
        for start in self._starts(family, x_s, y_s):
            start = np.clip(start, lower + 1e-9, upper - 1e-9)
            solution = least_squares(self._residuals, start, bounds=(lower, upper),
                                     args=(family, x_s, y_s, rows), method="trf", x_scale=1.0)
            if best is None or solution.cost < best.cost:
                best = solution
        return best.x

    def _residuals(self, theta, family, x_s, y_s, rows):
        data = (self._predict_scaled(family, theta, x_s) - y_s)[rows]
        beta, k, s, _ = self._unpack(family, theta)
        prior = PRIOR_WEIGHT * np.array([np.log(k), np.log(s)])
        return np.concatenate([data, prior])

    def _predict_scaled(self, family, theta, x_s):
        beta, k, s, decay = self._unpack(family, theta)
        level = geometric_adstock(x_s, decay) if self.adstock else x_s
        return FAMILIES[family].curve(level, beta=beta, k=k, s=s)

    def _unpack(self, family, theta):
        has_s = has_shape(family)
        beta, k = np.exp(theta[0]), np.exp(theta[1])
        s = np.exp(theta[2]) if has_s else 1.0
        decay = theta[-1] if self.adstock else 0.0
        return beta, k, s, decay

    def _bounds(self, family):
        lower = [LOG_BETA_RANGE[0], LOG_K_RANGE[0]]
        upper = [LOG_BETA_RANGE[1], LOG_K_RANGE[1]]
        if has_shape(family):
            low, high = shape_bounds(family)
            lower.append(low)
            upper.append(high)
        if self.adstock:
            lower.append(0.0)
            upper.append(MAX_DECAY)
        return np.array(lower), np.array(upper)

    def _starts(self, family, x_s, y_s):
        rng = np.random.default_rng(self.seed)
        grid = [(k, d) for d in (0.2, 0.6) for k in (0.5, 1.5, 4.0)]
        while len(grid) < self.n_starts:
            grid.append((np.exp(rng.uniform(-1.5, 1.5)), rng.uniform(0, MAX_DECAY)))
        has_s = has_shape(family)
        for k, decay in grid[: self.n_starts]:
            decay = decay if self.adstock else 0.0
            s = 1.5 if has_s else 1.0
            level = geometric_adstock(x_s, decay)
            shape = FAMILIES[family].curve(level, beta=1.0, k=k, s=s).mean()
            beta = y_s.mean() / max(shape, 1e-9)
            theta = [np.log(beta), np.log(k)] + ([np.log(s)] if has_s else [])
            yield np.array(theta + ([decay] if self.adstock else []))


def fit_long_history(history: History, *, kpi_type: str = KPI_REVENUE, seed: int = 0,
                     families: tuple[str, ...] = SATURATING_FAMILIES) -> MediaModel:
    """Fit every channel of a long history and return the model (with fit diagnostics).

    ``current_spend`` is the mean spend of the history's last quarter and ``carry_in`` the
    adstocked level at the end of the history.
    """
    if history.channel_kpi is None:
        raise ValueError("a long history (outcome per channel) is needed")
    if kpi_type not in (KPI_REVENUE, KPI_CONVERSIONS):
        raise ParameterError("kpi_type", f"must be revenue or conversions, got {kpi_type!r}.")
    started = time.perf_counter()
    fitters, notes, problems = {}, [], []
    for name in history.channels:
        spend = history.spend[name].to_numpy()
        outcome = history.channel_kpi[name].to_numpy()
        try:
            fitters[name] = CurveFitter(families=families, seed=seed).fit(spend, outcome)
        except ValueError as error:
            problems.append(f"channel '{name}': {error}; drop it from the channels")
            continue
        variation = spend.std() / max(spend.mean(), 1e-300)
        if variation < 0.1:
            notes.append(f"channel '{name}': spend varies little (CV {variation:.2f}); its "
                         f"curve is poorly identified beyond the spend seen")
    if problems:
        raise InputError.collected(f"{history.source}: cannot fit:", problems)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    names = history.channels
    fitted = np.column_stack([fitters[n].predict(history.spend[n].to_numpy()) for n in names])
    observed = history.channel_kpi[names].to_numpy()
    total, total_fit = observed.sum(axis=1), fitted.sum(axis=1)
    report = FitReport(
        layout=LAYOUT_LONG,
        method="per-channel nonlinear least squares, multi-start; family by hold-out error",
        r2=r2(total, total_fit), mape=mape(total, total_fit), periods=len(history),
        channels={n: ChannelFit(family=f.family_, r2=f.r2_, mape=f.mape_,
                                holdout_rmse=f.holdout_rmse_) for n, f in fitters.items()},
        warnings=tuple(notes), seconds={"total": round(time.perf_counter() - started, 3)})
    recent = history.spend.iloc[-quarter_periods(history.period):].mean()
    curves = CurveSet.from_lists([fitters[n].family_ for n in names],
                                 [fitters[n].beta_ for n in names],
                                 [fitters[n].k_ for n in names], [fitters[n].s_ for n in names])
    return MediaModel(
        names=tuple(names), curves=curves,
        decay=np.array([fitters[n].decay_ for n in names]),
        normalized=np.zeros(len(names), bool),
        current_spend=recent[names].to_numpy(float), observed=history.observed_spend(),
        carry_in=np.array([fitters[n].carry_out(history.spend[n].to_numpy()) for n in names]),
        kpi_name=history.kpi_name, kpi_type=kpi_type, period=history.period,
        baseline=0.0, fit=report)
