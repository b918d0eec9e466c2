"""Option parsing shared by commands."""

from __future__ import annotations

import click
from budgetopt.optimizer.problem.objectives import Objective
from budgetopt.optimizer.settings import DEFAULT_GAP_TOLERANCE, DEFAULT_TIME_LIMIT, SolverSettings


def parse_mapping(text: str | None, option: str) -> dict[str, str]:
    """``"tv=tv_S,search"`` -> ``{"tv": "tv_S", "search": "search"}`` (name = column)."""
    if not text:
        return {}
    mapping = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, column = item.partition("=")
        name, column = name.strip(), (column.strip() or name.strip())
        if not name:
            raise click.BadParameter(f"empty channel name in {item!r}", param_hint=option)
        if name in mapping:
            raise click.BadParameter(f"channel {name!r} is named twice", param_hint=option)
        mapping[name] = column
    return mapping


def scheduler_option(pieces: str):
    """--scheduler: run ``pieces`` on an existing Dask cluster."""
    return click.option("--scheduler", metavar="tcp://HOST:PORT",
                        help=f"Run {pieces} on this Dask scheduler's workers (needs the dask "
                        f"extra; the result is the same as a local run).")


def workers_option(pieces: str, default_text: str):
    """--workers: local processes for ``pieces`` (without --scheduler)."""
    return click.option("--workers", type=click.IntRange(min=1),
                        help=f"Local processes for the {pieces} (default: {default_text}).")


def parse_list(text: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def objective_options(command):
    """--objective, --kpi-value and the three target options."""
    options = [
        click.option("--objective", type=click.Choice(["kpi", "profit"]), default="kpi",
                     show_default=True, help="kpi: most KPI for exactly the budget; profit: most "
                     "kpi value - spend, the budget as a ceiling."),
        click.option("--kpi-value", type=float, help="Money per unit of KPI (needed for profit "
                     "of a conversions KPI; 1 for revenue)."),
        click.option("--target-roi", type=float, help="Most KPI whose total ROI is at least R; "
                     "the budget is a ceiling."),
        click.option("--target-kpi", type=float, help="Least spend reaching KPI K; the budget "
                     "is a ceiling."),
        click.option("--target-mroi", type=float, help="Spend each channel until its marginal "
                     "ROI falls to R; the budget is a ceiling."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def objective_from_options(model, objective, kpi_value, target_roi, target_kpi, target_mroi):
    """The :class:`Objective` the options ask for; conflicting options are a usage error."""
    targets = {"target_roi": target_roi, "target_kpi": target_kpi, "target_mroi": target_mroi}
    given = [name for name, value in targets.items() if value is not None]
    if len(given) > 1 or (given and objective == "profit"):
        flags = [f"--{name.replace('_', '-')}" for name in given]
        flags += ["--objective profit"] if objective == "profit" else []
        raise click.UsageError(f"use just one of {', '.join(flags)}")
    kind = given[0] if given else objective
    goal = Objective(kind=kind, target=targets.get(kind),
                     kpi_value=1.0 if kpi_value is None else kpi_value)
    goal.check_kpi_type(model.kpi_type, kpi_value is not None)
    return goal


def solver_options(command=None, *, gap=None):
    """--gap (default ``gap``, else the library's) and --time-limit."""
    def decorate(command):
        command = click.option("--time-limit", type=click.FloatRange(min=0),
                               default=DEFAULT_TIME_LIMIT, show_default=True,
                               help="Seconds before the search stops and reports the gap "
                               "it reached.")(command)
        return click.option("--gap", type=click.FloatRange(min=0),
                            default=gap or DEFAULT_GAP_TOLERANCE, show_default=True,
                            help="Relative optimality gap at which the search stops.")(command)

    return decorate(command) if command is not None else decorate


def solver_settings(gap, time_limit):
    return SolverSettings(gap_tolerance=gap, time_limit=time_limit)


extrapolation_option = click.option(
    "--allow-extrapolation", is_flag=True, help="Let channels spend more per period than their "
    "history ever did (their curves are then extrapolated; such channels are flagged "
    "beyond_history). Without it a channel with a known history stays within it unless the "
    "constraints give it an explicit max.")


point_estimate_option = click.option(
    "--point-estimate", is_flag=True, help="The optimum of the point fit alone: no guard by "
    "the model's parameter draws (by default, with draws, an answer moves from the current "
    "plan only as far as they support).")
