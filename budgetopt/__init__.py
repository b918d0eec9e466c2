"""budgetopt: fit marketing response curves and split a budget across channels, certified.

The package's rooms follow the data flow: :mod:`budgetopt.optimizer` (history -> fit -> model
-> problem -> solvers -> result -> export), :mod:`budgetopt.scenarios` (what-if files and their
runs) and :mod:`budgetopt.cli` (the thin ``budgetopt`` command line).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("budgetopt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
