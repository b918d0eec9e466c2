"""``python -m budgetopt``: the same command line as ``budgetopt``."""

from budgetopt.cli.main import cli

cli(prog_name="budgetopt")
