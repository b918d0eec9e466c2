"""``budgetopt optimize``: the best split of one budget."""

from __future__ import annotations

import click
from budgetopt.cli.options import (
    extrapolation_option,
    objective_from_options,
    objective_options,
    point_estimate_option,
    solver_options,
    solver_settings,
)
from budgetopt.cli.report import add_report, report_option
from budgetopt.cli.tables import allocation_table, warn_about_the_horizon
from budgetopt.optimizer.allocate import allocate, resolve_budget
from budgetopt.optimizer.export import write_allocation, write_json
from budgetopt.optimizer.files.outputs import output_set
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.problem.constraints import read_constraints
from budgetopt.optimizer.report.sections import ReportInputs


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--budget", help="Total budget over the horizon (an amount, or a change on the "
              "current plan such as +20% or -10%). Default: the constraints file's budget, "
              "else the current plan's total.")
@click.option("--periods", type=click.IntRange(min=1), help="Periods the budget is spread "
              "evenly over at steady state (13 weeks for a quarter). Default: 1.")
@click.option("--constraints", "constraints_path", type=click.Path(dir_okay=False),
              help="Constraints TOML file (channel rules, groups, ratios).")
@objective_options
@solver_options
@point_estimate_option
@extrapolation_option
@report_option
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write a JSON summary (method, status, gap, binding constraints).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Allocation CSV to write.")
def optimize(model_path, budget, periods, constraints_path, objective, kpi_value, target_roi,
             target_kpi, target_mroi, gap, time_limit, point_estimate, allow_extrapolation,
             report_path, json_path, out_path):
    """Best allocation of a budget across the model's channels, to a certified optimum.

    \b
    Example:
      budgetopt optimize model.json --budget 1300000 --periods 13 --out allocation.csv
      budgetopt optimize model.json --budget 2e6 --target-roi 2.5 --out allocation.csv
    """
    with output_set() as outputs:
        allocation_file = outputs.path(out_path)
        json_file = outputs.path(json_path) if json_path else None
        model = read_model(model_path)
        goal = objective_from_options(model, objective, kpi_value, target_roi, target_kpi,
                                      target_mroi)
        constraints = read_constraints(constraints_path) if constraints_path else None
        horizon = periods or 1
        budget = resolve_budget(model, budget, constraints, horizon)
        if periods is None:
            warn_about_the_horizon(model, budget)
        result = allocate(model, budget, periods=horizon, constraints=constraints,
                          objective=goal, point_estimate=point_estimate,
                          allow_extrapolation=allow_extrapolation,
                          settings=solver_settings(gap, time_limit))
        write_allocation(result, allocation_file)
        if json_file:
            write_json(result.summary(), json_file)
        add_report(outputs, report_path, ReportInputs(model, allocation=result.to_frame(),
                                                      summary=result.summary()))
    click.echo(allocation_table(result))
    click.echo(f"wrote {out_path}" + (f" and {json_path}" if json_path else ""))
