"""``budgetopt optimize``: the best split of one budget."""

from __future__ import annotations

import click

from optimizer.allocate import allocate
from optimizer.constants import DEFAULT_GAP_TOLERANCE
from optimizer.constraints import read_constraints
from optimizer.exports import write_allocation, write_json
from optimizer.model import read_model
from optimizer.solvers.separable import SeparableSolver

from .tables import allocation_table


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--budget", type=float, help="Total budget over the horizon. Default: the "
              "constraints file's budget, else the current plan's total.")
@click.option("--periods", type=click.IntRange(min=1), default=1, show_default=True,
              help="Periods the budget is spread evenly over (steady state).")
@click.option("--constraints", "constraints_path", type=click.Path(dir_okay=False),
              help="Constraints TOML file (channel min/max/fixed/max_change/min_if_on).")
@click.option("--gap", type=click.FloatRange(min=0), default=DEFAULT_GAP_TOLERANCE,
              show_default=True, help="Relative optimality gap at which the search stops.")
@click.option("--time-limit", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds before the search stops and reports the gap it reached.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write a JSON summary (method, status, gap, totals).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Allocation CSV to write.")
def optimize(model_path, budget, periods, constraints_path, gap, time_limit, json_path, out_path):
    """Best allocation of a budget across the model's channels, to a certified optimum.

    \b
    Example:
      budgetopt optimize model.json --budget 1300000 --periods 13 --out allocation.csv
    """
    model = read_model(model_path)
    constraints = read_constraints(constraints_path) if constraints_path else None
    solver = SeparableSolver(gap_tolerance=gap, time_limit=time_limit)
    result = allocate(model, budget, periods=periods, constraints=constraints, solver=solver)
    write_allocation(result, out_path)
    if json_path:
        write_json(result.summary(), json_path)
    click.echo(allocation_table(result))
    click.echo(f"wrote {out_path}" + (f" and {json_path}" if json_path else ""))
