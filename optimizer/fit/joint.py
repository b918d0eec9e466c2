"""Fitting one KPI from a wide history: baseline + media response curves, with uncertainty.

KPI_t = intercept + trend_t + yearly Fourier seasonality_t + controls_t
        + sum_c beta_c * hill_c(adstock_c(spend_c)_t) + noise.

Variable projection: given each channel's nonlinear parameters (adstock decay, half-saturation
k, shape s) the model is linear in the rest; the baseline is projected out and the intercept
and media effects (all non-negative) solved by NNLS. The nonlinear parameters are fitted by
bounded nonlinear least squares from several starts, with weakly-informative priors: log(k /
typical adstocked level) and log(s) pulled towards 0, each channel's decay towards the mean
decay of all channels, and each channel's share of the KPI towards (pooled ratio x its share of
spend), so that a channel the data barely informs keeps a sensible curve. The yearly Fourier
order and each channel's family are chosen by rolling-origin time-series cross-validation.
Block-bootstrap refits give parameter draws, stored in the model so that ``optimize`` can state
how sure the recommendation is.

A geo panel is fitted per head with one effect per geo and one per week shared by all geos in
place of trend and season (media effects then come from differences between geos), model
choices by an interleaved CV, and national curves for spend split by population.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares, nnls
from threadpoolctl import threadpool_limits

from budgetopt.optimizer.model.adstock import DELAYED_LENGTH, delayed_adstock, delayed_weights, geometric_adstock
from budgetopt.optimizer.constants import KPI_REVENUE
from budgetopt.optimizer.model.curves import FAMILIES, CurveSet
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.fit.long import CURRENT_SPEND_PERIODS, SATURATING_FAMILIES, mape, period_name
from budgetopt.optimizer.history.loaders import History
from budgetopt.optimizer.model.media import ADSTOCK_TYPES, MediaModel

__all__ = ["JointFitter", "fit_wide_history"]

YEAR_DAYS = 365.25
FOURIER_ORDERS = (1, 2, 3, 4, 6)  # yearly Fourier orders tried; the rolling CV picks one
MAX_DECAY = 0.9
DELAYED_DECAY = (0.05, 0.95)  # bounds of a delayed adstock's decay
MAX_PEAK = 6.0  # latest peak of a delayed adstock, in periods
PRIOR_WEIGHT = 0.05  # pull of log(k / typical level) and log(s) towards 0
CV_ORIGINS = (0.7, 0.8, 0.9)  # rolling origins: fit before, test up to the next one
K_RANGE = (0.3, 10.0)  # half-saturation relative to the typical adstocked level
SHARE_PRIOR = 0.1  # sd of a channel's KPI share around pooled ROI x its spend share
DECAY_SPREAD = 0.15  # prior sd of a channel's decay around the mean decay of all channels
WEAK_SIGNAL = 0.25  # a channel's effect sd below this x residual sd: warned as uncertain
SCREENING_DECAY = 0.3  # adstock of the linear screening model (Fourier order, noise)
BLOCK = 8  # weeks per bootstrap block (keeps autocorrelation)
SELECTION_MARGIN = 0.02  # a more complex choice must cut the CV error by 2 % to be taken


@dataclass
class JointFitter:
    """Joint fit of a wide history. ``fit`` returns self; results end in ``_``."""

    families: tuple[str, ...] = SATURATING_FAMILIES
    fourier_orders: tuple[int, ...] = FOURIER_ORDERS
    bootstrap: int = 50
    n_starts: int = 4
    adstock: str = "geometric"  # or "delayed" (peak after a delay, see adstock.py)
    seed: int = 0
    progress: object = None  # progress(stage, done, total) after each fit of a stage

    def fit(self, history: History) -> "JointFitter":
        started = time.perf_counter()
        self.timings_ = {}
        self._stage, self._done = None, 0
        self._prepare(history)
        n = len(self.y_)
        family = ["hill"] * self.n_channels_
        best, thetas = self._cv_error(family, [self._starts(family)])
        steps = 1 + self.n_channels_ * (len(self.families) - 1)
        self._report("curves", 1, steps)
        for c in range(self.n_channels_):  # choose each channel's family by CV
            for candidate in self.families:
                if candidate == family[c]:
                    continue
                trial = family.copy()
                trial[c] = candidate
                error, trial_thetas = self._cv_error(
                    trial, [[self._adapt(theta, family, trial)] for theta in thetas])
                if error < best * (1 - SELECTION_MARGIN):
                    family, thetas, best = trial, trial_thetas, error
                self._report("curves", None, steps)
        self.cv_rmse_ = float(np.sqrt(best))
        theta = thetas[-1]
        self.timings_["select"] = time.perf_counter() - started
        everything = np.ones(n, bool)
        self.family_ = family
        self.theta_ = self._fit_theta(family, everything, starts=[theta, *self._starts(family)])
        self.coef_ = self._linear(family, self.theta_, everything)
        self.fitted_ = self._design(family, self.theta_) @ self.coef_
        self.timings_["fit"] = time.perf_counter() - started - self.timings_["select"]
        return self.draw(self.bootstrap)

    def draw(self, count: int) -> "JointFitter":
        """Refit ``count`` block-bootstrap histories; their parameters end in ``draws_``."""
        started = time.perf_counter()
        self.bootstrap = count
        self.draws_ = self._bootstrap()
        self.timings_["bootstrap"] = time.perf_counter() - started
        return self

    # --- the model -----------------------------------------------------------------------
    def _prepare(self, history: History) -> None:
        """Scaled per-head KPI rows (geo-major) and spend (geos x periods x channels), the
        baseline design, the CV folds and the priors' weights. A national history is one geo."""
        if history.kpi is None:
            raise ValueError("a wide history (one KPI column) is needed")
        panel = history.panel
        if panel is None:
            kpi = np.asarray(history.kpi, float)[None, :]
            spend = history.spend.to_numpy(float)[None, :, :]
            self.size_ = np.ones(1)
        else:
            kpi, spend, self.size_ = panel.kpi, panel.spend, panel.population
        y = kpi / self.size_[:, None]
        x = spend / self.size_[:, None, None]
        self.channels_ = history.channels
        self.n_channels_ = spend.shape[2]
        self.y_scale_ = float(np.mean(np.abs(y))) or 1.0
        self.x_scale_ = np.array([c[c > 0].mean() if (c > 0).any() else 1.0
                                  for c in x.reshape(-1, self.n_channels_).T])
        self.y_ = (y / self.y_scale_).ravel()
        self.x_ = x / self.x_scale_
        self.shape_ = kpi.shape
        days = (history.dates - history.dates[0]).days.to_numpy(float)
        self.days_ = days
        trend = days / max(days[-1], 1.0)
        controls = history.controls
        self.control_names_ = [] if controls is None else list(controls.columns)
        self.screening_ = np.column_stack([  # linear stand-in for the media: adstock at 0.3
            geometric_adstock(self.x_[:, :, c], SCREENING_DECAY).ravel()
            for c in range(self.n_channels_)])
        if panel is None:
            self.controls_ = [controls[name].to_numpy(float) for name in self.control_names_]
            self.folds_ = _rolling_folds(len(days))
            self.fourier_order_ = self._choose_fourier_order(days, trend)
            columns = self._baseline_columns(days, trend, self.fourier_order_)
        else:  # geo and week effects (the week's effect absorbs trend and season)
            self.controls_ = [panel.controls[:, :, j].ravel()
                              for j in range(len(self.control_names_))]
            self.folds_ = _interleaved_folds(*self.shape_)
            self.fourier_order_ = 0
            geo, week = np.indices(self.shape_)
            columns = [np.ones(y.size),
                       *[(geo.ravel() == g).astype(float) for g in range(1, self.shape_[0])],
                       *[(week.ravel() == t).astype(float) for t in range(1, self.shape_[1])],
                       *[(v - v.mean()) / (v.std() or 1.0) for v in self.controls_]]
        self.n_fourier_ = 2 * self.fourier_order_
        self.baseline_ = np.column_stack(columns)
        self._bases, self._columns = {}, {}
        self.typical_ = np.array([max(np.median(c[c > 0]), 1e-3) if (c > 0).any() else 1.0
                                  for c in self.x_.reshape(-1, self.n_channels_).T])
        mean_spend = spend.reshape(-1, self.n_channels_).mean(axis=0)
        self.spend_share_ = mean_spend / mean_spend.sum()
        noise = self._noise_bound()
        self.share_weight_, self.decay_weight_ = noise / SHARE_PRIOR, noise / DECAY_SPREAD

    def _baseline_columns(self, days, trend, order: int) -> list[np.ndarray]:
        """Intercept, centred trend, yearly Fourier terms up to ``order``, standardised controls."""
        columns = [np.ones_like(days), trend - trend.mean()]
        for k in range(1, order + 1):
            angle = 2 * np.pi * k * days / YEAR_DAYS
            columns += [np.sin(angle), np.cos(angle)]
        for values in self.controls_:
            columns.append((values - values.mean()) / (values.std() or 1.0))
        return columns

    def _choose_fourier_order(self, days, trend) -> int:
        """The Fourier order with the least rolling-CV error of a linear screening model
        (baseline + each channel's spend adstocked at 0.3); ties go to the lower order."""
        return _cv_order(lambda order: np.column_stack(
            [*self._baseline_columns(days, trend, order), self.screening_]),
            self.y_, self.fourier_orders, self.folds_)

    def _noise_bound(self) -> float:
        """The noise sd (scaled units) of a linear screening model: the baseline plus each
        channel's spend adstocked at 0.3. Priors are weighted by it, so a prior of sd tau costs
        (deviation / tau)^2 noise variances."""
        design = np.hstack([self.baseline_, self.screening_])
        solution, *_ = np.linalg.lstsq(design, self.y_, rcond=None)
        return float(np.std(self.y_ - design @ solution))

    def _width(self, name: str) -> int:
        """Parameters per channel: decay, log relative k, [peak], [log s]."""
        return 2 + (self.adstock == "delayed") + ("s" in FAMILIES[name].param_names)

    def _unpack(self, family, theta):
        """Per channel (decay, k, s, peak) from the flat parameter vector (peak NaN: geometric).

        k is stored as log(k / typical adstocked level): the median spend while on air times
        the adstock's steady-state scale."""
        out, i = [], 0
        for c, name in enumerate(family):
            decay, peak, scale = theta[i], np.nan, 1 / (1 - theta[i])
            if self.adstock == "delayed":
                peak = theta[i + 2]
                scale = delayed_weights(decay, peak).sum()
            k = np.exp(theta[i + 1]) * self.typical_[c] * scale
            s = np.exp(theta[i + self._width(name) - 1]) if "s" in FAMILIES[name].param_names \
                else 1.0
            out.append((decay, k, s, peak))
            i += self._width(name)
        return out

    def _media(self, family, theta):
        """Media columns; each channel's column is cached, so finite differences recompute one."""
        if len(self._columns) > 20000:
            self._columns.clear()
        columns = []
        for c, (decay, k, s, peak) in enumerate(self._unpack(family, theta)):
            key = (c, family[c], decay, k, s, peak)
            if key not in self._columns:
                if self.adstock == "delayed":
                    level = delayed_adstock(self.x_[:, :, c], decay, peak)
                else:
                    level = geometric_adstock(self.x_[:, :, c], decay)
                self._columns[key] = FAMILIES[family[c]].value(level.ravel(), 1.0, k, s)
            columns.append(self._columns[key])
        return np.column_stack(columns)

    def _design(self, family, theta):
        return np.hstack([self.baseline_, self._media(family, theta)])

    def _complement(self, rows):
        """Baseline columns but the intercept that vary on ``rows``, and an orthonormal basis
        of them (cached per row set): a control constant on the rows has no coefficient there."""
        key = rows.tobytes()
        if key not in self._bases:
            varying = np.ptp(self.baseline_[rows, 1:], axis=0) > 1e-12
            u, singular, _ = np.linalg.svd(self.baseline_[rows, 1:][:, varying],
                                           full_matrices=False)
            self._bases[key] = varying, u[:, singular > singular[0] * 1e-10]
        return self._bases[key]

    def _media_fit(self, media, rows, y):
        """Intercept and media coefficients (all >= 0), the rest of the baseline projected out.

        min over baseline b, intercept a >= 0, media m >= 0 of |y - B b - a - M m| equals the
        same minimum of |P(y - a - M m)| with P the projection off B: a small NNLS. The pooled
        share prior adds rows w (share_c - r spend_share_c) with the pooled ratio r >= 0 free.
        Returns (intercept, media coefficients) and the stacked residual.
        """
        _, basis = self._complement(rows)
        target = y[rows] - basis @ (basis.T @ y[rows])
        free = np.column_stack([np.ones(rows.sum()), media[rows]])
        columns = free - basis @ (basis.T @ free)
        n_media = media.shape[1]
        prior = np.zeros((n_media, n_media + 2))
        prior[:, 1:-1] = np.diag(media[rows].mean(axis=0))
        prior[:, -1] = -self.spend_share_
        system = np.vstack([np.column_stack([columns, np.zeros(len(target))]),
                            self.share_weight_ * prior])
        stacked = np.r_[target, np.zeros(n_media)]
        coef, _ = nnls(system, stacked, maxiter=50 * (n_media + 2))
        return coef[:-1], stacked - system @ coef

    def _linear(self, family, theta, rows, y=None):
        y = self.y_ if y is None else y
        media = self._media(family, theta)
        coef, _ = self._media_fit(media, rows, y)
        rest = (y - coef[0] - media @ coef[1:])[rows]
        varying, _ = self._complement(rows)
        base = np.zeros(len(varying))
        base[varying], *_ = np.linalg.lstsq(self.baseline_[rows, 1:][:, varying], rest,
                                            rcond=None)
        return np.concatenate([coef[:1], base, coef[1:]])

    def _residuals(self, theta, family, rows, y=None):
        y = self.y_ if y is None else y
        _, data = self._media_fit(self._media(family, theta), rows, y)
        prior, i = [], 0
        pooled = np.mean([theta[j] for j in self._decay_positions(family)])
        for name in family:
            prior += [PRIOR_WEIGHT * theta[i + 1], self.decay_weight_ * (theta[i] - pooled)]
            if "s" in FAMILIES[name].param_names:
                prior.append(PRIOR_WEIGHT * theta[i + self._width(name) - 1])
            i += self._width(name)
        return np.concatenate([data, prior])

    def _decay_positions(self, family) -> list[int]:
        return list(np.cumsum([0] + [self._width(name) for name in family])[:-1])

    def _bounds(self, family):
        lower, upper = [], []
        for name in family:
            if self.adstock == "delayed":
                lower += [DELAYED_DECAY[0], np.log(K_RANGE[0]), 0.0]
                upper += [DELAYED_DECAY[1], np.log(K_RANGE[1]), MAX_PEAK]
            else:
                lower += [0.0, np.log(K_RANGE[0])]
                upper += [MAX_DECAY, np.log(K_RANGE[1])]
            if "s" in FAMILIES[name].param_names:
                lower.append(np.log(0.3))
                upper.append(np.log(5.0))
        return np.array(lower), np.array(upper)

    def _starts(self, family):
        rng = np.random.default_rng(self.seed)
        starts = []
        for start in range(self.n_starts):
            theta = []
            for name in family:
                decay = (0.3, 0.6, 0.1, 0.45)[start % 4] if start < 4 else rng.uniform(0, 0.8)
                theta += [decay, np.log((1.0, 2.0, 0.5, 1.5)[start % 4])]
                if self.adstock == "delayed":
                    theta.append((1.0, 2.0, 0.0, 3.0)[start % 4])
                if "s" in FAMILIES[name].param_names:
                    theta.append(np.log((1.0, 1.8, 1.0, 1.4)[start % 4]))
            starts.append(np.array(theta))
        return starts

    def _adapt(self, theta, old_family, new_family):
        """A start for ``new_family`` from ``theta`` fitted with ``old_family``."""
        out, i = [], 0
        shared = 2 + (self.adstock == "delayed")  # decay, log k, [peak]
        for old, new in zip(old_family, new_family):
            part = list(theta[i:i + shared])
            if "s" in FAMILIES[new].param_names:
                part.append(theta[i + shared] if "s" in FAMILIES[old].param_names else 0.0)
            out += part
            i += self._width(old)
        return np.array(out)

    def _fit_theta(self, family, rows, starts, y=None):
        lower, upper = self._bounds(family)
        best = None
        for start in starts:
            start = np.clip(start, lower + 1e-9, upper - 1e-9)
            solution = least_squares(self._residuals, start, bounds=(lower, upper),
                                     args=(family, rows, y), method="trf", diff_step=1e-4,
                                     max_nfev=200)
            if best is None or solution.cost < best.cost:
                best = solution
        return best.x

    def _cv_error(self, family, starts):
        """Mean squared error on the test blocks of the rolling folds, and each fold's fit.

        ``starts`` holds the starts of the first fold, or one list of starts per fold; without
        one, a fold starts from the previous fold's fit.
        """
        squared, thetas = [], []
        for number, (train, test) in enumerate(self.folds_):
            fold_starts = starts[number] if number < len(starts) else [thetas[-1]]
            theta = self._fit_theta(family, train, starts=fold_starts)
            coef = self._linear(family, theta, train)
            squared.append((self._design(family, theta)[test] @ coef - self.y_[test]) ** 2)
            thetas.append(theta)
        return float(np.mean(np.concatenate(squared))), thetas

    def _report(self, stage: str, done: int | None, total: int) -> None:
        """Tell ``progress`` how far a stage is (``done`` None: one more step)."""
        if self.progress is None:
            return
        self._done = (self._done + 1 if done is None and stage == self._stage else done or 1)
        self._stage = stage
        self.progress(stage, self._done, total)

    def _bootstrap(self):
        """Moving-block bootstrap of residuals; each draw refitted from the full fit."""
        rng = np.random.default_rng(self.seed + 1)
        periods = self.shape_[1]
        residual = (self.y_ - self.fitted_).reshape(self.shape_)
        everything = np.ones(len(self.y_), bool)
        draws = []
        for draw in range(self.bootstrap):  # the same weeks for every geo: keeps their link
            starts = rng.integers(0, periods - BLOCK + 1, size=int(np.ceil(periods / BLOCK)))
            blocks = [residual[:, s:s + BLOCK] for s in starts]
            y = self.fitted_ + np.concatenate(blocks, axis=1)[:, :periods].ravel()
            theta = self._fit_theta(self.family_, everything, [self.theta_], y=y)
            coef = self._linear(self.family_, theta, everything, y)
            draws.append(self._channel_parameters(theta, coef))
            self._report("bootstrap", draw + 1, self.bootstrap)
        return draws

    # --- results in original units ------------------------------------------------------
    def _channel_parameters(self, theta, coef):
        """National curves: per head beta f(x / k) summed over geos whose spend follows their
        population is (total population x beta) f(X / (total population x k))."""
        people = self.size_.sum()
        media = coef[self.baseline_.shape[1]:] * self.y_scale_ * people
        out = []
        for c, (decay, k, s, peak) in enumerate(self._unpack(self.family_, theta)):
            parameters = {"beta": float(max(media[c], 1e-12)),
                          "k": float(k * self.x_scale_[c] * people),
                          "s": float(s), "decay": float(decay)}
            if self.adstock == "delayed":
                parameters["peak"] = float(peak)
            out.append(parameters)
        return out

    def channel_parameters(self):
        return self._channel_parameters(self.theta_, self.coef_)

    def national(self, rows: np.ndarray) -> np.ndarray:
        """Scaled per-head values of the rows (geo-major, any trailing shape) summed over geos
        in KPI units: one value per period."""
        per_geo = rows.reshape(*self.shape_, *rows.shape[1:]) * self.y_scale_
        return np.tensordot(self.size_, per_geo, axes=1)

    def baseline_series(self):
        base = self.baseline_.shape[1]
        return self.national(self.baseline_ @ self.coef_[:base])

    def media_series(self):
        base = self.baseline_.shape[1]
        return self.national(self._media(self.family_, self.theta_) * self.coef_[base:])

    def signal(self) -> np.ndarray:
        """Each channel's fitted effect sd over the residual sd (per head, every row)."""
        base = self.baseline_.shape[1]
        media = self._media(self.family_, self.theta_) * self.coef_[base:]
        return media.std(axis=0) / max(np.std(self.y_ - self.fitted_), 1e-12)

    def seasonality(self) -> dict:
        """The yearly Fourier terms in KPI units and the mean baseline. A geo panel has none in
        its model: they come from a Fourier regression of its national geo and week effects,
        the order chosen by rolling CV as for a national fit."""
        if self.fourier_order_:
            order, mean = self.fourier_order_, self.baseline_series().mean()
            coefficients = self.coef_[2:2 + self.n_fourier_] * self.y_scale_
        else:
            fixed = self.baseline_.shape[1] - len(self.controls_)
            effects = self.national(self.baseline_[:, :fixed] @ self.coef_[:fixed])
            order, coefficients, mean = _yearly_fourier(self.days_, effects)
        return {"fourier_order": int(order), "period_days": YEAR_DAYS,
                "coefficients": [float(c) for c in coefficients], "mean_baseline": float(mean)}


def fit_wide_history(history: History, *, kpi_type: str = KPI_REVENUE, seed: int = 0,
                     bootstrap: int = 50, adstock: str = "geometric",
                     progress=None) -> MediaModel:
    """Fit a wide history and return the model, with diagnostics under ``fit``.

    ``adstock`` is "geometric", "delayed" (for every channel), or "auto": both fitted, the one
    with the lower rolling-CV error kept."""
    _check_usable(history)
    started = time.perf_counter()
    kinds = ADSTOCK_TYPES if adstock == "auto" else (adstock,)
    # Thousands of small least-squares problems: BLAS threads cost more than they give.
    with threadpool_limits(limits=1, user_api="blas"):
        fitters = [JointFitter(seed=seed, bootstrap=0, adstock=kind, progress=progress)
                   .fit(history) for kind in kinds]  # "auto": delayed must beat the margin
        fitter = min(fitters, key=lambda f: f.cv_rmse_ * (1 if f.adstock == "geometric"
                                                          else 1 + SELECTION_MARGIN))
        fitter.draw(bootstrap)
    adstock = fitter.adstock
    y = np.asarray(history.kpi, float)
    fitted = fitter.national(fitter.fitted_)
    params = fitter.channel_parameters()
    names = history.channels
    curves = CurveSet.from_lists(fitter.family_, [p["beta"] for p in params],
                                 [p["k"] for p in params],
                                 [p["s"] if fitter.family_[c] == "hill" else 1.0
                                  for c, p in enumerate(params)])
    decay = np.array([p["decay"] for p in params])
    peak = np.array([p.get("peak", np.nan) for p in params])
    spend = history.spend.to_numpy(float)
    current = spend[-CURRENT_SPEND_PERIODS:].mean(axis=0)
    delayed = adstock == "delayed"
    carry = np.zeros(len(names)) if delayed else np.array(
        [geometric_adstock(spend[:, c], decay[c])[-1] for c in range(len(names))])
    recent = np.zeros((len(names), DELAYED_LENGTH - 1))
    recent[:, max(0, DELAYED_LENGTH - 1 - len(spend)):] = spend[-(DELAYED_LENGTH - 1):].T
    model = MediaModel(names=tuple(names), curves=curves, decay=decay,
                       normalized=np.zeros(len(names), bool), current_spend=current,
                       carry_in=carry, kpi_name=history.kpi_name, kpi_type=kpi_type,
                       period=period_name(history.dates),
                       baseline=float(fitter.baseline_series()[-52:].mean()), peak=peak,
                       recent_spend=recent if delayed else None)
    media = fitter.media_series()
    signal = fitter.signal()
    notes = _identification_warnings(history, fitter, signal)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    steady = model.steady_state_curves()
    total_media = media.sum(axis=0)
    draws = [replace(model, curves=CurveSet.from_lists(
        fitter.family_, [p["beta"] for p in draw], [p["k"] for p in draw],
        [p["s"] for p in draw]), decay=np.array([p["decay"] for p in draw]),
        peak=np.array([p.get("peak", np.nan) for p in draw]))
        for draw in fitter.draws_]
    draw_mroi = np.array([m.steady_state_curves().marginal(current) for m in draws])
    fit = {
        "method": "joint fit: variable projection (non-negative least squares inside bounded "
                  "nonlinear least squares), " + (
                      "yearly Fourier order and family per channel by rolling-origin "
                      "cross-validation" if history.panel is None else
                      "geo and week effects, family per channel by interleaved cross-validation")
                  + f", {adstock} adstock, {bootstrap} block-bootstrap draws",
        "fourier_order": fitter.fourier_order_,
        "r2": _r2(y, fitted), "mape": mape(y, fitted), "nrmse": _nrmse(y, fitted),
        "holdout_nrmse": float(fitter.cv_rmse_ / np.ptp(fitter.y_)),
        "periods": len(history),
        **({} if history.panel is None else {
            "geos": len(history.panel.geos),
            "r2_geo": _r2(fitter.y_, fitter.fitted_),
            "model": "per head: geo and week effects + controls + media curves; national "
                     "curves assume spend split across geos by population"}),
        "decomposition": {"baseline": float(fitter.baseline_series().sum() / fitted.sum()),
                          **{n: float(total_media[c] / fitted.sum())
                             for c, n in enumerate(names)}},
        "channels": {n: {"family": fitter.family_[c],
                         "roi": (float(steady.value(current)[c] / current[c]) if current[c]
                                 else None),
                         "marginal_roi": float(steady.marginal(current)[c]),
                         "marginal_roi_p10_p90": ([float(v) for v in np.percentile(
                             draw_mroi[:, c], [10, 90])] if len(draws) else None),
                         "signal": float(signal[c]),
                         "decay": float(decay[c]),
                         **({"peak": float(peak[c])} if delayed else {})}
                     for c, n in enumerate(names)},
        "controls": fitter.control_names_,
        "warnings": notes,
        "seconds": {k: round(v, 3) for k, v in fitter.timings_.items()},
    }
    fit["seconds"]["total"] = round(time.perf_counter() - started, 3)
    extra = {"seasonality": {**fitter.seasonality(),
                             "origin": history.dates[0].strftime("%Y-%m-%d")},
             "bootstrap": {"draws": fitter.draws_}}
    return replace(model, fit=fit, extra=extra)


def _yearly_fourier(days, series) -> tuple[int, np.ndarray, float]:
    """Order, Fourier coefficients and mean of ``series`` ~ level + trend + yearly Fourier."""
    trend = days / max(days[-1], 1.0)
    design = lambda order: np.column_stack([np.ones_like(days), trend, *[
        f(2 * np.pi * k * days / YEAR_DAYS) for k in range(1, order + 1)
        for f in (np.sin, np.cos)]])
    order = _cv_order(design, series, FOURIER_ORDERS, _rolling_folds(len(days)))
    solution, *_ = np.linalg.lstsq(design(order), series, rcond=None)
    return order, solution[2:], float(series.mean())


def _cv_order(design, y, orders, folds) -> int:
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


def _rolling_folds(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row masks of rolling-origin time-series cross-validation."""
    rows = np.arange(n)
    cuts = [int(round(n * origin)) for origin in CV_ORIGINS] + [n]
    return [(rows < start, (rows >= start) & (rows < end)) for start, end in zip(cuts, cuts[1:])]


def _interleaved_folds(geos: int, periods: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row masks of a geo panel: blocks of 4 periods, staggered across geos, so
    every period keeps most geos in training and its week effect stays estimable."""
    geo, week = np.indices((geos, periods))
    fold = ((week // 4 + geo) % len(CV_ORIGINS)).ravel()
    return [(fold != f, fold == f) for f in range(len(CV_ORIGINS))]


def _check_usable(history: History) -> None:
    problems = []
    for name in history.channels:
        if not (history.spend[name] > 0).any():
            problems.append(f"channel '{name}' never spends; drop it from the channels")
    if np.ptp(history.kpi) == 0:
        problems.append("the KPI is constant; there is nothing to explain")
    if history.controls is not None:
        for column in history.controls.columns:
            if np.ptp(history.controls[column].to_numpy(float)) == 0:
                problems.append(f"control '{column}' is constant; drop it from the controls")
    controls = 0 if history.controls is None else history.controls.shape[1]
    parameters = 2 + 2 * min(FOURIER_ORDERS) + controls + 4 * len(history.channels)
    rows = len(history)
    if history.panel is not None:  # a geo and a week effect each, read from every geo's rows
        geos = len(history.panel.geos)
        parameters, rows = geos + len(history) + controls + 4 * len(history.channels), \
            geos * len(history)
    if rows < 2 * parameters:
        problems.append(f"{rows} rows for about {parameters} parameters; the fit needs at "
                        f"least {2 * parameters} (or fewer channels/controls)")
    if problems:
        raise InputError.collected(f"{history.source}: cannot fit:", problems)


def _identification_warnings(history: History, fitter: JointFitter, signal) -> list[str]:
    """A note for each channel, or pair, whose curve the history cannot pin down."""
    notes = []
    spend = history.spend.to_numpy(float)
    for c, name in enumerate(history.channels):
        series = spend[:, c]
        variation = series.std() / max(series.mean(), 1e-12)
        if variation < 0.1:
            notes.append(f"channel '{name}': spend barely varies (CV {variation:.2f}); its "
                         f"curve is poorly identified")
        elif signal[c] < 0.01:
            notes.append(f"channel '{name}': no measurable effect in this history (its "
                         f"fitted effect is about zero), so the optimizer sees no return on it")
        elif signal[c] < WEAK_SIGNAL:
            notes.append(f"channel '{name}': its effect varies {signal[c]:.2f}x as much as "
                         f"the noise; its curve and marginal ROI are uncertain (see the "
                         f"bootstrap range)")
        if history.panel is not None:  # week effects: identified across geos, not over time
            continue
        seasonal = fitter.baseline_[:, :2 + fitter.n_fourier_]
        solution, *_ = np.linalg.lstsq(seasonal, series, rcond=None)
        explained = 1 - np.var(series - seasonal @ solution) / max(np.var(series), 1e-300)
        if explained > 0.8:
            notes.append(f"channel '{name}': {explained:.0%} of its spend follows trend and "
                         f"season; its effect is hard to tell from seasonality")
    correlation = np.corrcoef(spend.T) if spend.shape[1] > 1 else np.ones((1, 1))
    for a in range(len(history.channels)):
        for b in range(a + 1, len(history.channels)):
            if abs(correlation[a, b]) > 0.9:
                notes.append(f"channels '{history.channels[a]}' and '{history.channels[b]}' "
                             f"move together (correlation {correlation[a, b]:.2f}); their "
                             f"split is poorly identified")
    return notes


def _r2(y, fitted) -> float:
    return float(1 - np.sum((y - fitted) ** 2) / np.sum((y - y.mean()) ** 2))


def _nrmse(y, fitted) -> float:
    return float(np.sqrt(np.mean((y - fitted) ** 2)) / (y.max() - y.min()))
