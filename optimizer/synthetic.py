"""Synthetic histories generated from known curves: the demo's sample data and test fixtures.

The demo history is synthetic on purpose: its true response curves are known (they are
:data:`DEMO_TRUTH`), so a fit and an allocation can be checked against the truth.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from budgetopt.optimizer.history.lift_tests import LiftTest
from budgetopt.optimizer.model.adstock import geometric_adstock
from budgetopt.optimizer.model.cells import GeoCells
from budgetopt.optimizer.model.files import model_from_table
from budgetopt.optimizer.model.media import MediaModel

__all__ = ["DEMO_TRUTH", "WIDE_TRUTH", "demo_truth_model", "wide_truth_model",
           "random_wide_truth", "truthful_lift_tests", "simulate_long_history",
           "simulate_wide_history", "simulate_geo_history", "simulate_geo_panel"]

# Per-week truth of the demo: curve, adstock decay and current weekly spend per channel.
DEMO_TRUTH = (
    {"channel": "tv", "type": "hill", "beta": 60000, "k": 45000, "s": 1.8, "decay": 0.6,
     "current_spend": 30000},
    {"channel": "search", "type": "exponential", "beta": 50000, "k": 15000, "decay": 0.1,
     "current_spend": 20000},
    {"channel": "social", "type": "logistic", "beta": 30000, "k": 12000, "decay": 0.3,
     "current_spend": 10000},
    {"channel": "display", "type": "log", "beta": 8000, "k": 5000, "decay": 0.2,
     "current_spend": 8000},
    {"channel": "ooh", "type": "hill", "beta": 25000, "k": 20000, "s": 0.9, "decay": 0.5,
     "current_spend": 12000},
    {"channel": "video", "type": "hill", "beta": 40000, "k": 30000, "s": 2.5, "decay": 0.4,
     "current_spend": 6000},
)


def _truth_model(rows, source: str) -> MediaModel:
    frame = pd.DataFrame(rows).astype({"beta": float, "k": float})
    frame["where"] = [f"channel '{name}'" for name in frame["channel"]]
    return model_from_table(frame, source, kpi_name="revenue")


def demo_truth_model() -> MediaModel:
    """The true curves behind the demo history (per week, revenue)."""
    return _truth_model(DEMO_TRUTH, "demo truth")


def simulate_long_history(truth: MediaModel, *, periods: int = 156, start: str = "2023-01-02",
                          noise: float = 0.05, seed: int = 7) -> pd.DataFrame:
    """Weekly spend around each channel's current spend and the outcome its true curve gives.

    Spend varies (log-normal, a yearly swing, some dark weeks) so the curves are identifiable;
    the outcome gets multiplicative Gaussian noise of relative size ``noise``.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=periods, freq="7D")
    season = 1.0 + 0.25 * np.sin(2 * np.pi * np.arange(periods) / 52.0)
    rows = []
    for i, name in enumerate(truth.names):
        level = truth.current_spend[i] * season * rng.lognormal(-0.08, 0.4, periods)
        level[rng.random(periods) < 0.1] = 0.0
        spend = np.round(level, 2)
        decay = np.nan_to_num(truth.decay[i])
        adstocked = geometric_adstock(spend, decay, normalized=bool(truth.normalized[i]))
        response = truth.curves.channel_value(i, adstocked)
        outcome = np.round(response * (1 + noise * rng.standard_normal(periods)), 2).clip(0)
        rows.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "channel": name,
                                  "spend": spend, truth.kpi_name: outcome}))
    return pd.concat(rows, ignore_index=True).sort_values(["date", "channel"], kind="stable")


# A wide-history truth: 5 channels sharing one KPI (weekly revenue) over a seasonal baseline.
WIDE_TRUTH = (
    {"channel": "tv", "type": "hill", "beta": 420000, "k": 120000, "s": 1.6, "decay": 0.5,
     "current_spend": 60000},
    {"channel": "search", "type": "logistic", "beta": 260000, "k": 30000, "decay": 0.1,
     "current_spend": 25000},
    {"channel": "social", "type": "hill", "beta": 180000, "k": 40000, "s": 0.8, "decay": 0.3,
     "current_spend": 30000},
    {"channel": "display", "type": "logistic", "beta": 90000, "k": 25000, "decay": 0.2,
     "current_spend": 20000},
    {"channel": "video", "type": "hill", "beta": 250000, "k": 70000, "s": 2.0, "decay": 0.4,
     "current_spend": 30000},
)


def wide_truth_model() -> MediaModel:
    """The true curves behind :func:`simulate_wide_history` (per week, revenue)."""
    return _truth_model(WIDE_TRUTH, "wide truth")


def random_wide_truth(seed: int, *, baseline: float = 1.5e6) -> MediaModel:
    """A wide-history truth drawn at random: the channels of :data:`WIDE_TRUTH`, each a Hill
    curve with geometric adstock.

    Per channel: current weekly spend uniform in 10,000-80,000; half-saturation k log-uniform
    in 0.5-2.5x the current spend; shape s uniform in 0.7-2.5; decay uniform in 0-0.7. The
    media's steady-state KPI at current spend is a uniform 15-35 % of ``baseline``, split over
    the channels by a flat Dirichlet draw, so ROIs and marginal ROIs differ from channel to
    channel as they do in practice (none is tied to its spend share).
    """
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.ones(len(WIDE_TRUTH))) * rng.uniform(0.15, 0.35)
    rows = []
    for row in WIDE_TRUTH:
        spend = float(rng.uniform(10000, 80000))
        rows.append({"channel": row["channel"], "type": "hill", "beta": 1.0,
                     "k": spend * float(np.exp(rng.uniform(np.log(0.5), np.log(2.5)))),
                     "decay": float(rng.uniform(0.0, 0.7)), "current_spend": spend,
                     "s": float(rng.uniform(0.7, 2.5))})
    unit = _truth_model(rows, "random wide truth").steady_state_curves()
    for i, row in enumerate(rows):
        row["beta"] = float(shares[i] * baseline / unit.channel_value(i, row["current_spend"]))
    return _truth_model(rows, "random wide truth")


def truthful_lift_tests(truth: MediaModel, *, seed: int = 0, change: float = 0.3,
                        error: float = 0.1) -> tuple[LiftTest, ...]:
    """One steady-state lift test per channel: spend raised by ``change`` of its current
    spend, the lift from ``truth``'s curves measured with a relative standard error
    ``error``."""
    rng, steady = np.random.default_rng(seed), truth.steady_state_curves()
    tests = []
    for i, name in enumerate(truth.names):
        spend = truth.current_spend[i]
        lift = float(steady.channel_value(i, (1 + change) * spend)
                     - steady.channel_value(i, spend))
        tests.append(LiftTest(name, spend, change * spend,
                              lift * (1 + error * rng.standard_normal()), error * abs(lift),
                              line=i + 2))
    return tuple(tests)


def simulate_wide_history(truth: MediaModel, *, periods: int = 156, start: str = "2022-01-03",
                          noise: float = 0.04, seed: int = 0, baseline: float = 1.5e6
                          ) -> pd.DataFrame:
    """One KPI per week: trend + yearly season + a promo dummy + every channel's response.

    Columns: date, revenue, one ``<channel>_spend`` column per channel, promo.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=periods, freq="7D")
    weeks = np.arange(periods)
    season = np.sin(2 * np.pi * weeks / 52.18) + 0.4 * np.cos(4 * np.pi * weeks / 52.18)
    promo = (rng.random(periods) < 0.12).astype(float)
    kpi = baseline * (1 + 0.1 * weeks / periods + 0.12 * season) + 0.06 * baseline * promo
    frame = {"date": dates.strftime("%Y-%m-%d")}
    columns = {}
    for i, name in enumerate(truth.names):
        level = truth.current_spend[i] * rng.lognormal(-0.1, 0.45, periods)
        level *= 1 + 0.15 * np.sin(2 * np.pi * (weeks / 52.18 + rng.random()))
        level[rng.random(periods) < 0.08] = 0.0
        spend = np.round(level, 2)
        kernel = truth.adstock_kernel(periods)[i]
        kpi = kpi + truth.curves.channel_value(i, np.convolve(spend, kernel)[:periods])
        columns[f"{name}_spend"] = spend
    kpi = kpi * (1 + noise * rng.standard_normal(periods))
    return pd.DataFrame({**frame, truth.kpi_name: np.round(kpi, 2), **columns, "promo": promo})


def simulate_geo_history(truth: MediaModel, *, geos: int = 10, periods: int = 156,
                         start: str = "2022-01-03", noise: float = 0.04, shock: float = 0.06,
                         seed: int = 0) -> pd.DataFrame:
    """A geo panel whose national sum has ``truth``'s curves (every geo equally effective);
    see :func:`simulate_geo_panel`."""
    return simulate_geo_panel(truth, geos=geos, periods=periods, start=start, noise=noise,
                              shock=shock, seed=seed)[0]


def simulate_geo_panel(truth: MediaModel, *, geos: int = 10, periods: int = 156,
                       start: str = "2022-01-03", noise: float = 0.04, shock: float = 0.06,
                       spread: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, MediaModel]:
    """A geo panel (Meridian's layout) from ``truth``'s curves, and the true cell curves.

    Each geo has a population, spends the national pattern times its population share with
    its own week-to-week spread, and gets per head the national baseline, season and media
    response per head (curve beta / P at k / P, P the total population) times its own
    effectiveness per channel (uniform within ±``spread``), a weekly shock shared by every
    geo (relative sd ``shock``, like Meridian's simulated time effects) and its own noise.
    Columns: date, geo, population, revenue, one ``<channel>_spend`` per channel. The truth is
    a geo model (one entry per geo and channel, geo-major) with each cell's current spend
    (its mean over the last quarter).
    """
    rng = np.random.default_rng(seed)
    people = rng.uniform(2e5, 1e6, geos)
    total = people.sum()
    dates = pd.date_range(start, periods=periods, freq="7D")
    weeks = np.arange(periods)
    season = np.sin(2 * np.pi * weeks / 52.18) + 0.4 * np.cos(4 * np.pi * weeks / 52.18)
    common = shock * rng.standard_normal(periods)
    national = truth.current_spend[:, None] * rng.lognormal(-0.1, 0.45, (len(truth), periods))
    kernel = truth.adstock_kernel(periods)
    per_head = truth.curves.scaled(total, 1.0 / total)
    effectiveness = 1 + spread * np.random.default_rng([seed, 1]).uniform(-1, 1,
                                                                          (geos, len(truth)))
    rows, current = [], []
    for g in range(geos):
        share = people[g] / total
        spend = np.round(national * share * rng.lognormal(-0.02, 0.2, national.shape), 2)
        current.append(spend[:, -13:].mean(axis=1))
        kpi = 1.5e6 / total * (1 + 0.1 * weeks / periods + 0.12 * season + common) * people[g]
        for c in range(len(truth)):
            level = np.convolve(spend[c] / people[g], kernel[c])[:periods]
            kpi = kpi + people[g] * effectiveness[g, c] * per_head.channel_value(c, level)
        kpi = kpi * (1 + noise * rng.standard_normal(periods))
        rows.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "geo": f"geo{g}",
                                  "population": round(people[g]), truth.kpi_name: np.round(kpi, 2),
                                  **{f"{name}_spend": spend[c]
                                     for c, name in enumerate(truth.names)}}))
    owner = np.tile(np.arange(len(truth)), geos)
    sizes = np.repeat(people, len(truth))
    cells = GeoCells(geo=tuple(f"geo{g}" for g in range(geos) for _ in truth.names),
                     channel=tuple(truth.names[c] for c in owner),
                     population={f"geo{g}": float(round(people[g])) for g in range(geos)})
    cell_truth = replace(
        truth, names=cells.labels, cells=cells,
        curves=per_head.subset(owner).scaled(1 / sizes, sizes * effectiveness.ravel()),
        decay=truth.decay[owner], normalized=truth.normalized[owner],
        current_spend=np.concatenate(current), carry_in=np.zeros(len(owner)),
        peak=truth.peak[owner], recent_spend=None, observed=None, draws=None)
    return pd.concat(rows, ignore_index=True), cell_truth
