"""Fitting a wide history (or a geo panel) into a model file: curves, report, draws, season.

:class:`~.joint.JointFitter` does the estimation; this module checks that the history can be
fitted, chooses the adstock (``auto``), and turns the fitter into a :class:`MediaModel` with its
:class:`FitReport`, :class:`ParameterDraws` and :class:`Seasonality`, warning about channels
the history cannot identify.
"""

from __future__ import annotations

import time
import warnings
from concurrent.futures import Executor
from dataclasses import replace

import numpy as np
from budgetopt.optimizer.constants import KPI_REVENUE
from budgetopt.optimizer.errors import InputError
from budgetopt.optimizer.fit.folds import SELECTION_MARGIN
from budgetopt.optimizer.fit.geo import geo_model
from budgetopt.optimizer.fit.joint import FOURIER_ORDERS, JointFitter
from budgetopt.optimizer.fit.priors import has_shape, shape_bounds
from budgetopt.optimizer.fit.quality import mape, nrmse, r2
from budgetopt.optimizer.history.lift_tests import CONTRADICTED, LiftTest
from budgetopt.optimizer.history.loaders import History
from budgetopt.optimizer.model.adstock import ADSTOCK_TYPES, DELAYED_LENGTH, geometric_adstock
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.model.report import (
    LAYOUT_GEO,
    LAYOUT_WIDE,
    ChannelFit,
    FitReport,
    FitSeries,
    LiftTestFit,
)
from budgetopt.optimizer.settings import periods_per_year, quarter_periods
from threadpoolctl import threadpool_limits

__all__ = ["fit_wide_history", "implausible_roi_warnings", "shape_at_limit", "WEAK_SIGNAL"]

WEAK_SIGNAL = 0.25  # a channel's effect sd below this x residual sd: warned as uncertain
NO_SIGNAL = 0.01  # below this x residual sd: no measurable effect
FLAT_SPEND = 0.1  # spend whose coefficient of variation is below this barely varies
SEASONAL_SPEND = 0.8  # share of a channel's spend variance that trend and season explain
COLLINEAR = 0.9  # correlation of two channels' spend above which their split is unclear
IMPLAUSIBLE_ROI = 10.0  # an ROI this many times the median channel's is warned about
SMALL_SHARE = 0.02  # a channel with less of the spend than this is hard to identify
AT_SHAPE_LIMIT = 0.01  # a shape within this (in log s) of its family's bound sits at the limit


def fit_wide_history(history: History, *, kpi_type: str = KPI_REVENUE, seed: int = 0,
                     bootstrap: int = 50, adstock: str = "geometric", progress=None,
                     lift_tests: tuple[LiftTest, ...] = (),
                     executor: Executor | None = None) -> MediaModel:
    """Fit a wide history and return the model, with diagnostics under ``fit``; a geo panel
    gives a geo model (one curve per geo and channel, see :mod:`.geo`).

    ``adstock`` is "geometric", "delayed" (for every channel), or "auto": both fitted, the one
    with the lower rolling-CV error kept. ``lift_tests`` (experiments) enter the estimation as
    measurements with their standard errors; the report gives each one's prediction and names
    those the data contradict (missed by more than CONTRADICTED standard errors). The
    bootstrap refits run on ``executor`` when given (local processes or a Dask cluster, see
    :mod:`budgetopt.optimizer.parallel`), with the same draws as here."""
    _check_usable(history)
    started = time.perf_counter()
    kinds = ADSTOCK_TYPES if adstock == "auto" else (adstock,)
    # Thousands of small least-squares problems: BLAS threads cost more than they give.
    with threadpool_limits(limits=1, user_api="blas"):
        # "auto": delayed must beat the margin
        fitters = [JointFitter(seed=seed, bootstrap=0, adstock=kind, progress=progress)
                   .fit(history, lift_tests) for kind in kinds]
        fitter = min(fitters, key=lambda f: f.cv_rmse_ * (1 if f.adstock == "geometric"
                                                          else 1 + SELECTION_MARGIN))
        effects = fitter.pool_geos() if history.panel is not None else None
        fitter.draw(bootstrap, executor)
    adstock = fitter.adstock
    y = np.asarray(history.kpi, float)
    fitted = fitter.national(fitter.fitted_)
    params = fitter.channel_parameters()
    names = history.channels
    curves = CurveSet.from_lists(fitter.family_, [p["beta"] for p in params],
                                 [p["k"] for p in params], [p["s"] for p in params])
    decay = np.array([p["decay"] for p in params])
    spend = history.spend.to_numpy(float)
    current = spend[-quarter_periods(history.period):].mean(axis=0)
    delayed = adstock == "delayed"
    carry = np.zeros(len(names)) if delayed else np.array(
        [geometric_adstock(spend[:, c], decay[c])[-1] for c in range(len(names))])
    recent = np.zeros((len(names), DELAYED_LENGTH - 1))
    recent[:, max(0, DELAYED_LENGTH - 1 - len(spend)):] = spend[-(DELAYED_LENGTH - 1):].T
    baseline = fitter.baseline_series()
    year = baseline[-periods_per_year(history.period):]
    model = MediaModel(names=tuple(names), curves=curves, decay=decay,
                       normalized=np.zeros(len(names), bool), current_spend=current,
                       carry_in=carry, kpi_name=history.kpi_name, kpi_type=kpi_type,
                       period=history.period, baseline=float(year.mean()),
                       peak=np.array([p["peak"] for p in params]),
                       recent_spend=recent if delayed else None, draws=fitter.draws_,
                       observed=history.observed_spend(),
                       seasonality=fitter.seasonality(history.dates[0]))
    signal = fitter.signal()
    steady = model.steady_state_curves()
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(current > 0, steady.value(current) / current, np.nan)
    tests = tuple(LiftTestFit(label=t.label, channel=t.channel, measured=t.lift,
                              predicted=float(p), standard_error=t.standard_error)
                  for t, p in zip(lift_tests, fitter.lift_predictions()))
    notes = _identification_warnings(history, fitter, signal, params)
    notes += [f"{t.label}: the fit predicts {t.predicted:,.0f} against the measured "
              f"{t.measured:,.0f} ({t.misses_by:.1f} standard errors off): the history and "
              f"the test disagree; check the test or the channel" for t in tests
              if t.misses_by > CONTRADICTED]
    notes += implausible_roi_warnings(names, roi, spend.mean(axis=0) / spend.mean(axis=0).sum())
    for note in notes:
        warnings.warn(note, stacklevel=2)
    media = fitter.media_series()
    total_media = media.sum(axis=0)
    draw_mroi = np.array([m.steady_state_curves().marginal(current)
                          for m in model.draw_models()])
    is_panel = fitter.baseline_design_.is_panel
    channels = {n: ChannelFit(
        family=fitter.family_[c], kpi_share=float(total_media[c] / fitted.sum()),
        roi=float(roi[c]) if np.isfinite(roi[c]) else None,
        marginal_roi=float(steady.marginal(current)[c]),
        marginal_roi_range=tuple(float(v) for v in np.percentile(draw_mroi[:, c], [10, 90]))
        if len(draw_mroi) else None,
        signal=float(signal[c]), decay=float(decay[c]),
        peak=float(params[c]["peak"]) if delayed else None) for c, n in enumerate(names)}
    series = FitSeries(dates=tuple(history.dates.strftime("%Y-%m-%d")), actual=y,
                       fitted=fitted, baseline=baseline,
                       contributions={n: media[:, c] for c, n in enumerate(names)})
    seconds = {k: round(v, 3) for k, v in fitter.timings_.items()}
    seconds["total"] = round(time.perf_counter() - started, 3)
    report = FitReport(
        layout=LAYOUT_GEO if is_panel else LAYOUT_WIDE,
        method="joint fit: variable projection (non-negative least squares inside bounded "
               "nonlinear least squares), " + (
                   "yearly Fourier order and family per channel by rolling-origin "
                   "cross-validation" if not is_panel else
                   "geo and week effects, family per channel by interleaved cross-validation")
               + f", {adstock} adstock, {bootstrap} block-bootstrap draws",
        fourier_order=fitter.fourier_order_, r2=r2(y, fitted), mape=mape(y, fitted),
        nrmse=nrmse(y, fitted), holdout_nrmse=float(fitter.cv_rmse_ / np.ptp(fitter.y_)),
        periods=len(history), channels=channels,
        baseline_share=float(baseline.sum() / fitted.sum()),
        controls=tuple(fitter.control_names_), warnings=tuple(notes), seconds=seconds,
        series=series, lift_tests=tests,
        **({} if not is_panel else {
            "geos": len(history.panel.geos), "r2_geo": r2(fitter.y_, fitter.fitted_),
            "description": "per head: geo and week effects + controls + media curves; one "
                           "curve per geo and channel: the national per-head curve at the "
                           "geo's population times the geo's effectiveness, partially pooled "
                           "across geos (empirical Bayes)"}))
    if not is_panel:
        return replace(model, fit=report)
    return geo_model(replace(model, fit=replace(report, geo_effects=effects)), history.panel,
                     effects, seed=seed)


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


def implausible_roi_warnings(names, roi, spend_share) -> list[str]:
    """A warning for each channel whose ROI at current spend is many times the median
    channel's, with the likely reason (little spend to learn from)."""
    finite = np.isfinite(roi) & (roi > 1e-6 * np.nanmax(np.r_[roi, 0.0]))  # no zero effects
    if finite.sum() < 2:
        return []
    median = float(np.median(roi[finite]))
    notes = []
    for c in np.flatnonzero(finite & (roi > IMPLAUSIBLE_ROI * median)):
        why = (f"it has {100 * spend_share[c]:.1f}% of the spend, too little to identify its "
               f"curve" if spend_share[c] < SMALL_SHARE else
               "the data cannot tell its effect apart well (see the bootstrap range)")
        notes.append(f"channel '{names[c]}': ROI {roi[c]:,.1f} at current spend is "
                     f"{roi[c] / median:,.0f}x the median channel's ({median:,.2f}); {why}; "
                     f"treat it as unreliable and cap the channel or test it with an "
                     f"experiment")
    return notes


def shape_at_limit(family: str, s: float) -> str | None:
    """What it means when a curve's shape s sits at its family's bound, or None."""
    if not has_shape(family):
        return None
    low, high = shape_bounds(family)
    if np.log(s) >= high - AT_SHAPE_LIMIT:
        return (f"its curve switches on as steeply as the fit allows (s = {s:.2f}, the "
                f"limit)")
    if np.log(s) <= low + AT_SHAPE_LIMIT:
        return f"its curve saturates as early as the fit allows (s = {s:.2f}, the limit)"
    return None


def _identification_warnings(history: History, fitter: JointFitter, signal, parameters
                             ) -> list[str]:
    """A note for each channel, or pair, whose curve the history cannot pin down
    (``parameters``: the fitter's channel parameters)."""
    notes = []
    spend = history.spend.to_numpy(float)
    for c, name in enumerate(history.channels):
        series = spend[:, c]
        variation = series.std() / max(series.mean(), 1e-12)
        if variation < FLAT_SPEND:
            notes.append(f"channel '{name}': spend barely varies (CV {variation:.2f}); its "
                         f"curve is poorly identified")
        elif signal[c] < NO_SIGNAL:
            notes.append(f"channel '{name}': no measurable effect in this history (its "
                         f"fitted effect is about zero), so the optimizer sees no return on it")
        elif signal[c] < WEAK_SIGNAL:
            notes.append(f"channel '{name}': its effect varies {signal[c]:.2f}x as much as "
                         f"the noise; its curve and marginal ROI are uncertain (see the "
                         f"bootstrap range)")
        shape = shape_at_limit(fitter.family_[c], parameters[c]["s"])
        if shape and signal[c] >= NO_SIGNAL:
            notes.append(f"channel '{name}': {shape}: the data ask for more than a plausible "
                         f"curve does, so its response away from its usual spend is a guess")
        if fitter.baseline_design_.is_panel:  # week effects: identified across geos
            continue
        seasonal = fitter.baseline_[:, :2 + 2 * fitter.fourier_order_]
        solution, *_ = np.linalg.lstsq(seasonal, series, rcond=None)
        explained = 1 - np.var(series - seasonal @ solution) / max(np.var(series), 1e-300)
        if explained > SEASONAL_SPEND:
            notes.append(f"channel '{name}': {explained:.0%} of its spend follows trend and "
                         f"season; its effect is hard to tell from seasonality")
    correlation = np.corrcoef(spend.T) if spend.shape[1] > 1 else np.ones((1, 1))
    for a in range(len(history.channels)):
        for b in range(a + 1, len(history.channels)):
            if abs(correlation[a, b]) > COLLINEAR:
                notes.append(f"channels '{history.channels[a]}' and '{history.channels[b]}' "
                             f"move together (correlation {correlation[a, b]:.2f}); their "
                             f"split is poorly identified")
    return notes
