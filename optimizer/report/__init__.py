"""The report: one self-contained HTML page of a model and its results."""
