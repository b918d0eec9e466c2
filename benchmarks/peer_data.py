"""Fits of the public peer datasets (Robyn, Meridian, PyMC-Marketing) and an optimize on each.

Run:  python benchmarks/peer_data.py   (data in benchmarks/data/, see its README for sources)
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.fit.wide import fit_wide_history
from budgetopt.optimizer.history.loaders import load_geo_history, load_wide_history

DATA = Path(__file__).parent / "data"
PYMC_CHANNELS = ("dm", "inst", "nsp", "auddig", "audtr", "vidtr", "viddig", "so", "on", "sem")


def _pymc_controls() -> tuple[str, ...]:
    """Macro, store, markdown and publicity columns, the holiday and season dummies, and the
    three activities without spend (email, SMS, affiliates) of the case study's file."""
    columns = pd.read_csv(DATA / "pymc_marketing_case_study_data.csv", nrows=0).columns
    prefixes = ("me_", "st_ct", "mrkdn_", "va_pub_", "hldy_", "seas_", "mdip_em", "mdip_sms",
                "mdip_aff")
    return tuple(c for c in columns if c.startswith(prefixes))


DATASETS = {
    "Robyn dt_simulated_weekly": dict(
        file="robyn_dt_simulated_weekly.csv", date="DATE", kpi="revenue", kpi_type="revenue",
        channels={c: f"{c}_S" for c in ("tv", "ooh", "print", "facebook", "search")},
        controls=("competitor_sales_B", "events")),
    "Meridian national_media": dict(
        file="meridian_national_media.csv", date="time", kpi="conversions",
        kpi_type="conversions", channels={f"channel{i}": f"Channel{i}_spend" for i in range(4)},
        controls=("competitor_activity_score_control", "sentiment_score_control")),
    "Meridian geo_media (panel)": dict(
        file="meridian_geo_media.csv", date="time", kpi="conversions", geo="geo",
        population="population", kpi_type="conversions",
        channels={f"channel{i}": f"Channel{i}_spend" for i in range(4)},
        controls=("competitor_activity_score_control", "sentiment_score_control")),
    "PyMC-Marketing case study": dict(
        file="pymc_marketing_case_study_data.csv", date="wk_strt_dt", kpi="sales",
        kpi_type="revenue", channels={c: f"mdsp_{c}" for c in PYMC_CHANNELS},
        controls=_pymc_controls()),
}
DATASETS["PyMC-Marketing case study, delayed adstock"] = dict(
    DATASETS["PyMC-Marketing case study"], adstock="delayed")


def run(bootstrap: int = 50) -> None:
    for label, spec in DATASETS.items():
        started = time.perf_counter()
        columns = dict(date=spec["date"], kpi=spec["kpi"], channels=spec["channels"],
                       controls=spec["controls"])
        history = (load_geo_history(DATA / spec["file"], geo=spec["geo"],
                                    population=spec["population"], **columns)
                   if "geo" in spec else load_wide_history(DATA / spec["file"], **columns))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = fit_wide_history(history, kpi_type=spec["kpi_type"], bootstrap=bootstrap,
                                     adstock=spec.get("adstock", "geometric"))
        fit_seconds = time.perf_counter() - started
        result = allocate(model, periods=13)
        fit = model.fit
        controls = spec["controls"]
        named = ", ".join(controls) if len(controls) <= 4 else f"{len(controls)} columns"
        cells = f" ({len(model)} geo x channel cells)" if model.cells else ""
        print(f"\n## {label}: {len(history)} weeks, {len(fit.channels)} channels{cells}, "
              f"controls {named}")
        geo = f" national, {fit.r2_geo:.3f} per geo-week" if fit.geos else ""
        print(f"R² {fit.r2:.3f}{geo}, MAPE {100 * fit.mape:.1f}%, NRMSE {fit.nrmse:.3f}, "
              f"CV NRMSE {fit.holdout_nrmse:.3f}, Fourier order "
              f"{fit.fourier_order}; fit {fit_seconds:.1f} s "
              f"({', '.join(f'{k} {v:.1f} s' for k, v in fit.seconds.items())})")
        print(f"baseline share {100 * fit.baseline_share:.1f}%")
        print(f"{'channel':<10}{'curve':>12}{'share':>8}{'ROI':>9}{'mROI':>9}"
              f"{'mROI p10-p90':>18}{'signal':>8}")
        for name, info in fit.channels.items():
            low, high = info.marginal_roi_range
            print(f"{name:<10}{info.family:>12}{100 * info.kpi_share:>7.1f}%"
                  f"{info.roi or 0:>9.3g}{info.marginal_roi:>9.3g}"
                  f"{f'{low:.3g}-{high:.3g}':>18}{info.signal:>8.2f}")
        u = result.uncertainty
        lift = 100 * (result.total_kpi / result.total_kpi_current - 1)
        print(f"optimize (13 weeks, current total): media KPI "
              f"{result.total_kpi_current:,.0f} -> {result.total_kpi:,.0f} ({lift:+.1f}%), "
              f"{result.certificate.status}; beats the current plan in "
              f"{100 * u.probability_better:.0f}% of {u.draws} bootstrap draws")
        for warning in caught:
            print(f"warning: {warning.message}")


def meridian_common_shock() -> None:
    """Why no national model explains Meridian's national KPI: per-geo linear fits (trend,
    season, controls, spend) leave residuals shared by all geos week by week, and white in time:
    a per-week shock of the simulator that only a geo panel can identify."""
    geo = pd.read_csv(DATA / "meridian_geo_media.csv")
    national = pd.read_csv(DATA / "meridian_national_media.csv")["conversions"].to_numpy(float)
    columns = ["competitor_activity_score_control", "sentiment_score_control",
               *[f"Channel{i}_spend" for i in range(4)]]
    residuals, summed = [], np.zeros(len(national))
    for _, rows in geo.groupby("geo"):
        y = rows["conversions"].to_numpy(float)
        weeks = np.arange(len(y))
        design = np.column_stack([np.ones(len(y)), weeks, rows[columns].to_numpy(float),
                                  *[f(2 * np.pi * k * weeks / 52.18) for k in (1, 2)
                                    for f in (np.sin, np.cos)]])
        solution, *_ = np.linalg.lstsq(design, y, rcond=None)
        summed += design @ solution
        residuals.append((y - design @ solution) / y.std())
    residuals = np.array(residuals)
    correlation = np.corrcoef(residuals)
    shared = (correlation.sum() - len(residuals)) / (len(residuals) * (len(residuals) - 1))
    lag1 = np.mean([np.corrcoef(r[1:], r[:-1])[0, 1] for r in residuals])
    r2 = 1 - np.sum((national - summed) ** 2) / np.sum((national - national.mean()) ** 2)
    print(f"\n## Meridian geo panel, per-geo linear fits: national R² of their sum {r2:.2f}; "
          f"residual correlation between geos {shared:.2f}, lag-1 autocorrelation {lag1:.2f}")


if __name__ == "__main__":
    run()
    meridian_common_shock()
