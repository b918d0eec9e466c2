"""Benchmark of the executor seam: scenario cases and bootstrap refits, here vs local processes
vs a Dask cluster of two local worker processes (``distributed.LocalCluster`` on loopback).

Scenarios: 2,000 what-if cases on the demo model (budgets from -40 % to +40 % of the base,
each with and without the example's rules, and with and without a 10 % cost rise on search).
Draws: the Meridian geo panel (20 geos, 156 weeks, 4 channels, two controls) fitted once, then 200
block-bootstrap refits. Per-piece overhead = (wall time x workers - time in this process) /
pieces: what shipping a piece to a worker and back costs on top of its work.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from budgetopt.optimizer.fit.joint import JointFitter
from budgetopt.optimizer.history.loaders import load_geo_history
from budgetopt.optimizer.parallel import open_executor
from budgetopt.optimizer.settings import DRAWS_PER_PIECE
from budgetopt.scenarios.runner import run_cases
from budgetopt.scenarios.scenario_file import read_scenarios
from threadpoolctl import threadpool_limits

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parents[1] / "scenarios" / "examples"
WORKERS = 2


def scenario_file(folder: Path, cases: int) -> Path:
    budgets = np.linspace(0.6, 1.4, cases // 4) * 1_118_000
    text = [f'model = "{EXAMPLES / "demo_model.json"}"\n[base]\nbudget = 1118000\nperiods = 13\n']
    for budget in budgets:
        for rules in ("", f'constraints = "{EXAMPLES / "constraints.toml"}"\n'):
            for cost in ("", "efficiency.search = 0.9\n"):
                text.append(f'[[case]]\nname = "case {len(text)}"\nbudget = {budget:.2f}\n'
                            f"{rules}{cost}")
    path = folder / "cases.toml"
    path.write_text("\n".join(text))
    return path


def timed_cases(scenarios, executor) -> float:
    started = time.perf_counter()
    run_cases(scenarios, executor=executor)
    return time.perf_counter() - started


def timed_draws(fitter: JointFitter, count: int, executor) -> float:
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        fitter.draw(count, executor)
    return time.perf_counter() - started


def row(label: str, pieces: int, here: float, seconds: dict[str, float]) -> None:
    cells = "".join(f"{s:>12.1f}{(s * WORKERS - here) / pieces * 1000:>14.0f}"
                    for s in seconds.values())
    print(f"{label:<28}{pieces:>8}{here:>12.1f}{cells}")


def run(cases: int = 2000, draws: int = 200) -> None:
    import distributed

    print(f"executor seam: here vs {WORKERS} local processes vs a {WORKERS}-worker Dask "
          f"LocalCluster (cpu count {os.cpu_count()}, load {os.getloadavg()[0]:.1f})\n")
    header = (f"{'work':<28}{'pieces':>8}{'here s':>12}{'processes s':>12}"
              f"{'overhead ms':>14}{'Dask s':>12}{'overhead ms':>14}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as folder, \
            distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address=None) as cluster:
        scenarios = read_scenarios(scenario_file(Path(folder), cases))
        here = timed_cases(scenarios, None)
        seconds = {}
        for name, where in (("processes", {"workers": WORKERS}),
                            ("dask", {"scheduler": cluster.scheduler_address})):
            with open_executor(**where) as executor:
                seconds[name] = timed_cases(scenarios, executor)
        row(f"{len(scenarios.cases):,} scenario cases", len(scenarios.cases), here, seconds)

        history = load_geo_history(
            DATA / "meridian_geo_media.csv", geo="geo", population="population", date="time",
            kpi="conversions", channels={f"channel{i}": f"Channel{i}_spend" for i in range(4)},
            controls=("competitor_activity_score_control", "sentiment_score_control"))
        with threadpool_limits(limits=1, user_api="blas"):
            fitter = JointFitter(bootstrap=0).fit(history)
        here = timed_draws(fitter, draws, None)
        seconds = {}
        for name, where in (("processes", {"workers": WORKERS}),
                            ("dask", {"scheduler": cluster.scheduler_address})):
            with open_executor(**where) as executor:
                seconds[name] = timed_draws(fitter, draws, executor)
        row(f"{draws} draws, Meridian geo panel", -(-draws // DRAWS_PER_PIECE), here, seconds)


if __name__ == "__main__":
    run()
