"""``budgetopt scenarios``: every what-if case of a scenario file."""

from __future__ import annotations

import click
from budgetopt.cli.options import (
    extrapolation_option,
    point_estimate_option,
    scheduler_option,
    solver_options,
    solver_settings,
    workers_option,
)
from budgetopt.cli.progress import ProgressBars
from budgetopt.cli.report import add_report, report_option
from budgetopt.cli.tables import format_table, horizon_line, money, percent, ratio
from budgetopt.optimizer.parallel import local_workers, open_executor
from budgetopt.optimizer.report.sections import ReportInputs
from budgetopt.scenarios.runner import run_cases, summary_frame, write_outputs
from budgetopt.scenarios.scenario_file import read_scenarios


@click.command()
@click.argument("scenario_path", metavar="SCENARIOS.toml", type=click.Path(dir_okay=False))
@solver_options
@workers_option("cases", default_text="one per core")
@scheduler_option("the cases")
@extrapolation_option
@point_estimate_option
@report_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for summary.csv and one allocation CSV per case.")
def scenarios(scenario_path, gap, time_limit, workers, scheduler, allow_extrapolation,
              point_estimate, report_path, out_dir):
    """Run every what-if case of a scenario file and compare them with the base.

    \b
    Example:
      budgetopt scenarios scenarios/examples/quarter.toml --out results/
      budgetopt scenarios cases.toml --scheduler tcp://10.0.0.5:8786 --out results/
    """
    scenario_set = read_scenarios(scenario_path)
    cases = len(scenario_set.cases)
    with open_executor(scheduler, local_workers(workers, cases)) as executor, \
            ProgressBars() as bars:
        outcomes = run_cases(scenario_set, solver_settings(gap, time_limit), executor,
                             allow_extrapolation=allow_extrapolation,
                             point_estimate=point_estimate,
                             progress=lambda done, total: bars("cases", done, total))
    frame = summary_frame(outcomes)
    base = outcomes[0].result
    inputs = ReportInputs(scenario_set.model, allocation=base.to_frame(),
                          summary=base.summary(), scenarios=frame)
    paths = write_outputs(outcomes, out_dir,
                          also=lambda outputs: add_report(outputs, report_path, inputs))
    rows = [[r.scenario, money(r.budget), money(r.spend), money(r.kpi), ratio(r.roi),
             percent(r.kpi_vs_base_pct), r.status] for r in frame.itertuples()]
    click.echo(format_table(["scenario", "budget", "spend", "kpi", "roi", "vs base", "status"],
                            rows))
    base_problem = outcomes[0].result.problem
    click.echo(horizon_line(base_problem.budget, base_problem.periods, base_problem.period)
               + " (the base case)")
    for outcome in outcomes:
        if outcome.error:
            click.echo(f"case '{outcome.case.name}': {outcome.error}")
    click.echo(f"wrote {len(paths)} file(s) to {out_dir}: summary.csv and one allocation "
               f"CSV per case")
