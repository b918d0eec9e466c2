"""``budgetopt plan``: spend per channel per period."""

from __future__ import annotations

import click
from budgetopt.cli.options import (
    extrapolation_option,
    point_estimate_option,
    solver_options,
    solver_settings,
)
from budgetopt.cli.report import add_report, report_option
from budgetopt.cli.tables import plan_table
from budgetopt.optimizer.allocate import plan_budget, resolve_budget
from budgetopt.optimizer.export import write_csv, write_json
from budgetopt.optimizer.files.outputs import output_set
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.problem.constraints import read_constraints
from budgetopt.optimizer.report.sections import ReportInputs
from budgetopt.optimizer.settings import PLAN_GAP_TOLERANCE
from budgetopt.scenarios.seasonality import period_dates, read_seasonality


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--budget", help="Total budget of the plan. Default: the constraints "
              "file's budget, else the current plan's total over the periods.")
@click.option("--periods", type=click.IntRange(min=1), required=True,
              help="Number of periods to plan (13 weeks for a quarter).")
@click.option("--start", help="Date of the first period (YYYY-MM-DD), for the date column.")
@click.option("--constraints", "constraints_path", type=click.Path(dir_okay=False),
              help="Constraints TOML: channel rules, groups, ratios, [[pacing]], "
              "max_per_period, active_periods, max_step_change.")
@click.option("--seasonality", "seasonality_path", type=click.Path(dir_okay=False),
              help="CSV period,multiplier or period,channel,multiplier: the response in that "
              "period is multiplied.")
@click.option("--max-step-change", type=click.FloatRange(min=0), help="Limit every channel "
              "without its own max_step_change to this share of change from one period to the "
              "next (0.3: at most ±30 %), for a smoother, bookable plan.")
@click.option("--count-carryover", is_flag=True, help="Also count the KPI that the plan's "
              "spend produces after its last period.")
@solver_options(gap=PLAN_GAP_TOLERANCE)
@extrapolation_option
@point_estimate_option
@report_option
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write a JSON summary (totals, flat plan, method, gap).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Plan CSV to write (period,date,channel,spend,kpi).")
def plan(model_path, budget, periods, start, constraints_path, seasonality_path,
         max_step_change, count_carryover, gap, time_limit, allow_extrapolation,
         point_estimate, report_path, json_path, out_path):
    """Plan spend per channel per period with carryover, pacing, flighting and seasonality.

    \b
    Example:
      budgetopt plan model.json --budget 1300000 --periods 13 --start 2027-01-04 \\
          --constraints rules.toml --seasonality season.csv --out plan.csv
    """
    with output_set() as outputs:
        plan_file = outputs.path(out_path)
        json_file = outputs.path(json_path) if json_path else None
        model = read_model(model_path)
        constraints = read_constraints(constraints_path) if constraints_path else None
        budget = resolve_budget(model, budget, constraints, periods)
        multipliers = (read_seasonality(seasonality_path, model.names, periods)
                       if seasonality_path else None)
        dates = period_dates(start, periods, model.period) if start else None
        result = plan_budget(model, budget, periods, constraints=constraints,
                             multipliers=multipliers, count_carryover=count_carryover,
                             dates=dates, max_step_change=max_step_change,
                             allow_extrapolation=allow_extrapolation,
                             point_estimate=point_estimate,
                             settings=solver_settings(gap, time_limit))
        write_csv(result.to_frame(), plan_file)
        if json_file:
            write_json(result.summary(), json_file)
        add_report(outputs, report_path, ReportInputs(model, plan=result.to_frame()))
    click.echo(plan_table(result))
    click.echo(f"wrote {out_path}" + (f" and {json_path}" if json_path else ""))
