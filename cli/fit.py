"""``budgetopt fit``: response curves from a spend-and-KPI history."""

from __future__ import annotations

import warnings

import click
from budgetopt.cli.options import parse_list, parse_mapping, scheduler_option, workers_option
from budgetopt.cli.progress import ProgressBars
from budgetopt.cli.tables import fit_table
from budgetopt.optimizer.constants import KPI_TYPES
from budgetopt.optimizer.fit.long import fit_long_history
from budgetopt.optimizer.fit.wide import fit_wide_history
from budgetopt.optimizer.history.lift_tests import read_lift_tests
from budgetopt.optimizer.history.loaders import (
    TableFormat,
    load_geo_history,
    load_long_history,
    load_wide_history,
    with_holidays,
)
from budgetopt.optimizer.model.files import write_model
from budgetopt.optimizer.parallel import local_workers, open_executor
from budgetopt.optimizer.settings import DRAWS_PER_PIECE, quarter_periods


@click.command()
@click.argument("history_path", metavar="HISTORY", type=click.Path(dir_okay=False))
@click.option("--date", "date_column", default="date", show_default=True, help="Date column.")
@click.option("--kpi", "kpi_column", default="kpi", show_default=True, help="KPI column.")
@click.option("--channels", help="Spend columns, comma-separated; NAME=COLUMN renames "
              "(wide: required; long: all channels in the file when omitted).")
@click.option("--controls", help="Wide format: control columns (numeric, or text such as "
              "Robyn's events, which becomes one dummy per level).")
@click.option("--holidays", "holidays_path", type=click.Path(dir_okay=False),
              help="Wide format: holiday calendar CSV (ds,holiday[,country]); adds a control "
              "counting the holiday days in each period.")
@click.option("--holiday-country", help="Keep only this country's rows of the calendar.")
@click.option("--geo", "geo_column", help="Wide format: geo column of a geo panel (one row per "
              "geo and period); fitted with a week effect shared by all geos, like Meridian.")
@click.option("--population", "population_column", help="With --geo: population column "
              "(constant per geo); the fit works per head.")
@click.option("--format", "layout", type=click.Choice(["wide", "long"]), default="wide",
              show_default=True, help="wide: one row per period, one KPI; long: one row per "
              "date and channel (date,channel,spend,kpi) with the KPI attributed per channel.")
@click.option("--kpi-type", type=click.Choice(KPI_TYPES), default="revenue", show_default=True,
              help="revenue (ROI = kpi / spend) or conversions (CPA = spend / kpi).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=50, show_default=True,
              help="Wide format: block-bootstrap refits stored as parameter draws.")
@click.option("--adstock", type=click.Choice(["geometric", "delayed", "auto"]),
              default="geometric", show_default=True, help="Wide format: carryover shape of "
              "every channel; delayed lets the effect peak some periods after the spend; auto "
              "fits both and keeps the one with the lower CV error.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of starts and draws.")
@click.option("--sep", help="CSV column separator (default: recognised from the file: , ; tab).")
@click.option("--decimal", type=click.Choice([".", ","]), help="Decimal mark of the numbers "
              "(default: recognised; 1.234,56 is read as 1234.56).")
@click.option("--date-format", help="strftime codes of the date column, e.g. %d/%m/%Y "
              "(default: ISO, or day/month or month/day where the dates show which).")
@click.option("--sheet", help="Excel sheet of an .xlsx history (default: the first).")
@click.option("--lift-tests", "lift_tests_path", type=click.Path(dir_okay=False),
              help="Wide format: experiments (CSV channel,spend,spend_change,lift,"
              "standard_error[,start,end]) that calibrate the curves.")
@scheduler_option("the bootstrap refits")
@workers_option("bootstrap refits", default_text="1: in this process")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Model JSON file to write.")
def fit(history_path, date_column, kpi_column, channels, controls, holidays_path,
        holiday_country, geo_column, population_column, layout, kpi_type, bootstrap, adstock,
        seed, sep, decimal, date_format, sheet, lift_tests_path, scheduler, workers, out_path):
    """Fit response curves and adstock; print the fit quality.

    \b
    Example:
      budgetopt fit history.csv --date DATE --kpi revenue \\
          --channels tv=tv_S,search=search_S --controls competitor_sales_B,events --out model.json
      budgetopt fit geo.csv --geo geo --population population --date time \\
          --kpi conversions --channels tv=tv_spend,search=search_spend --out model.json
      budgetopt fit platform.csv --format long --kpi conversions --out model.json
      budgetopt fit sales.xlsx --date week --kpi sales --channels 'mdsp_*' --out model.json
    """
    mapping = parse_mapping(channels, "--channels")
    table = TableFormat(sep=sep, decimal=decimal, date_format=date_format, sheet=sheet)
    if layout == "long" and (geo_column or adstock != "geometric" or lift_tests_path
                             or scheduler or workers):
        raise click.UsageError("--geo, --adstock, --lift-tests, --scheduler and --workers "
                               "apply to wide histories; a long history is fitted channel by "
                               "channel with geometric adstock, without bootstrap refits")
    if layout == "long":
        history = load_long_history(history_path, date=date_column, kpi=kpi_column,
                                    channels=mapping or None, table_format=table)
        with warnings.catch_warnings():  # the fit table prints the fit's warnings once
            warnings.simplefilter("ignore", UserWarning)
            model = fit_long_history(history, kpi_type=kpi_type, seed=seed)
    else:
        if not mapping:
            raise click.UsageError("--channels is required for a wide history "
                                   "(e.g. --channels tv=tv_S,search=search_S)")
        if geo_column:
            if holidays_path:
                raise click.UsageError("--holidays does not apply to a geo panel: its week "
                                       "effects already hold every holiday")
            history = load_geo_history(history_path, date=date_column, geo=geo_column,
                                       kpi=kpi_column, channels=mapping,
                                       controls=parse_list(controls),
                                       population=population_column, table_format=table)
        else:
            if population_column:
                raise click.UsageError("--population needs --geo")
            history = load_wide_history(history_path, date=date_column, kpi=kpi_column,
                                        channels=mapping, controls=parse_list(controls),
                                        table_format=table)
        if holidays_path:
            history = with_holidays(history, holidays_path, country=holiday_country)
        tests = (read_lift_tests(lift_tests_path, history.channels, history.dates)
                 if lift_tests_path else ())
        with ProgressBars() as progress, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # printed once, in the fit table
            pieces = -(-bootstrap // DRAWS_PER_PIECE)
            with open_executor(scheduler, local_workers(workers or 1, pieces)) as executor:
                model = fit_wide_history(history, kpi_type=kpi_type, seed=seed,
                                         bootstrap=bootstrap, adstock=adstock,
                                         progress=progress, lift_tests=tests,
                                         executor=executor)
    write_model(model, out_path)
    click.echo(fit_table(model))
    cells = model.cells
    size = (f"{len(model)} channels" if cells is None else
            f"{len(model)} cells ({len(cells.geos)} geos x {len(cells.channels)} channels)")
    click.echo(f"{len(history)} periods, {size}, fitted in "
               f"{model.fit.seconds['total']:.1f} s; "
               f"wrote {out_path}")
    quarter = quarter_periods(model.period)
    click.echo(f"next: budgetopt optimize {out_path} --periods {quarter} --out allocation.csv "
               f"(the best split of next quarter's budget at the current total)")
