"""The joint fit of one KPI: baseline + media response curves, by variable projection.

KPI_t = intercept + trend_t + yearly Fourier seasonality_t + controls_t
        + sum_c beta_c * curve_c(adstock_c(spend_c)_t) + noise.

Given each channel's nonlinear parameters (adstock decay, half-saturation k, shape s) the
model is linear in the rest; the baseline is projected out and the intercept and media effects
(all non-negative) solved by NNLS. The nonlinear parameters are fitted by bounded nonlinear
least squares from several starts, with weakly-informative priors: log(k / typical adstocked
level) and log(s) pulled towards 0, each channel's decay towards the mean decay of all
channels, and each channel's share of the KPI towards (pooled ratio x its share of spend) with
an sd proportional to that share (the channel's ROI within about its own size of the pooled
ROI), so that a channel the data barely informs keeps a sensible curve whatever the media's
share of the KPI. The yearly Fourier order and each channel's family are chosen by
rolling-origin time-series cross-validation. Block-bootstrap refits give parameter draws,
each with the channels' families drawn by their CV weights.

A geo panel is fitted per head with one effect per geo and one per week shared by all geos in
place of trend and season (media effects then come from differences between geos), model
choices by an interleaved CV. :mod:`.wide` turns a fitter into a model file.
"""

from __future__ import annotations

import time
from concurrent.futures import Executor
from dataclasses import dataclass, replace

import numpy as np
from budgetopt.optimizer.fit.folds import cv_order, interleaved_folds, rolling_folds
from budgetopt.optimizer.fit.geo import pool_geo_effects
from budgetopt.optimizer.fit.layout import ParameterLayout
from budgetopt.optimizer.fit.priors import SATURATING_FAMILIES
from budgetopt.optimizer.history.lift_tests import LiftTest
from budgetopt.optimizer.history.loaders import History
from budgetopt.optimizer.model.adstock import delayed_adstock, delayed_weights, geometric_adstock
from budgetopt.optimizer.model.curves import FAMILIES
from budgetopt.optimizer.model.draws import ParameterDraws
from budgetopt.optimizer.model.report import GeoEffects
from budgetopt.optimizer.model.seasonality import YEAR_DAYS, Seasonality, fourier_basis
from budgetopt.optimizer.parallel import run_pieces
from budgetopt.optimizer.settings import DRAWS_PER_PIECE
from scipy.optimize import least_squares, nnls
from threadpoolctl import threadpool_limits

__all__ = ["JointFitter", "FOURIER_ORDERS", "START_FAMILY"]

FOURIER_ORDERS = (1, 2, 3, 4, 6)  # yearly Fourier orders tried; the rolling CV picks one
START_FAMILY = "hill"  # every channel starts as a Hill curve; CV then tries the others
SHARE_PRIOR = 1.0  # sd of a channel's KPI share, relative to its expected share
MIN_MEDIA_SHARE = 0.01  # in that sd, the media's share of the KPI is taken as at least this
MIN_SPEND_SHARE = 1e-3  # and a channel's share of the spend as at least this
DECAY_SPREAD = 0.15  # prior sd of a channel's decay around the mean decay of all channels
SCREENING_DECAY = 0.3  # adstock of the linear screening model (Fourier order, noise)
BLOCK = 8  # periods per bootstrap block (keeps autocorrelation)
COLUMN_CACHE = 20000  # media columns kept between evaluations
GEO_ROUNDS = 2  # geo effects and curves alternated this many times (geo panels)


@dataclass(frozen=True)
class Baseline:
    """The baseline design: its columns (rows geo-major), the CV folds, the Fourier order and
    how many columns come before the controls. A national history is a panel of one geo."""

    columns: np.ndarray
    folds: list
    fourier_order: int
    fixed: int
    is_panel: bool = False


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

    def fit(self, history: History, lift_tests: tuple[LiftTest, ...] = ()) -> JointFitter:
        """Fit ``history``; ``lift_tests`` enter as measurements with their standard errors."""
        started = time.perf_counter()
        self.timings_ = {}
        self._stage, self._done = None, 0
        self.lift_tests_ = tuple(lift_tests)
        self._scale(history)
        self.baseline_design_ = self._baseline(history)
        self.baseline_ = self.baseline_design_.columns
        self.fourier_order_ = self.baseline_design_.fourier_order
        self._priors(history)
        layout = ParameterLayout((START_FAMILY,) * self.n_channels_,
                                 delayed=self.adstock == "delayed")
        best, thetas = self._cv_error(layout, [layout.starts(self.n_starts, self.seed)])
        steps = 1 + self.n_channels_ * (len(self.families) - 1)
        self._report("curves", 1, steps)
        self.family_weights_, self._family_starts = [], []
        for c in range(self.n_channels_):  # choose each channel's family by CV
            tried = {layout.families[c]: (best, layout, thetas)}
            for candidate in self.families:
                if candidate == layout.families[c]:
                    continue
                trial = layout.with_family(c, candidate)
                error, fits = self._cv_error(
                    trial, [[trial.adapt(theta, layout)] for theta in thetas])
                tried[candidate] = (error, trial, fits)
                self._report("curves", None, steps)
            best, layout, thetas = tried[min(tried, key=lambda f: tried[f][0])]
            self.family_weights_.append(_family_weights(
                {f: error for f, (error, *_) in tried.items()}, self._cv_rows()))
            self._family_starts.append({f: trial.channel_slice(fits[-1], c)
                                        for f, (_, trial, fits) in tried.items()})
        self.cv_rmse_ = float(np.sqrt(best))
        self.timings_["select"] = time.perf_counter() - started
        everything = np.ones(len(self.y_), bool)
        self.layout_ = layout
        self.family_ = list(layout.families)
        self.theta_ = self._fit_theta(layout, everything, starts=[
            thetas[-1], *layout.starts(self.n_starts, self.seed)])
        self.coef_ = self._linear(layout, self.theta_, everything)
        self.fitted_ = self._design(layout, self.theta_) @ self.coef_
        self.timings_["fit"] = time.perf_counter() - started - self.timings_["select"]
        return self.draw(self.bootstrap)

    def draw(self, count: int, executor: Executor | None = None) -> JointFitter:
        """Refit ``count`` block-bootstrap histories; their parameters are ``draws_``.

        The resampled histories are drawn here from the seed, then refitted in pieces of
        DRAWS_PER_PIECE on ``executor`` (see :mod:`budgetopt.optimizer.parallel`), so the
        draws are the same wherever they run."""
        started = time.perf_counter()
        self.draws_ = self._bootstrap(count, executor)
        self.timings_["bootstrap"] = time.perf_counter() - started
        return self

    def __getstate__(self) -> dict:
        """What a worker needs to refit: no progress callback, no caches."""
        state = dict(self.__dict__)
        state.update(progress=None, _bases={}, _columns={}, _projected=None)
        return state

    # --- the data, the baseline and the priors ---------------------------------------------
    def _scale(self, history: History) -> None:
        """Scaled per-head KPI rows (geo-major) and spend (geos x periods x channels)."""
        if history.kpi is None:
            raise ValueError("a wide history (one KPI column) is needed")
        panel = history.as_panel()
        kpi, self.spend_, self.size_ = panel.kpi, panel.spend, panel.population
        y = kpi / self.size_[:, None]
        x = self.spend_ / self.size_[:, None, None]
        self.channels_ = history.channels
        self.n_channels_ = self.spend_.shape[2]
        self.y_scale_ = float(np.mean(np.abs(y))) or 1.0
        self.x_scale_ = np.array([c[c > 0].mean() if (c > 0).any() else 1.0
                                  for c in x.reshape(-1, self.n_channels_).T])
        self.y_ = (y / self.y_scale_).ravel()
        self.x_ = x / self.x_scale_
        self.shape_ = kpi.shape
        self.days_ = (history.dates - history.dates[0]).days.to_numpy(float)
        self.control_names_ = [] if history.controls is None else list(history.controls.columns)
        self.geos_ = panel.geos
        self.effectiveness_ = None  # geos x channels, set by pool_geos
        self.screening_ = np.column_stack([  # linear stand-in for the media
            geometric_adstock(self.x_[:, :, c], SCREENING_DECAY).ravel()
            for c in range(self.n_channels_)])
        self._bases, self._columns, self._projected = {}, {}, None
        self._shift = None  # a bootstrap draw's shift of the priors' and tests' targets

    def _baseline(self, history: History) -> Baseline:
        """National: intercept, trend, yearly Fourier terms (order by rolling CV), controls.
        Geo panel: intercept, geo and week effects (the week absorbs trend and season),
        controls, with interleaved folds."""
        panel = history.as_panel()
        controls = [panel.controls[:, :, j].ravel() for j in range(len(self.control_names_))]
        if history.panel is None:
            folds = rolling_folds(len(self.days_))
            columns = lambda order: _national_columns(self.days_, order, controls)
            order = cv_order(lambda o: np.column_stack([columns(o), self.screening_]),
                             self.y_, self.fourier_orders, folds)
            design = columns(order)
            return Baseline(design, folds, order, design.shape[1] - len(controls))
        geo, week = np.indices(self.shape_)
        design = np.column_stack([
            np.ones(geo.size),
            *[(geo.ravel() == g).astype(float) for g in range(1, self.shape_[0])],
            *[(week.ravel() == t).astype(float) for t in range(1, self.shape_[1])],
            *[_standardised(v) for v in controls]])
        return Baseline(design, interleaved_folds(*self.shape_), 0,
                        design.shape[1] - len(controls), is_panel=True)

    def _priors(self, history: History) -> None:
        """Typical adstocked level per channel, spend shares and the priors' weights."""
        self.typical_ = np.array([max(np.median(c[c > 0]), 1e-3) if (c > 0).any() else 1.0
                                  for c in self.x_.reshape(-1, self.n_channels_).T])
        mean_spend = self.spend_.reshape(-1, self.n_channels_).mean(axis=0)
        self.spend_share_ = mean_spend / mean_spend.sum()
        noise, media_share = self._screen()
        self.noise_ = noise
        # a channel's expected KPI share: the screened media share split by spend
        expected = (max(media_share, MIN_MEDIA_SHARE)
                    * np.maximum(self.spend_share_, MIN_SPEND_SHARE))
        self.share_weight_ = noise / (SHARE_PRIOR * expected)
        self.decay_weight_ = noise / DECAY_SPREAD
        # a lift test in scaled per-head units, weighted so that its residual counts in noise
        # standard deviations: (noise / its standard error) x (prediction - measurement)
        unit = self.y_scale_ * self.size_.sum()
        self.lift_weight_ = np.array([noise * unit / t.standard_error for t in self.lift_tests_])
        self.lift_target_ = np.array([t.lift / unit for t in self.lift_tests_])

    def _screen(self) -> tuple[float, float]:
        """The noise sd (scaled units) and the media's share of the KPI by a linear screening
        model: the baseline plus each channel's spend adstocked at SCREENING_DECAY. Priors are
        weighted by the noise, so a prior of sd tau costs (deviation / tau)^2 noise
        variances."""
        design = np.hstack([self.baseline_, self.screening_])
        solution, *_ = np.linalg.lstsq(design, self.y_, rcond=None)
        media = np.maximum(solution[-self.n_channels_:], 0) @ self.screening_.mean(axis=0)
        return float(np.std(self.y_ - design @ solution)), float(media)

    # --- the model -------------------------------------------------------------------------
    def _unpack(self, layout: ParameterLayout, theta):
        """Per channel (decay, k, s, peak) in scaled units (peak NaN: geometric).

        k is stored as log(k / typical adstocked level): the median spend while on air times
        the adstock's steady-state scale."""
        decay, log_k, peak, log_s = layout.columns(theta)
        if layout.delayed:
            scale = np.array([delayed_weights(d, p).sum() for d, p in zip(decay, peak)])
            peaks = peak.tolist()
        else:  # one NaN object: the media cache's keys hold it, and NaN hashes by identity
            scale, peaks = 1 / (1 - decay), [np.nan] * len(decay)
        k = np.exp(log_k) * self.typical_ * scale
        return list(zip(decay.tolist(), k.tolist(), np.exp(log_s).tolist(), peaks))

    def _media(self, layout: ParameterLayout, theta):
        """Media columns, each geo's rows times its effectiveness (see :meth:`pool_geos`)."""
        columns = self._unit_media(layout, theta)
        return columns if self.effectiveness_ is None else columns * self._row_effectiveness

    def _unit_media(self, layout: ParameterLayout, theta):
        """Media columns at the national effectiveness; each channel's column is cached, so
        finite differences recompute one."""
        if len(self._columns) > COLUMN_CACHE:
            self._columns.clear()
        columns = []
        for c, (decay, k, s, peak) in enumerate(self._unpack(layout, theta)):
            family = layout.families[c]
            key = (c, family, decay, k, s, peak)
            if key not in self._columns:
                if layout.delayed:
                    level = delayed_adstock(self.x_[:, :, c], decay, peak)
                else:
                    level = geometric_adstock(self.x_[:, :, c], decay)
                self._columns[key] = FAMILIES[family].curve(level.ravel(), beta=1.0, k=k, s=s)
            columns.append(self._columns[key])
        return np.column_stack(columns)

    def _design(self, layout, theta):
        return np.hstack([self.baseline_, self._media(layout, theta)])

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

    def _lift_effects(self, layout: ParameterLayout, theta) -> np.ndarray:
        """(tests, channels): each lift test's predicted KPI change per unit of its channel's
        media coefficient (scaled per-head units), at its channel's column."""
        effects = np.zeros((len(self.lift_tests_), self.n_channels_))
        if not self.lift_tests_:
            return effects
        parameters = self._unpack(layout, theta)
        people = self.size_.sum()
        for j, test in enumerate(self.lift_tests_):
            c = self.channels_.index(test.channel)
            decay, k, s, peak = parameters[c]
            curve = lambda level: FAMILIES[layout.families[c]].curve(level, beta=1.0, k=k, s=s)
            base = test.spend / (people * self.x_scale_[c])
            change = test.spend_change / (people * self.x_scale_[c])
            if test.window is None:  # steady state of a constant spend
                scale = delayed_weights(decay, peak).sum() if layout.delayed else 1 / (1 - decay)
                effects[j, c] = curve((base + change) * scale) - curve(base * scale)
                continue
            first, last = test.window  # the history's spend, changed inside the window
            series = (self.x_[:, :, c] * self.size_[:, None]).sum(axis=0) / people
            changed = series.copy()
            changed[first:last + 1] = np.maximum(changed[first:last + 1] + change, 0.0)
            adstock = ((lambda x: delayed_adstock(x, decay, peak)) if layout.delayed else
                       (lambda x: geometric_adstock(x, decay)))
            window = slice(first, last + 1)
            effects[j, c] = float(np.mean(curve(adstock(changed)[window])
                                          - curve(adstock(series)[window])))
        return effects

    def _media_fit(self, media, rows, y, lift=None):
        """Intercept and media coefficients (all >= 0), the rest of the baseline projected out.

        min over baseline b, intercept a >= 0, media m >= 0 of |y - B b - a - M m| equals the
        same minimum of |P(y - a - M m)| with P the projection off B: a small NNLS. The pooled
        share prior adds rows w (share_c - r spend_share_c) with the pooled ratio r >= 0 free.
        Returns (intercept, media coefficients) and the stacked residual.
        """
        basis, picked, stacked = self._projected_target(rows, y)
        chosen = media if picked is None else media[picked]
        n_rows, n_media = len(chosen), media.shape[1]
        system = np.zeros((len(stacked), n_media + 2))
        system[:n_rows, 0] = 1.0
        system[:n_rows, 1:-1] = chosen
        free = system[:n_rows, :-1]
        free -= basis @ (basis.T @ free)
        diagonal = np.arange(n_media)
        system[n_rows + diagonal, 1 + diagonal] = (self.share_weight_
                                                    * (np.add.reduce(chosen) / n_rows))
        system[n_rows:n_rows + n_media, -1] = -self.share_weight_ * self.spend_share_
        if lift is not None and len(lift):  # each lift test: one weighted measurement row
            system[n_rows + n_media:, 1:-1] = self.lift_weight_[:, None] * lift
        coef, _ = nnls(system, stacked, maxiter=50 * (n_media + 2))
        return coef[:-1], stacked - system @ coef

    def _projected_target(self, rows, y):
        """The basis off which ``rows`` are projected, the rows to pick (None: all) and the
        stacked target (projected y, the share prior's zeros, the lift tests' weighted
        lifts); kept for the last (rows, y): a least-squares solve asks for the same ones at
        every evaluation."""
        key = rows.tobytes()
        if self._projected is not None and self._projected[0] == key and \
                self._projected[1] is y and self._projected[3] is self._shift:
            return self._projected[2]
        _, basis = self._complement(rows)
        picked = None if rows.all() else rows
        target = y[rows] - basis @ (basis.T @ y[rows])
        stacked = np.r_[target, np.zeros(self.n_channels_),
                        self.lift_weight_ * self.lift_target_]
        if self._shift is not None:  # the share prior's and the tests' rows
            stacked[len(target):] += self._shift[:len(stacked) - len(target)]
        self._projected = (key, y, (basis, picked, stacked), self._shift)
        return self._projected[2]

    def _linear(self, layout, theta, rows, y=None):
        y = self.y_ if y is None else y
        media = self._media(layout, theta)
        coef, _ = self._media_fit(media, rows, y, self._lift_effects(layout, theta))
        rest = (y - coef[0] - media @ coef[1:])[rows]
        varying, _ = self._complement(rows)
        base = np.zeros(len(varying))
        base[varying], *_ = np.linalg.lstsq(self.baseline_[rows, 1:][:, varying], rest,
                                            rcond=None)
        return np.concatenate([coef[:1], base, coef[1:]])

    def _residuals(self, theta, layout: ParameterLayout, rows, y=None):
        y = self.y_ if y is None else y
        _, data = self._media_fit(self._media(layout, theta), rows, y,
                                  self._lift_effects(layout, theta))
        prior = layout.prior(theta, self.decay_weight_)
        if self._shift is not None:
            prior = prior - self._shift[-len(prior):]
        return np.concatenate([data, prior])

    def _fit_theta(self, layout: ParameterLayout, rows, starts, y=None):
        lower, upper = layout.bounds()
        best = None
        for start in starts:
            start = np.clip(start, lower + 1e-9, upper - 1e-9)
            solution = least_squares(self._residuals, start, bounds=(lower, upper),
                                     args=(layout, rows, y), method="trf", diff_step=1e-4,
                                     max_nfev=200)
            if best is None or solution.cost < best.cost:
                best = solution
        return best.x

    def _cv_error(self, layout: ParameterLayout, starts):
        """Mean squared error on the test blocks of the folds, and each fold's fit.

        ``starts`` holds the starts of the first fold, or one list of starts per fold; without
        one, a fold starts from the previous fold's fit.
        """
        squared, thetas = [], []
        for number, (train, test) in enumerate(self.baseline_design_.folds):
            fold_starts = starts[number] if number < len(starts) else [thetas[-1]]
            theta = self._fit_theta(layout, train, starts=fold_starts)
            coef = self._linear(layout, theta, train)
            squared.append((self._design(layout, theta)[test] @ coef - self.y_[test]) ** 2)
            thetas.append(theta)
        return float(np.mean(np.concatenate(squared))), thetas

    def _cv_rows(self) -> int:
        """How many rows the CV scores (all test blocks)."""
        return int(sum(test.sum() for _, test in self.baseline_design_.folds))

    def _report(self, stage: str, done: int | None, total: int) -> None:
        """Tell ``progress`` how far a stage is (``done`` None: one more step)."""
        if self.progress is None:
            return
        self._done = (self._done + 1 if done is None and stage == self._stage else done or 1)
        self._stage = stage
        self.progress(stage, self._done, total)

    def _bootstrap(self, count: int, executor: Executor | None = None
                   ) -> ParameterDraws | None:
        """Moving-block bootstrap of residuals; each draw refitted from the full fit.

        The residuals are scaled by sqrt(n / (n - p)), p the parameters the fit spent: fitted
        residuals are smaller than the noise (Davison and Hinkley's modified residuals, with
        every row at the mean leverage p / n)."""
        if count == 0:
            return None
        rng = np.random.default_rng(self.seed + 1)
        periods = self.shape_[1]
        spent = self.baseline_.shape[1] + self.n_channels_ + self.layout_.size
        inflation = np.sqrt(len(self.y_) / max(len(self.y_) - spent, 1))
        residual = ((self.y_ - self.fitted_) * inflation).reshape(self.shape_)
        histories = []
        for _ in range(count):  # the same weeks for every geo: keeps their link
            starts = rng.integers(0, periods - BLOCK + 1, size=int(np.ceil(periods / BLOCK)))
            blocks = [residual[:, s:s + BLOCK] for s in starts]
            histories.append(self.fitted_ + np.concatenate(blocks, axis=1)[:, :periods].ravel())
        pick = np.random.default_rng(self.seed + 3)
        families = [tuple(str(pick.choice(list(weights), p=list(weights.values())))
                          for weights in self.family_weights_) for _ in range(count)]
        # randomised priors and tests: each prior's centre and each test's lift drawn from
        # its own distribution, a shift of noise x N(0, 1) on its row (randomised MAP)
        rows = 4 * self.n_channels_ + len(self.lift_tests_)
        shifts = np.random.default_rng(self.seed + 4).standard_normal((count, rows)) \
            * self.noise_
        histories = list(zip(histories, families, shifts))
        pieces = [(self, histories[i:i + DRAWS_PER_PIECE])
                  for i in range(0, count, DRAWS_PER_PIECE)]
        done = lambda finished, total: self._report(
            "bootstrap", min(finished * DRAWS_PER_PIECE, count), count)
        refits = run_pieces(executor, _refit_piece, pieces, done)
        return ParameterDraws.from_records([draw for piece in refits for draw in piece])

    def refit(self, y: np.ndarray, families: tuple[str, ...], shift: np.ndarray | None = None
              ) -> list[dict]:
        """The channel parameters refitted to the outcome ``y`` with ``families``, from the
        full fit's parameters (a channel of another family: from its fit in the CV); ``shift``
        moves the targets of the share prior's and the lift tests' rows (first) and of the
        other priors' rows (last)."""
        everything = np.ones(len(self.y_), bool)
        layout = replace(self.layout_, families=tuple(families))
        start = np.concatenate([
            self.layout_.channel_slice(self.theta_, c) if family == self.layout_.families[c]
            else self._family_starts[c][family] for c, family in enumerate(families)])
        self._shift = shift
        try:
            theta = self._fit_theta(layout, everything, [start], y=y)
            coef = self._linear(layout, theta, everything, y)
        finally:
            self._shift = None
        return self._channel_parameters(theta, coef, layout)

    # --- results in original units ---------------------------------------------------------
    def _channel_parameters(self, theta, coef, layout: ParameterLayout | None = None
                            ) -> list[dict]:
        """National curves: per head beta f(x / k) summed over geos whose spend follows their
        population is (total population x beta) f(X / (total population x k))."""
        layout = self.layout_ if layout is None else layout
        people = self.size_.sum()
        media = coef[self.baseline_.shape[1]:] * self.y_scale_ * people
        out = []
        for c, (decay, k, s, peak) in enumerate(self._unpack(layout, theta)):
            out.append({"type": layout.families[c], "beta": float(max(media[c], 1e-12)),
                        "k": float(k * self.x_scale_[c] * people),
                        "s": float(s), "decay": float(decay), "peak": float(peak)})
        return out

    def lift_predictions(self) -> np.ndarray:
        """Each lift test's predicted KPI change per period in KPI units, by the final fit."""
        base = self.baseline_.shape[1]
        effects = self._lift_effects(self.layout_, self.theta_) @ self.coef_[base:]
        return effects * self.y_scale_ * self.size_.sum()

    def channel_parameters(self) -> list[dict]:
        """Each channel's beta, k, s, decay and peak (NaN: geometric) in original units."""
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
        return self.national(self._media(self.layout_, self.theta_) * self.coef_[base:])

    def pool_geos(self, rounds: int = GEO_ROUNDS) -> GeoEffects:
        """Each geo's effectiveness per channel, partially pooled (:func:`pool_geo_effects`),
        alternated ``rounds`` times with a refit of the curves that lets each geo's media
        columns carry its effectiveness (so the national curves are not bent by geos that
        differ); the effects returned are those of the final curves."""
        everything = np.ones(len(self.y_), bool)
        for round_ in range(rounds + 1):
            base = self.baseline_.shape[1]
            unit = (self._unit_media(self.layout_, self.theta_) * self.coef_[base:]).reshape(
                *self.shape_, self.n_channels_)
            current = (np.ones((self.shape_[0], self.n_channels_))
                       if self.effectiveness_ is None else self.effectiveness_)
            explained = ((current - 1)[:, None, :] * unit).sum(axis=2)  # by today's effects
            effects = pool_geo_effects((self.y_ - self.fitted_).reshape(self.shape_)
                                       + explained, unit, self.geos_, self.channels_)
            if round_ == rounds:
                return effects
            self.effectiveness_ = effects.effectiveness
            self._row_effectiveness = np.repeat(self.effectiveness_, self.shape_[1], axis=0)
            self.theta_ = self._fit_theta(self.layout_, everything, starts=[self.theta_])
            self.coef_ = self._linear(self.layout_, self.theta_, everything)
            self.fitted_ = self._design(self.layout_, self.theta_) @ self.coef_

    def signal(self) -> np.ndarray:
        """Each channel's fitted effect sd over the residual sd (per head, every row)."""
        base = self.baseline_.shape[1]
        media = self._media(self.layout_, self.theta_) * self.coef_[base:]
        return media.std(axis=0) / max(np.std(self.y_ - self.fitted_), 1e-12)

    def seasonality(self, origin) -> Seasonality:
        """The yearly Fourier terms in KPI units and the mean baseline. A geo panel has none in
        its model: they come from a Fourier regression of its national geo and week effects,
        the order chosen by rolling CV as for a national fit."""
        if not self.baseline_design_.is_panel:
            order, mean = self.fourier_order_, self.baseline_series().mean()
            coefficients = self.coef_[2:2 + 2 * order] * self.y_scale_
        else:
            fixed = self.baseline_design_.fixed
            effects = self.national(self.baseline_[:, :fixed] @ self.coef_[:fixed])
            order, coefficients, mean = _yearly_fourier(self.days_, effects)
        return Seasonality(fourier_order=int(order),
                           coefficients=tuple(float(c) for c in coefficients),
                           mean_baseline=float(mean), origin=origin, period_days=YEAR_DAYS)


def _standardised(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() or 1.0)


def _national_columns(days, order: int, controls) -> np.ndarray:
    """Intercept, centred trend, yearly Fourier terms up to ``order``, standardised controls."""
    trend = days / max(days[-1], 1.0)
    return np.column_stack([np.ones_like(days), trend - trend.mean(),
                            fourier_basis(days, order), *[_standardised(v) for v in controls]])


def _yearly_fourier(days, series) -> tuple[int, np.ndarray, float]:
    """Order, Fourier coefficients and mean of ``series`` ~ level + trend + yearly Fourier."""
    trend = days / max(days[-1], 1.0)
    design = lambda order: np.column_stack([np.ones_like(days), trend,
                                            fourier_basis(days, order)])
    order = cv_order(design, series, FOURIER_ORDERS, rolling_folds(len(days)))
    solution, *_ = np.linalg.lstsq(design(order), series, rcond=None)
    return order, solution[2:], float(series.mean())


def _family_weights(errors: dict[str, float], rows: int) -> dict[str, float]:
    """Pseudo-BMA weights of a channel's families from their CV errors: each family's
    Gaussian predictive density of the ``rows`` scored, mse^(-rows / 2), normalised (Yao et
    al. 2018). Families the CV cannot tell apart share the draws."""
    least = min(errors.values())
    log_weight = {f: -0.5 * rows * np.log(e / least) for f, e in errors.items()}
    total = sum(np.exp(w) for w in log_weight.values())
    return {f: float(np.exp(w) / total) for f, w in log_weight.items()}


def _refit_piece(piece) -> list[list[dict]]:
    """One piece of the bootstrap: a fitter and resampled outcomes, refitted one by one
    (BLAS on one thread, as in the fit)."""
    fitter, histories = piece
    with threadpool_limits(limits=1, user_api="blas"):
        return [fitter.refit(y, families, shift) for y, families, shift in histories]
