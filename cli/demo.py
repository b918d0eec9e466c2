"""``budgetopt demo``: the whole pipeline on the synthetic sample history shipped in the package."""

from __future__ import annotations

import shutil
import warnings
from importlib import resources
from pathlib import Path

import click
from budgetopt.cli.tables import allocation_table, fit_table
from budgetopt.optimizer.allocate import allocate
from budgetopt.optimizer.export import write_allocation
from budgetopt.optimizer.fit.long import fit_long_history
from budgetopt.optimizer.history.loaders import load_long_history
from budgetopt.optimizer.model.files import write_model
from budgetopt.optimizer.report.page import write_report
from budgetopt.optimizer.report.sections import ReportInputs
from budgetopt.optimizer.settings import quarter_periods


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder to write into. Default: a new folder budgetopt-demo[-N] here.")
def demo(out_dir):
    """Fit the sample history and allocate next quarter's budget; write the files to look at.

    The sample is synthetic: 156 weeks of six channels generated from known curves (see the
    README), so the fitted curves can be compared with the truth.
    """
    folder = Path(out_dir) if out_dir else _new_folder(Path.cwd() / "budgetopt-demo")
    folder.mkdir(parents=True, exist_ok=True)
    history_path = folder / "history.csv"
    sample = resources.files("budgetopt.optimizer") / "data" / "demo_history.csv"
    with resources.as_file(sample) as source:
        shutil.copyfile(source, history_path)
    click.echo(f"1. sample history (synthetic, weekly, 6 channels) -> {history_path}")

    history = load_long_history(history_path, kpi="revenue")
    with warnings.catch_warnings():  # the fit table prints the fit's warnings once
        warnings.simplefilter("ignore", UserWarning)
        model = fit_long_history(history)
    write_model(model, folder / "model.json")
    click.echo(f"2. budgetopt fit: {len(history)} weeks -> {folder / 'model.json'}\n")
    click.echo(fit_table(model))

    quarter = quarter_periods(model.period)
    result = allocate(model, periods=quarter)
    write_allocation(result, folder / "allocation.csv")
    click.echo(f"\n3. budgetopt optimize: next quarter ({quarter} {model.period}s) at the "
               f"current total budget -> {folder / 'allocation.csv'}\n")
    click.echo(allocation_table(result))
    write_report(ReportInputs(model, allocation=result.to_frame(), summary=result.summary()),
                 folder / "report.html")
    click.echo(f"\n4. budgetopt report -> {folder / 'report.html'}")
    click.echo(f"\nOpen {folder / 'report.html'} in a browser for the charts, "
               f"{folder / 'allocation.csv'} for the recommended split, and "
               f"{folder / 'model.json'} for the fitted curves.")
    click.echo(f"next: budgetopt frontier {folder / 'model.json'} --from 500000 --to 2000000 "
               f"--steps 7 --periods {quarter} --out frontier.csv (the best KPI at each budget)")


def _new_folder(base: Path) -> Path:
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate
