"""``budgetopt report`` and ``budgetopt curves``: the model and its results, for people."""

from __future__ import annotations

import click
from budgetopt.cli.tables import format_table, money, ratio
from budgetopt.optimizer.export import write_csv
from budgetopt.optimizer.files.outputs import output_set
from budgetopt.optimizer.model.files import read_model
from budgetopt.optimizer.report.page import write_report
from budgetopt.optimizer.report.sections import ReportInputs, read_report_inputs
from budgetopt.optimizer.result.curves import curves_frame

CSV = click.Path(dir_okay=False)


def report_option(command):
    """``--report FILE`` on the verbs that write results."""
    return click.option("--report", "report_path", type=CSV,
                        help="Also write an HTML report of this result (one offline file).")(
        command)


def add_report(outputs, report_path, inputs: ReportInputs) -> None:
    """Write the report into the run's output set (nothing when no path is given)."""
    if report_path:
        write_report(inputs, outputs.path(report_path))


@click.command()
@click.argument("model_path", metavar="MODEL", type=CSV)
@click.option("--allocation", "allocation_path", type=CSV, help="allocation.csv of optimize.")
@click.option("--summary", "summary_path", type=CSV, help="The --json summary of optimize "
              "(method, status, gap, uncertainty) for the headline.")
@click.option("--frontier", "frontier_path", type=CSV, help="frontier.csv of frontier.")
@click.option("--plan", "plan_path", type=CSV, help="plan.csv of plan.")
@click.option("--scenarios", "scenarios_path", type=CSV, help="summary.csv of scenarios.")
@click.option("--out", "out_path", required=True, type=CSV, help="HTML report to write.")
def report(model_path, allocation_path, summary_path, frontier_path, plan_path,
           scenarios_path, out_path):
    """One self-contained HTML page: curves, fit, recommendation, frontier, plan, scenarios.

    \b
    Example:
      budgetopt report model.json --allocation allocation.csv --summary summary.json \\
          --frontier frontier.csv --plan plan.csv --out report.html
    """
    with output_set() as outputs:
        target = outputs.path(out_path)
        inputs = read_report_inputs(read_model(model_path), allocation=allocation_path,
                                    summary=summary_path, frontier=frontier_path,
                                    plan=plan_path, scenarios=scenarios_path)
        write_report(inputs, target)
    click.echo(f"wrote {out_path}: open it in a browser (it works offline)")


@click.command()
@click.argument("model_path", metavar="MODEL", type=CSV)
@click.option("--points", type=click.IntRange(min=2), default=101, show_default=True,
              help="Spends per channel, evenly from 0.")
@click.option("--max-spend", type=float, help="Largest spend per period (default: twice "
              "each channel's largest current or observed spend).")
@click.option("--out", "out_path", required=True, type=CSV, help="Curves CSV to write.")
def curves(model_path, points, max_spend, out_path):
    """Each channel's steady-state response curve per period, as a table.

    \b
    Example:
      budgetopt curves model.json --points 51 --out curves.csv
    """
    frame = curves_frame(read_model(model_path), points=points, max_spend=max_spend)
    write_csv(frame, out_path, cents=False)
    last = frame.groupby("channel", sort=False).tail(1)
    click.echo(format_table(["channel", "spend", "kpi", "marginal roi"],
                            [[r.channel, money(r.spend), money(r.kpi), ratio(r.marginal_roi)]
                             for r in last.itertuples()]))
    click.echo(f"wrote {out_path}: {points} points per channel (the table shows the last)")
