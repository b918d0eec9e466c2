"""Synthetic histories generated from known curves: the demo's sample data and test fixtures.

The demo history is synthetic on purpose: its true response curves are known (they are
:data:`DEMO_TRUTH`), so a fit and an allocation can be checked against the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .adstock import geometric_adstock
from .model import MediaModel, _model_from_frame

__all__ = ["DEMO_TRUTH", "demo_truth_model", "simulate_long_history"]

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


def demo_truth_model() -> MediaModel:
    """The true curves behind the demo history (per week, revenue)."""
    frame = pd.DataFrame(DEMO_TRUTH).astype({"beta": float, "k": float})
    frame["where"] = [f"channel '{name}'" for name in frame["channel"]]
    return _model_from_frame(frame, "demo truth", kpi_name="revenue")


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
