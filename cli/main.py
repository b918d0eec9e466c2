"""The ``budgetopt`` command group; library errors become exit code 1 here, in one place."""

from __future__ import annotations

import os
import signal
import warnings

import click
from budgetopt.cli.demo import demo
from budgetopt.cli.fit import fit
from budgetopt.cli.frontier import frontier
from budgetopt.cli.optimize import optimize
from budgetopt.cli.plan import plan
from budgetopt.cli.report import curves, report
from budgetopt.cli.scenarios import scenarios
from budgetopt.cli.seasonality import seasonality
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


class BudgetoptGroup(click.Group):
    """Runs a command and turns any failure into a one-paragraph message and exit code 1."""

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


for command in (demo, fit, optimize, frontier, scenarios, plan, seasonality, report, curves):
    cli.add_command(command)
