"""``budgetopt seasonality``: a --seasonality file for ``plan`` from a fitted model."""

from __future__ import annotations

import click
from budgetopt.cli.tables import format_table
from budgetopt.optimizer.export import write_csv
from budgetopt.optimizer.model.files import read_model
from budgetopt.scenarios.seasonality import seasonality_from_model


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--start", required=True, help="Date of the plan's first period (YYYY-MM-DD).")
@click.option("--periods", type=click.IntRange(min=1), required=True, help="Periods to cover.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Seasonality CSV to write (period,date,multiplier).")
def seasonality(model_path, start, periods, out_path):
    """Turn the yearly seasonality of a wide fit into multipliers for `budgetopt plan`.

    \b
    Example:
      budgetopt seasonality model.json --start 2027-01-04 --periods 13 --out season.csv
    """
    frame = seasonality_from_model(read_model(model_path), start, periods)
    write_csv(frame, out_path)
    click.echo(format_table(["period", "date", "multiplier"],
                            [[str(r.period), r.date, f"{r.multiplier:.3f}"]
                             for r in frame.itertuples()]))
    click.echo(f"wrote {out_path}")
