"""The ``budgetopt`` command group; library errors become exit code 1 here, in one place."""

from __future__ import annotations

import os
import sys
import warnings

import click

from budgetopt.optimizer.errors import BudgetoptError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class BudgetoptGroup(click.Group):
    """Runs a command and turns any failure into a one-paragraph message and exit code 1."""

    def invoke(self, ctx):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except BudgetoptError as error:
            raise click.ClickException(str(error)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as error:  # an internal fault must still not print a traceback
            if os.environ.get("BUDGETOPT_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error ({type(error).__name__}: {error}); rerun with "
                f"BUDGETOPT_DEBUG=1 for details and report it.") from None


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


@click.group(cls=BudgetoptGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="budgetopt")
def cli():
    """Fit marketing response curves and split a budget across channels to a certified optimum.

    \b
    Typical flow:
      budgetopt fit history.csv --date date --kpi revenue --channels tv,search --out model.json
      budgetopt optimize model.json --budget 1000000 --out allocation.csv
    """


def _register():
    from budgetopt.cli.demo import demo
    from budgetopt.cli.fit import fit
    from budgetopt.cli.frontier import frontier
    from budgetopt.cli.optimize import optimize
    from budgetopt.cli.plan import plan
    from budgetopt.cli.scenarios import scenarios
    from budgetopt.cli.seasonality import seasonality

    for command in (demo, fit, optimize, frontier, scenarios, plan, seasonality):
        cli.add_command(command)


_register()

if __name__ == "__main__":
    sys.exit(cli())
