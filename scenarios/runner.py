"""Running the cases of a scenario file (in parallel) and writing their outputs."""

from __future__ import annotations

import re
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from budgetopt.optimizer.allocate import allocate, resolve_budget
from budgetopt.optimizer.errors import BudgetoptError, InfeasibleError
from budgetopt.optimizer.export import write_allocation, write_csv
from budgetopt.optimizer.files.outputs import output_set
from budgetopt.optimizer.model.media import MediaModel
from budgetopt.optimizer.parallel import run_pieces
from budgetopt.optimizer.result.allocation import AllocationResult
from budgetopt.optimizer.settings import SolverSettings
from budgetopt.scenarios.scenario_file import Case, ScenarioSet

__all__ = ["CaseOutcome", "run_cases", "summary_frame", "write_outputs", "file_names"]

SUMMARY_COLUMNS = ("scenario", "budget", "kpi", "roi", "kpi_vs_base", "kpi_vs_base_pct",
                   "status", "spend")
INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class CaseOutcome:
    """A case's result, or why it has none, and its budget (the ceiling for a target)."""

    case: Case
    result: AllocationResult | None
    error: str | None = None
    budget: float = np.nan

    @property
    def status(self) -> str:
        return self.result.certificate.status if self.result is not None else INFEASIBLE


def run_case(model: MediaModel, case: Case, settings: SolverSettings,
             allow_extrapolation: bool = False, point_estimate: bool = False) -> CaseOutcome:
    try:
        budget = resolve_budget(model, case.budget, case.constraints, case.periods)
        result = allocate(model, budget, periods=case.periods,
                          constraints=case.constraints, objective=case.objective,
                          efficiency=case.efficiency_array(model.channel_names),
                          allow_extrapolation=allow_extrapolation,
                          point_estimate=point_estimate, settings=settings)
        return CaseOutcome(case, result, budget=budget)
    except BudgetoptError as error:
        return CaseOutcome(case, None, str(error))


@dataclass(frozen=True)
class CaseTask:
    """One case with what it is solved under: the piece a worker runs."""

    model: MediaModel
    case: Case
    settings: SolverSettings
    allow_extrapolation: bool = False
    point_estimate: bool = False


def _run_task(task: CaseTask) -> CaseOutcome:
    return run_case(task.model, task.case, task.settings, task.allow_extrapolation,
                    task.point_estimate)


def run_cases(scenarios: ScenarioSet, settings: SolverSettings = SolverSettings(),
              executor: Executor | None = None, allow_extrapolation: bool = False,
              point_estimate: bool = False, progress=None) -> list[CaseOutcome]:
    """Every case, in file order, on ``executor`` (local processes or a Dask cluster, see
    :mod:`budgetopt.optimizer.parallel`; None: in this process); ``progress(done, total)``
    after each case.

    A case without a solution gets status ``infeasible`` and the others still run, but every
    case is compared with the base, so an infeasible base is an :class:`InfeasibleError`.
    """
    tasks = [CaseTask(scenarios.model, case, settings, allow_extrapolation, point_estimate)
             for case in scenarios.cases]
    outcomes = run_pieces(executor, _run_task, tasks, progress)
    if outcomes[0].result is None:
        raise InfeasibleError(f"the base case has no solution, so no case can be compared "
                              f"with it: {outcomes[0].error}")
    return outcomes


def summary_frame(outcomes: list[CaseOutcome]) -> pd.DataFrame:
    """summary.csv: one row per case, the base first (scenario = "base")."""
    base = outcomes[0].result
    rows = []
    for outcome in outcomes:
        result = outcome.result
        kpi = result.total_kpi if result else np.nan
        spend = result.total_spend if result else np.nan
        budget = outcome.budget
        versus = kpi - base.total_kpi if base and result else np.nan
        rows.append({"scenario": outcome.case.name, "budget": budget, "kpi": kpi,
                     "roi": kpi / spend if result and spend else np.nan,
                     "kpi_vs_base": versus,
                     "kpi_vs_base_pct": 100 * versus / base.total_kpi
                     if base and result and base.total_kpi else np.nan,
                     "status": outcome.status, "spend": spend})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def file_names(names: list[str]) -> list[str]:
    """Safe, distinct CSV file names from case names ("budget -20%" -> budget-minus-20-pct.csv)."""
    used, out = set(), []
    for number, name in enumerate(names, start=1):
        spelled = re.sub(r"-(?=\d)", " minus ", name.lower()).replace("+", " plus ")
        spelled = spelled.replace("%", " pct ")
        stem = re.sub(r"[^a-z0-9]+", "-", spelled).strip("-")[:60] or f"case-{number}"
        candidate, suffix = stem, 2
        while candidate in used or candidate == "summary":
            candidate, suffix = f"{stem}-{suffix}", suffix + 1
        used.add(candidate)
        out.append(f"{candidate}.csv")
    return out


def write_outputs(outcomes: list[CaseOutcome], folder, also=None) -> list[Path]:
    """summary.csv and one allocation CSV per case with a result; returns the paths written.

    ``also(outputs)`` may add more files to the same output set (all appear, or none)."""
    folder = Path(folder)
    created = not folder.exists()
    written = [folder / "summary.csv"]
    try:
        with output_set() as outputs:
            write_csv(summary_frame(outcomes), outputs.path(written[0]))
            for outcome, name in zip(outcomes, file_names([o.case.name for o in outcomes])):
                if outcome.result is not None:
                    write_allocation(outcome.result, outputs.path(folder / name))
                    written.append(folder / name)
            if also is not None:
                also(outputs)
    except BudgetoptError:
        if created and folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
        raise
    return written
