"""Helpers shared by the benchmark scripts."""

import time


def timed(function, *args, keywords=None):
    """(function(*args, **keywords), seconds it took)."""
    started = time.perf_counter()
    value = function(*args, **(keywords or {}))
    return value, time.perf_counter() - started
