"""The budgetopt command line: a thin click layer over the optimizer library."""
