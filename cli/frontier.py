"""``budgetopt frontier``: the best KPI for each budget in a range."""

from __future__ import annotations

import click
from budgetopt.cli.options import (
    extrapolation_option,
    point_estimate_option,
    solver_options,
    solver_settings,
)
from budgetopt.cli.report import add_report, report_option
from budgetopt.cli.tables import frontier_table, warn_about_the_horizon
from budgetopt.optimizer.export import write_csv
from budgetopt.optimizer.files.outputs import output_set
from budgetopt.optimizer.frontier import budget_frontier
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.problem.constraints import read_constraints
from budgetopt.optimizer.report.sections import ReportInputs


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--from", "start", type=float, required=True, help="First budget (horizon total).")
@click.option("--to", "stop", type=float, required=True, help="Last budget (horizon total).")
@click.option("--steps", type=click.IntRange(min=2), default=11, show_default=True,
              help="Number of budgets, evenly spaced.")
@click.option("--periods", type=click.IntRange(min=1), help="Periods each budget is spread "
              "evenly over at steady state (13 weeks for a quarter). Default: 1.")
@click.option("--constraints", "constraints_path", type=click.Path(dir_okay=False),
              help="Constraints TOML file (its budget is ignored here).")
@click.option("--kpi-value", type=float, help="Money per conversion, to mark the break-even "
              "budget of a conversions KPI.")
@solver_options
@extrapolation_option
@point_estimate_option
@report_option
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Frontier CSV to write.")
def frontier(model_path, start, stop, steps, periods, constraints_path, kpi_value, gap,
             time_limit, allow_extrapolation, point_estimate, report_path, out_path):
    """Optimal KPI, ROI and marginal ROI for each budget in a range; marks the break-even budget.

    \b
    Example:
      budgetopt frontier model.json --from 500000 --to 1500000 --steps 11 --out frontier.csv
    """
    model = read_model(model_path)
    constraints = read_constraints(constraints_path) if constraints_path else None
    if periods is None:
        warn_about_the_horizon(model, stop)
    result = budget_frontier(model, start, stop, steps, periods=periods or 1,
                             constraints=constraints,
                             kpi_value=kpi_value, allow_extrapolation=allow_extrapolation,
                             point_estimate=point_estimate,
                             settings=solver_settings(gap, time_limit))
    with output_set() as outputs:
        write_csv(result.to_frame(), outputs.path(out_path))
        add_report(outputs, report_path, ReportInputs(model, frontier=result.to_frame()))
    click.echo(frontier_table(result))
    click.echo(f"wrote {out_path}")
