"""Benchmark of geo models: per-cell allocation and plans, beside the national-only answer.

1. ``budgetopt optimize`` end to end (read, solve, write) on a curves CSV of 1,000 geos x 20
   channels (20,000 cells, each geo's effectiveness within ±35 % of the national curve) with
   caps and floors on channel totals, beside the same command on the 20 national curves.
2. ``plan_budget`` of 200 geos x 10 channels x 13 weeks (26,000 spend variables; a cap on one
   channel's total and a pacing rule), beside the national plan of the 10 channels.
3. Meridian's ``geo_media.csv`` (20 geos x 4 channels): fit into a geo model, then optimise
   per cell, with the times taken.

Run: python benchmarks/regions.py   (or python benchmarks/run.py --only regions)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from budgetopt.optimizer.allocate import allocate, plan_budget
from budgetopt.optimizer.fit.wide import fit_wide_history
from budgetopt.optimizer.history.loaders import load_geo_history
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.problem.constraints import constraints_from_dict, read_constraints
from budgetopt.optimizer.settings import SolverSettings
from common import timed

FAMILIES = np.array(["hill", "exponential", "logistic", "log"])
MERIDIAN = Path(__file__).resolve().parent / "data" / "meridian_geo_media.csv"


def geo_curves(geos: int, channels: int, seed: int, decay: bool = False,
               history: bool = False) -> pd.DataFrame:
    """A curves table with a geo column: national curves at each geo's population share,
    times the geo's effectiveness (uniform within ±35 %), current spend near the share; with
    ``history``, each cell's largest per-period spend in its history at 1.6x its current
    (a fitted geo model always knows it, and holds each cell there by default)."""
    rng = np.random.default_rng(seed)
    families = FAMILIES[np.arange(channels) % 4]
    share = np.repeat(rng.uniform(1e5, 2e6, geos), channels)
    share /= share.sum() / channels
    national = {"beta": rng.uniform(5e5, 5e6, channels), "k": rng.uniform(1e5, 1e6, channels),
                "s": np.where(families == "hill", rng.uniform(0.5, 1.0, channels), np.nan),
                "current": rng.uniform(5e4, 5e5, channels),
                "decay": rng.uniform(0, 0.6, channels)}
    tile = lambda values: np.tile(values, geos)
    frame = pd.DataFrame({
        "geo": np.repeat([f"g{i}" for i in range(geos)], channels),
        "channel": tile([f"c{j}" for j in range(channels)]), "type": tile(families),
        "beta": tile(national["beta"]) * share * (1 + 0.35 * rng.uniform(-1, 1, geos * channels)),
        "k": tile(national["k"]) * share, "s": tile(national["s"]),
        "current_spend": tile(national["current"]) * share
        * rng.lognormal(0, 0.2, geos * channels)})
    if decay:
        frame["decay"] = tile(national["decay"])
    if history:
        frame["observed_max"] = 1.6 * frame["current_spend"]
    return frame


def national_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """The national curve of each channel: its cells' curves as if every geo were as effective
    per head as the nation (beta and k summed over the geos)."""
    summed = [c for c in ("beta", "k", "current_spend", "observed_max") if c in frame.columns]
    sums = frame.groupby("channel", sort=False)[summed].sum()
    first = frame.drop_duplicates("channel").set_index("channel")
    return first.drop(columns=["geo", *summed]).join(sums).reset_index()


def total_caps(frame: pd.DataFrame) -> str:
    """Caps at +10 % of current on every second channel's total, floors at -10 % on others."""
    totals = frame.groupby("channel", sort=False)["current_spend"].sum()
    lines = []
    for j, (channel, total) in enumerate(totals.items()):
        if j % 2 == 0:
            lines.append(f"[channels.{channel}]\nmax = {1.1 * total:.2f}")
        elif j % 5 == 1:
            lines.append(f"[channels.{channel}]\nmin = {0.9 * total:.2f}")
    return "\n".join(lines) + "\n"


def cli_seconds(curves: Path, rules: Path, out: Path) -> float:
    command = [sys.executable, "-m", "budgetopt", "optimize", str(curves), "--constraints",
               str(rules), "--out", str(out)]
    _, seconds = timed(subprocess.run, command, keywords={"check": True, "capture_output": True})
    return seconds


def allocation_run(geos: int = 1000, channels: int = 20) -> None:
    frame = geo_curves(geos, channels, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        frame.to_csv(folder / "geo.csv", index=False)
        national_curves(frame).to_csv(folder / "national.csv", index=False)
        (folder / "caps.toml").write_text(total_caps(frame))
        per_cell = cli_seconds(folder / "geo.csv", folder / "caps.toml", folder / "a.csv")
        national = cli_seconds(folder / "national.csv", folder / "caps.toml", folder / "n.csv")
        result = allocate(read_model(folder / "geo.csv"),
                          constraints=read_constraints(folder / "caps.toml"))
    print(f"optimize, {geos:,} geos x {channels} channels = {geos * channels:,} cells, caps "
          f"and floors on channel totals, through the CLI: {per_cell:.2f} s "
          f"({result.certificate.method}, gap {result.certificate.gap:.1e}); the same rules "
          f"on the {channels} national curves: {national:.2f} s")


def plan_run(geos: int = 200, channels: int = 10, weeks: int = 13, time_limit: float = 60):
    for history in (True, False):
        print(f"cells held at the largest spend their history shows: {history}")
        plan_case(geo_curves(geos, channels, seed=1, decay=True, history=history), weeks,
                  time_limit)


def plan_case(frame: pd.DataFrame, weeks: int, time_limit: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        frame.to_csv(Path(folder) / "geo.csv", index=False)
        national_curves(frame).to_csv(Path(folder) / "national.csv", index=False)
        model = read_model(Path(folder) / "geo.csv")
        national = read_model(Path(folder) / "national.csv")
    first = model.cells.by_channel(model.current_spend)[0] * weeks
    rules = constraints_from_dict({"channels": {"c0": {"max": 1.1 * first}},
                                   "pacing": [{"periods": [1, 4], "min_share": 0.25}]}, "plan")
    budget = float(model.current_spend.sum() * weeks)
    settings = SolverSettings(gap_tolerance=1e-4, time_limit=time_limit)
    for label, which in (("per cell", model), ("national", national)):
        result, seconds = timed(plan_budget, which, budget, weeks,
                                keywords={"constraints": rules, "settings": settings})
        print(f"plan, {label}: {len(which):,} x {weeks} weeks = {len(which) * weeks:,} spend "
              f"variables: {seconds:.1f} s, proven gap {result.certificate.gap:.1e} "
              f"(target 1e-4, time limit {time_limit:g} s), {result.certificate.effort} rounds")


def meridian_run(bootstrap: int = 50) -> None:
    history = load_geo_history(MERIDIAN, date="time", geo="geo", kpi="conversions",
                               population="population",
                               channels={f"Channel{c}": f"Channel{c}_spend" for c in range(4)},
                               controls=("competitor_activity_score_control",
                                         "sentiment_score_control"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, fit_seconds = timed(fit_wide_history, history, keywords={"bootstrap": bootstrap})
    result, seconds = timed(allocate, model, keywords={"periods": 13})
    spread = model.fit.geo_effects.spread
    print(f"Meridian geo_media.csv: fit into {len(model)} cells (20 geos x 4 channels, "
          f"{bootstrap} draws) in {fit_seconds:.1f} s; geo spread per channel "
          f"{', '.join(f'{100 * v:.0f}%' for v in spread)}; per-cell optimize (13 weeks) "
          f"{seconds:.2f} s, uplift {result.total_kpi / result.total_kpi_current - 1:+.2%}, "
          f"{result.guard}")


def run() -> None:
    allocation_run()
    plan_run()
    meridian_run()


if __name__ == "__main__":
    run()
