"""The ``budgetopt`` command group; library errors become exit code 1 here, in one place."""

from __future__ import annotations

import importlib
import os
import signal
import warnings

import click
from budgetopt.optimizer.errors import BudgetoptError, ParameterError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

# The library names its parameters; the command line names its flags.
FLAGS = {
    "budget": "--budget", "periods": "--periods", "kpi_value": "--kpi-value",
    "kpi_type": "--kpi-type", "start": "--start", "steps": "--steps",
    "country": "--holiday-country",
    "date_format": "--date-format", "max_step_change": "--max-step-change",
    "points": "--points", "max_spend": "--max-spend",
}
FRONTIER_FLAGS = {"start": "--from", "stop": "--to"}


# Each command's module and one-line help. A module is imported only when its command runs
# (or shows its own help), so `budgetopt --help` does not load numpy, pandas, scipy or PuLP;
# tests/test_cli.py checks these lines against the commands' own docstrings.
COMMANDS = {
    "demo": ("budgetopt.cli.demo", "Fit the sample history and allocate next quarter's budget; "
                                   "write the files to look at."),
    "fit": ("budgetopt.cli.fit", "Fit response curves and adstock; print the fit quality."),
    "optimize": ("budgetopt.cli.optimize", "Best allocation of a budget across the model's "
                                           "channels, to a certified optimum."),
    "frontier": ("budgetopt.cli.frontier", "Optimal KPI, ROI and marginal ROI for each budget "
                                           "in a range; marks the break-even budget."),
    "scenarios": ("budgetopt.cli.scenarios", "Run every what-if case of a scenario file and "
                                             "compare them with the base."),
    "plan": ("budgetopt.cli.plan", "Plan spend per channel per period with carryover, pacing, "
                                   "flighting and seasonality."),
    "seasonality": ("budgetopt.cli.seasonality", "Turn the yearly seasonality of a wide fit "
                                                 "into multipliers for `budgetopt plan`."),
    "report": ("budgetopt.cli.report", "One self-contained HTML page: curves, fit, "
                                       "recommendation, frontier, plan, scenarios."),
    "curves": ("budgetopt.cli.report", "Each channel's steady-state response curve per "
                                       "period, as a table."),
}


class BudgetoptGroup(click.Group):
    """Loads a command's module when the command runs, and turns any failure into a
    one-paragraph message and exit code 1."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(COMMANDS[name][0]), name)

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, text) in COMMANDS.items()])

    def invoke(self, ctx):
        # A process started in the background may inherit SIGINT ignored; Ctrl-C must stop it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except ParameterError as error:
            raise click.ClickException(f"{_flag(ctx, error.parameter)} {error.problem}") from None
        except BudgetoptError as error:
            raise click.ClickException(str(error)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.ClickException("interrupted (Ctrl-C); nothing was written.") from None
        except RecursionError:
            raise click.ClickException("an input is nested too deeply to read; check the "
                                       "files given.") from None
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            raise click.ClickException(f"{where}{error.strerror or error}.") from None
        except Exception as error:  # an internal fault must still not print a traceback
            if os.environ.get("BUDGETOPT_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error ({type(error).__name__}: {error}); rerun with "
                f"BUDGETOPT_DEBUG=1 for details and report it.") from None


def _flag(ctx: click.Context, parameter: str) -> str:
    """The flag a command takes for a library parameter."""
    command = ctx.invoked_subcommand
    flags = {**FLAGS, **(FRONTIER_FLAGS if command == "frontier" else {})}
    return flags.get(parameter, parameter)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


@click.group(cls=BudgetoptGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="budgetopt")
def cli():
    """Fit marketing response curves and split a budget across channels to a certified optimum.

    \b
    Typical flow:
      budgetopt fit history.csv --date date --kpi revenue --channels tv,search --out model.json
      budgetopt optimize model.json --budget 1000000 --periods 13 --out allocation.csv
    """

