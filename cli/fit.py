"""``budgetopt fit``: response curves from a spend-and-KPI history."""

from __future__ import annotations

import click

from optimizer.constants import KPI_TYPES
from optimizer.fitting import fit_long_history
from optimizer.history import load_long_history
from optimizer.model import write_model

from .options import parse_mapping
from .tables import fit_table


@click.command()
@click.argument("history_path", metavar="HISTORY", type=click.Path(dir_okay=False))
@click.option("--date", "date_column", default="date", show_default=True, help="Date column.")
@click.option("--kpi", "kpi_column", default="kpi", show_default=True, help="KPI column.")
@click.option("--channels", help="Channels to fit, comma-separated; NAME=VALUE renames "
              "(long format: all channels in the file when omitted).")
@click.option("--format", "layout", type=click.Choice(["long"]), default="long",
              show_default=True, help="long: one row per date and channel "
              "(date,channel,spend,kpi) with the KPI attributed to the channel.")
@click.option("--kpi-type", type=click.Choice(KPI_TYPES), default="revenue", show_default=True,
              help="revenue (ROI = kpi / spend) or conversions (CPA = spend / kpi).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the multi-start.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Model JSON file to write.")
def fit(history_path, date_column, kpi_column, channels, layout, kpi_type, seed, out_path):
    """Fit each channel's response curve and adstock; print the fit quality.

    \b
    Example:
      budgetopt fit history.csv --format long --kpi revenue --out model.json
    """
    history = load_long_history(history_path, date=date_column, kpi=kpi_column,
                                channels=parse_mapping(channels, "--channels") or None)
    model = fit_long_history(history, kpi_type=kpi_type, seed=seed)
    write_model(model, out_path)
    click.echo(fit_table(model.fit))
    click.echo(f"{len(history)} periods, {len(model)} channels, fitted in "
               f"{model.fit['seconds']:.1f} s; wrote {out_path}")
