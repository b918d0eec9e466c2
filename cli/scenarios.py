"""``budgetopt scenarios``: every what-if case of a scenario file."""

from __future__ import annotations

import click
from budgetopt.cli.options import (
    extrapolation_option,
    point_estimate_option,
    solver_options,
    solver_settings,
)
from budgetopt.cli.report import add_report, report_option
from budgetopt.cli.tables import format_table, horizon_line, money, percent, ratio
from budgetopt.optimizer.report.sections import ReportInputs
from budgetopt.scenarios.runner import run_cases, summary_frame, write_outputs
from budgetopt.scenarios.scenario_file import read_scenarios


@click.command()
@click.argument("scenario_path", metavar="SCENARIOS.toml", type=click.Path(dir_okay=False))
@solver_options
@click.option("--workers", type=click.IntRange(min=1), help="Parallel processes (default: "
              "one per core).")
@extrapolation_option
@point_estimate_option
@report_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for summary.csv and one allocation CSV per case.")
def scenarios(scenario_path, gap, time_limit, workers, allow_extrapolation, point_estimate,
              report_path, out_dir):
    """Run every what-if case of a scenario file and compare them with the base.

    \b
    Example:
      budgetopt scenarios scenarios/examples/quarter.toml --out results/
    """
    scenario_set = read_scenarios(scenario_path)
    outcomes = run_cases(scenario_set, solver_settings(gap, time_limit), workers,
                         allow_extrapolation=allow_extrapolation,
                         point_estimate=point_estimate)
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
