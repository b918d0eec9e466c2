"""Benchmarks: the rule-aware engine (constrained.py), the per-period planner (plan.py), fits of
the peer datasets with their parts' times (peer_data.py), the report (report.py), scenario cases
and bootstrap draws here vs local processes vs a Dask cluster (cluster.py), geo models per cell
beside the national answer (regions.py), then budgetopt's
separable solver vs scipy SLSQP (the method PyMC-Marketing and LightweightMMM use) on the same
seeded instances.

Run:  python benchmarks/run.py   (--quick: a short smoke run; --only SECTION: one section)

For each instance every solver gets the same curves, bounds and budget. SLSQP starts from the
even split (as those tools do), on spend scaled to budget / n, in two variants: with analytic
gradients (what PyMC-Marketing and LightweightMMM do through autodiff) and with scipy's default
finite differences (what a hand-rolled script gets). "gap" is the relative shortfall of a
solver's KPI from the best value any solver found (0 = best known); an SLSQP run that ends
without spending the budget counts as failed ("fail"). Instances are concave (all four
saturating families) and S-shaped (Hill s in [1.5, 3]), n from 10 to 10^6.
"""

from __future__ import annotations

import argparse
import platform
import time

import cluster
import constrained
import numpy as np
import peer_data
import plan
import regions
import report
from budgetopt.optimizer.model.curves import CurveSet
from budgetopt.optimizer.problem.allocation import AllocationProblem
from budgetopt.optimizer.solvers.separable import SeparableSolver
from common import timed
from scipy.optimize import minimize

SLSQP_OPTIONS = {"ftol": 1e-9, "maxiter": 1000}
SLSQP_MAX_N = {"analytic": 300, "finite-diff": 100}  # larger runs take minutes


def instance(n: int, kind: str, seed: int) -> AllocationProblem:
    rng = np.random.default_rng(seed)
    if kind == "concave":
        families = [("hill", "exponential", "logistic", "log")[i % 4] for i in range(n)]
        s = rng.uniform(0.5, 1.0, n)
    else:
        families = ["hill"] * n
        s = rng.uniform(1.5, 3.0, n)
    beta, k = rng.uniform(50, 500, n), rng.uniform(10, 200, n)
    budget = 0.8 * k.sum()
    lower = np.where(rng.random(n) < 0.2, rng.uniform(0, 0.3, n) * budget / n, 0.0)
    upper = np.where(rng.random(n) < 0.2, lower + rng.uniform(0.2, 1.5, n) * budget / n, budget)
    return AllocationProblem(names=tuple(f"c{i}" for i in range(n)),
                             curves=CurveSet.from_lists(families, beta, k, s), budget=budget,
                             lower=lower, upper=upper, min_if_on=np.zeros(n), current=np.zeros(n))


def solve_slsqp(problem: AllocationProblem, gradient: str):
    """SLSQP from the even split; returns the KPI reached, or NaN if the budget is not met."""
    n = len(problem.names)
    unit = problem.budget / n
    scale = problem.curves.value(np.full(n, unit)).sum()
    start = np.clip(np.full(n, unit), problem.lower, problem.upper) / unit
    objective = lambda z: -problem.curves.value(z * unit).sum() / scale
    jacobian = (lambda z: -problem.curves.marginal(z * unit) * unit / scale) \
        if gradient == "analytic" else None
    budget = {"type": "eq", "fun": lambda z: z.mean() - problem.budget / unit / n}
    if gradient == "analytic":
        budget["jac"] = lambda z: np.full_like(z, 1.0 / n)
    result = minimize(objective, start, jac=jacobian, method="SLSQP",
                      bounds=list(zip(problem.lower / unit, problem.upper / unit)),
                      constraints=[budget], options=SLSQP_OPTIONS)
    x = np.clip(result.x * unit, problem.lower, problem.upper)
    if abs(x.sum() - problem.budget) > 1e-6 * problem.budget:
        return np.nan
    return problem.value(x)


def run(sizes, big_sizes, seeds):
    """One row per instance: budgetopt's time, gaps, and each SLSQP variant's time and gap."""
    rows = []
    solver = SeparableSolver()
    for kind in ("concave", "s-curve"):
        for n in sizes:
            for seed in range(seeds):
                problem = instance(n, kind, seed)
                ours, our_time = timed(solver.solve, problem)
                peers = {variant: timed(solve_slsqp, problem, variant)
                         for variant, limit in SLSQP_MAX_N.items() if n <= limit}
                best = np.nanmax([ours.total_kpi] + [value for value, _ in peers.values()])
                shortfall = lambda value: (best - value) / best
                rows.append({"kind": kind, "n": n, "seed": seed, "time": our_time,
                             "gap": shortfall(ours.total_kpi), "proven": ours.certificate.gap,
                             "peers": {v: (t, shortfall(value))
                                       for v, (value, t) in peers.items()}})
        for n in big_sizes:
            ours, our_time = timed(solver.solve, instance(n, kind, 0))
            rows.append({"kind": kind, "n": n, "seed": 0, "time": our_time, "gap": 0.0,
                         "proven": ours.certificate.gap, "peers": {}})
    return rows


def cpu_run(n: int = 1_000_000, seeds: int = 3, repeats: int = 3) -> None:
    """CPU seconds (this process's, median of ``repeats``) of the separable solver on ``n``
    channels, concave and S-shaped, seeds 0 to ``seeds`` - 1: issue 14's targets."""
    print(f"separable solver, {n:,} channels, CPU seconds (median of {repeats} runs)")
    print(f"{'instance':<9}{'seed':>5}{'CPU s':>8}{'status':>9}")
    for kind in ("concave", "s-curve"):
        for seed in range(seeds):
            problem, seconds = instance(n, kind, seed), []
            for _ in range(repeats):
                started = time.process_time()
                result = SeparableSolver().solve(problem)
                seconds.append(time.process_time() - started)
            print(f"{kind:<9}{seed:>5}{np.median(seconds):>8.2f}"
                  f"{result.certificate.status:>9}")
    print()


def print_table(rows):
    peer_columns = "".join(f"{'SLSQP ' + v + ' s':>22}{'gap':>10}{'ratio':>8}"
                           for v in SLSQP_MAX_N)
    header = (f"{'instance':<9}{'n':>10}{'seed':>5}{'budgetopt s':>13}{'gap':>10}"
              f"{'proven gap':>12}{peer_columns}")
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = ""
        for variant in SLSQP_MAX_N:
            if variant not in row["peers"]:
                cells += f"{'-':>22}{'-':>10}{'-':>8}"
                continue
            seconds, gap = row["peers"][variant]
            gap_text = "fail" if np.isnan(gap) else f"{gap:.1e}"
            cells += f"{seconds:>22.3f}{gap_text:>10}{seconds / row['time']:>7,.0f}x"
        print(f"{row['kind']:<9}{row['n']:>10,}{row['seed']:>5}{row['time']:>13.3f}"
              f"{row['gap']:>10.1e}{row['proven']:>12.1e}{cells}")


def cli_run(channels: int = 1_000_000) -> None:
    """Time ``budgetopt optimize`` end to end on a curves CSV of ``channels`` channels, beside
    what pandas alone needs to read that CSV and write an allocation table of the same size."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import pandas as pd

    rng = np.random.default_rng(0)
    families = np.array(["hill", "exponential", "logistic", "log"])[rng.integers(0, 4, channels)]
    frame = pd.DataFrame({
        "channel": [f"ch{i}" for i in range(channels)], "type": families,
        "beta": rng.uniform(50, 500, channels), "k": rng.uniform(10, 200, channels),
        "s": np.where(families == "hill", rng.uniform(0.5, 2.5, channels), np.nan),
        "decay": rng.uniform(0, 0.7, channels), "current_spend": rng.uniform(10, 200, channels)})
    with tempfile.TemporaryDirectory() as folder:
        curves = Path(folder) / "curves.csv"
        frame.to_csv(curves, index=False)
        out = Path(folder) / "allocation.csv"
        command = [sys.executable, "-m", "budgetopt", "optimize", str(curves), "--out", str(out)]
        _, seconds = timed(subprocess.run, command,
                           keywords={"check": True, "capture_output": True})
        written = pd.read_csv(out)

        def pandas_only():
            pd.read_csv(curves)
            written.to_csv(Path(folder) / "copy.csv", index=False, float_format="%.10g")

        _, baseline = timed(pandas_only)
    print(f"budgetopt optimize from a curves CSV of {channels:,} channels (Hill s in "
          f"[0.5, 2.5], so S-curves included), read + solve + write: {seconds:.1f} s; pandas "
          f"alone reading the curves and writing the allocation: {baseline:.1f} s "
          f"(ratio {seconds / baseline:.2f})\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    parser.add_argument("--only", choices=["separable", "constrained", "plan", "fit",
                                           "report", "cluster", "regions"],
                        help="run one section only")
    args = parser.parse_args()
    for name, section in (("constrained", constrained), ("plan", plan)):
        if args.only in (None, name):
            section.run(seeds=1 if args.quick else 3)
            print()
    if args.only in (None, "fit"):
        peer_data.run(bootstrap=5 if args.quick else 50)
        peer_data.meridian_common_shock()
        print()
    if args.only in (None, "report"):
        report.main()
        print()
    if args.only in (None, "cluster"):
        cluster.run(cases=200 if args.quick else 2000, draws=20 if args.quick else 200)
        print()
    if args.only in (None, "regions"):
        regions.run()
        print()
    if args.only in ("constrained", "plan", "fit", "report", "cluster", "regions"):
        return
    sizes = [10, 100] if args.quick else [10, 100, max(SLSQP_MAX_N.values())]
    big = [10_000] if args.quick else [100_000, 1_000_000]
    cli_run(20_000 if args.quick else 1_000_000)
    cpu_run(20_000 if args.quick else 1_000_000, seeds=1 if args.quick else 3)
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{platform.processor() or 'cpu'}; SLSQP options {SLSQP_OPTIONS}\n")
    print_table(run(sizes, big, seeds=1 if args.quick else 3))


if __name__ == "__main__":
    main()
